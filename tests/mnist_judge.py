"""A small MNIST classifier trained inside the tests, used to judge generated digits."""

from __future__ import annotations

import keras
import numpy as np

from ganzoo.data import load_images
from ganzoo.images import to_signed
from ganzoo.metrics.classifier import accuracy, probabilities, train_classifier


def train_mnist_classifier(data_dir: str, examples: int = 60000, epochs: int = 2) -> tuple[keras.Model, float]:
    """Returns the classifier and its accuracy on 2000 MNIST test images."""
    train = load_images("tfds:mnist", (28, 28, 1), split="train", data_dir=data_dir, max_examples=examples)
    test = load_images("tfds:mnist", (28, 28, 1), split="test", data_dir=data_dir, max_examples=2000)
    classifier = train_classifier(train.images, train.labels, epochs=epochs)
    return classifier, accuracy(classifier, to_signed(test.images), test.labels)


def judge(classifier: keras.Model, images: np.ndarray, min_share: float = 0.02) -> dict:
    """Mean max-softmax confidence and the classes that get at least `min_share` of samples."""
    probs = probabilities(classifier, images)
    shares = np.bincount(probs.argmax(axis=1), minlength=10) / len(probs)
    return {
        "confidence": float(probs.max(axis=1).mean()),
        "classes": int((shares >= min_share).sum()),
        "shares": np.round(shares, 3).tolist(),
    }
