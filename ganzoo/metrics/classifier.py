"""A small CNN classifier for labelled image sets: judges generated digits in tests and
measures synthetic-data augmentation in `ganzoo bench augment`."""

from __future__ import annotations

import keras
import numpy as np

from ganzoo.data import ImageData


def build_classifier(image_shape, num_classes: int) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(tuple(image_shape)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(num_classes),
        ],
        name="classifier",
    )


def to_signed(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 [-1, 1], the range the GANs generate in."""
    return images.astype("float32") / 127.5 - 1.0


def train_classifier(data: ImageData, epochs: int = 2, batch_size: int = 128, seed: int = 0) -> keras.Model:
    """Trains on uint8 images with labels (scaled to [-1, 1])."""
    keras.utils.set_random_seed(seed)
    classifier = build_classifier(data.images.shape[1:], data.num_classes)
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    classifier.fit(to_signed(data.images), data.labels, batch_size=batch_size, epochs=epochs, verbose=0)
    return classifier


def probabilities(classifier: keras.Model, images_signed: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(keras.ops.softmax(classifier.predict(images_signed, verbose=0, batch_size=512)))


def accuracy(classifier: keras.Model, images_signed: np.ndarray, labels: np.ndarray) -> float:
    return float((probabilities(classifier, images_signed).argmax(axis=1) == labels).mean())
