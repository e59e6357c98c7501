"""A small MNIST classifier trained inside the tests, used to judge generated digits."""

from __future__ import annotations

import keras
import numpy as np

from ganzoo.data import load_images


def train_mnist_classifier(data_dir: str, examples: int = 60000, epochs: int = 2) -> tuple[keras.Model, float]:
    """Returns the classifier and its accuracy on 2000 MNIST test images."""
    keras.utils.set_random_seed(0)
    train = load_images("tfds:mnist", (28, 28, 1), split="train", data_dir=data_dir, max_examples=examples)
    test = load_images("tfds:mnist", (28, 28, 1), split="test", data_dir=data_dir, max_examples=2000)
    classifier = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    scale = lambda images: images.astype("float32") / 127.5 - 1.0  # noqa: E731  (the GAN's range)
    classifier.fit(scale(train.images), train.labels, batch_size=128, epochs=epochs, verbose=0)
    accuracy = classifier.evaluate(scale(test.images), test.labels, verbose=0)[1]
    return classifier, float(accuracy)


def judge(classifier: keras.Model, images: np.ndarray, min_share: float = 0.02) -> dict:
    """Mean max-softmax confidence and the classes that get at least `min_share` of samples."""
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(classifier.predict(images, verbose=0)))
    predicted = probabilities.argmax(axis=1)
    shares = np.bincount(predicted, minlength=10) / len(predicted)
    return {
        "confidence": float(probabilities.max(axis=1).mean()),
        "classes": int((shares >= min_share).sum()),
        "shares": np.round(shares, 3).tolist(),
    }
