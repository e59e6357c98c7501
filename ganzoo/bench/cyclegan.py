"""`ganzoo bench cyclegan`: the face2anime recipe trained for a wall-clock budget, then on the
test split, in both directions: cycle-reconstruction PSNR (A -> B -> A and B -> A -> B), and how
often a small domain classifier — trained here on the real trainA vs trainB images — calls G(A)
"B" and F(B) "A". Measured in one process run."""

from __future__ import annotations

import numpy as np

from ganzoo.bench.sr import train_for


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the per-image PSNR (peak 255)."""
    from ganzoo.metrics.image_quality import psnr

    return float(np.mean([psnr(x, y) for x, y in zip(a, b)]))


def domain_classifier(train_a: np.ndarray, train_b: np.ndarray, epochs: int, seed: int = 0):
    """A small CNN that tells domain A (0) from domain B (1), trained on real images only."""
    from ganzoo.data.sources import ImageData
    from ganzoo.metrics.classifier import train_classifier

    images = np.concatenate([train_a, train_b])
    labels = np.concatenate([np.zeros(len(train_a), np.int32), np.ones(len(train_b), np.int32)])
    return train_classifier(ImageData(images, labels, "domains"), epochs=epochs, batch_size=64, seed=seed)


def evaluate_translation(model, test_a: np.ndarray, test_b: np.ndarray, classifier) -> dict:
    from ganzoo.metrics.classifier import accuracy, to_signed

    fake_b, fake_a = model.translate(test_a, "a2b"), model.translate(test_b, "b2a")
    return {
        "classifier_real_accuracy": accuracy(classifier, to_signed(np.concatenate([test_a, test_b])),
                                             np.repeat([0, 1], [len(test_a), len(test_b)]).astype(np.int32)),
        "a2b_called_b": accuracy(classifier, to_signed(fake_b), np.ones(len(fake_b), np.int32)),
        "b2a_called_a": accuracy(classifier, to_signed(fake_a), np.zeros(len(fake_a), np.int32)),
        "cycle_psnr_a": psnr_uint8(test_a, model.translate(fake_b, "b2a")),
        "cycle_psnr_b": psnr_uint8(test_b, model.translate(fake_a, "a2b")),
    }


def bench_cyclegan(minutes: float, out, overrides: list[str] = (), classifier_epochs: int = 5) -> dict:
    from ganzoo.data.unpaired import load_unpaired

    stage = train_for("cyclegan_face2anime", [*overrides, 'name="cyclegan_face2anime_bench"'], minutes, out)
    model, recipe = stage["model"], stage["recipe"]
    source, shape = recipe.data.source, model.image_shape
    train_a, train_b = load_unpaired(source, shape, "train", recipe.data.data_dir or None, recipe.data.download)
    test_a, test_b = load_unpaired(source, shape, "test", recipe.data.data_dir or None, recipe.data.download)
    classifier = domain_classifier(train_a, train_b, classifier_epochs)
    return {**stage, "test": (len(test_a), len(test_b)), **evaluate_translation(model, test_a, test_b, classifier)}


def format_bench_cyclegan(result: dict) -> str:
    recipe = result["recipe"]
    return "\n".join([
        f"run {result['run']}: {recipe.model.preset} preset, {result['steps']} steps x batch {recipe.train.batch_size} "
        f"in {result['seconds'] / 60:.1f} min",
        f"test split: {result['test'][0]} A and {result['test'][1]} B images; domain classifier on real test images: "
        f"{result['classifier_real_accuracy']:.1%}",
        f"{'direction':10s} {'called the target domain':>25s} {'cycle PSNR dB':>14s}",
        f"{'A -> B':10s} {result['a2b_called_b']:25.1%} {result['cycle_psnr_a']:14.2f}",
        f"{'B -> A':10s} {result['b2a_called_a']:25.1%} {result['cycle_psnr_b']:14.2f}",
    ])
