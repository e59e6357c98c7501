"""Measuring unpaired translation (CycleGAN) on a test split, in both directions: how often a small
domain classifier, trained on the real train A and train B images, calls G(A) "B" and F(B) "A",
and the cycle-reconstruction PSNR of A -> B -> A and B -> A -> B."""

from __future__ import annotations

import numpy as np


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the per-image PSNR (peak 255)."""
    from ganzoo.metrics.image_quality import psnr

    return float(np.mean([psnr(x, y) for x, y in zip(a, b)]))


def domain_classifier(train_a: np.ndarray, train_b: np.ndarray, epochs: int, seed: int = 0):
    """A small CNN that tells domain A (0) from domain B (1), trained on real images only."""
    from ganzoo.metrics.classifier import train_classifier

    images = np.concatenate([train_a, train_b])
    labels = np.concatenate([np.zeros(len(train_a), np.int32), np.ones(len(train_b), np.int32)])
    return train_classifier(images, labels, epochs=epochs, batch_size=64, seed=seed)


def evaluate_translation(model, test_a: np.ndarray, test_b: np.ndarray, classifier) -> dict:
    from ganzoo.images import to_signed
    from ganzoo.metrics.classifier import accuracy

    fake_b, fake_a = model.translate(test_a, "a2b"), model.translate(test_b, "b2a")
    return {
        "classifier_real_accuracy": accuracy(classifier, to_signed(np.concatenate([test_a, test_b])),
                                             np.repeat([0, 1], [len(test_a), len(test_b)]).astype(np.int32)),
        "a2b_called_b": accuracy(classifier, to_signed(fake_b), np.ones(len(fake_b), np.int32)),
        "b2a_called_a": accuracy(classifier, to_signed(fake_a), np.zeros(len(fake_a), np.int32)),
        "cycle_psnr_a": psnr_uint8(test_a, model.translate(fake_b, "b2a")),
        "cycle_psnr_b": psnr_uint8(test_b, model.translate(fake_a, "a2b")),
    }
