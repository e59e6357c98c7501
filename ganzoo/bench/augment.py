"""`ganzoo bench augment`: does synthetic data from a conditional GAN help a classifier that
has little real data? The same small classifier is trained on (a) a small fraction of the real
training set and (b) that fraction plus synthetic images; both are tested on the real test set."""

from __future__ import annotations

import numpy as np

from ganzoo.data import ImageData, load_images
from ganzoo.data.synthetic import check_synthesis, synthesize
from ganzoo.images import to_signed
from ganzoo.metrics.classifier import accuracy, train_classifier


def real_fraction(data: ImageData, fraction: float, seed: int) -> ImageData:
    """A class-balanced random subset of `fraction` of the examples."""
    rng = np.random.default_rng(seed)
    per_class = max(1, int(round(len(data.labels) * fraction / data.num_classes)))
    chosen = np.concatenate([rng.permutation(np.flatnonzero(data.labels == c))[:per_class] for c in range(data.num_classes)])
    return ImageData(data.images[chosen], data.labels[chosen], f"{len(chosen)} real images")


def bench_augment(run, source: str, data_dir: str | None, fraction: float = 0.01, per_class: int = 500,
                  epochs: int = 20, seed: int = 0) -> list[dict]:
    """`run` (a run directory or .keras file of a conditional model) makes the synthetic images."""
    from ganzoo.training import load_trained_model

    model = load_trained_model(run)
    check_synthesis(model, per_class, str(run))  # before the real data is read
    train = load_images(source, model.image_shape, split="train", data_dir=data_dir)
    test = load_images(source, model.image_shape, split="test", data_dir=data_dir)
    small = real_fraction(train, fraction, seed)
    fake_images, fake_labels = synthesize(model, per_class, seed)
    mixed = ImageData(np.concatenate([small.images, fake_images]), np.concatenate([small.labels, fake_labels]),
                      f"{len(small.labels)} real + {len(fake_labels)} synthetic images")
    rows = []
    for data in (small, mixed):
        # About the same number of gradient steps for both, so only the data differs.
        data_epochs = max(1, round(epochs * len(small.labels) / len(data.labels)))
        classifier = train_classifier(data.images, data.labels, epochs=data_epochs, batch_size=32, seed=seed)
        rows.append({"training data": data.description,
                     "test accuracy": accuracy(classifier, to_signed(test.images), test.labels)})
    return rows
