"""The small CNN classifier of labelled image sets: its 128-d `features` layer is what the metrics
compare for MNIST-like data (extractors.py), and the same network judges generated digits in
tests, measures synthetic-data augmentation (`ganzoo bench augment`) and tells CycleGAN's domains
apart (`ganzoo bench cyclegan`)."""

from __future__ import annotations

import keras
import numpy as np

from ganzoo.images import to_signed


def build_classifier(image_shape, num_classes: int) -> keras.Model:
    """[-1, 1] images -> logits, through two conv + max-pool stages and a 128-unit `features` layer."""
    layers = keras.layers
    images = keras.Input(tuple(image_shape), name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(images)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(128, activation="relu", name="features")(x)
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="metric_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 2, batch_size: int = 128,
                     seed: int = 0) -> keras.Model:
    """Trains on uint8 images with int labels (scaled to [-1, 1], the range the GANs generate in)."""
    keras.utils.set_random_seed(seed)
    classifier = build_classifier(images.shape[1:], int(labels.max()) + 1)
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    classifier.fit(to_signed(images), labels, batch_size=batch_size, epochs=epochs, verbose=0)
    return classifier


def probabilities(classifier: keras.Model, images_signed: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(keras.ops.softmax(classifier.predict(images_signed, verbose=0, batch_size=512)))


def accuracy(classifier: keras.Model, images_signed: np.ndarray, labels: np.ndarray) -> float:
    return float((probabilities(classifier, images_signed).argmax(axis=1) == labels).mean())
