"""`ganzoo bench cyclegan`: the face2anime recipe trained for a wall-clock budget, then on the
test split, in both directions: cycle-reconstruction PSNR (A -> B -> A and B -> A -> B), and how
often a small domain classifier — trained here on the real trainA vs trainB images — calls G(A)
"B" and F(B) "A". Measured in one process run."""

from __future__ import annotations

from ganzoo.bench.sr import train_for
from ganzoo.metrics.translation import domain_classifier, evaluate_translation


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
