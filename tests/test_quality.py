"""Quality on real data, on this 2-core CPU with bounded budgets: a classifier trained here (98.5%
on MNIST test) judges what the zoo's MNIST recipes learned."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO
from mnist_judge import judge, train_mnist_classifier

from ganzoo.metrics.classifier import probabilities
from ganzoo.recipes import load_recipe
from ganzoo.training import load_trained_model, train

# The recipes train 18000 and 3000 steps. On 2-core CPUs: DCGAN's 1000 steps under a minute
# with AVX-512 (bf16), 2.2 minutes with AVX2 only (float32 under XLA; 3.5 beside another worker).
DCGAN_STEPS = 1000
CGAN_STEPS = 500  # two minutes beside another worker on the AVX2 CPU


@pytest.fixture(scope="module")
def mnist_classifier(tfds_dir):
    classifier, accuracy = train_mnist_classifier(str(tfds_dir))
    assert accuracy > 0.97, "the judge itself must recognise real digits"
    return classifier


def train_recipe(name, steps, tfds_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    # Without the recipe's periodic metrics: this test judges the samples itself.
    recipe = load_recipe(REPO / "recipes" / f"{name}.toml", ["evaluation.every_epochs=0"])
    run_dir = train(recipe, out=tmp_path, max_steps=steps, verbose=0)
    return load_trained_model(run_dir)


@pytest.mark.slow
def test_dcgan_mnist_recipe_learns_digits_of_every_kind(mnist_classifier, tfds_dir, tmp_path, monkeypatch):
    model = train_recipe("dcgan_mnist", DCGAN_STEPS, tfds_dir, tmp_path, monkeypatch)
    verdict = judge(mnist_classifier, model.generate(2000, seed=123))
    print(f"DCGAN samples after {DCGAN_STEPS} steps: {verdict}")
    # What the judge says of other images (2026-12-02, AVX2): real test digits 0.985, real digits
    # blurred with sigma 1.5 px 0.807 (10 classes), an untrained generator 0.23, uniform noise
    # 0.997 but all one class. This recipe's 1000 steps: 0.82 here, 10 classes; a thin margin
    # on this CPU, which trains in float32 (bf16 CPUs train in mixed_bfloat16). On an AVX-512
    # CPU (2026-12-07): 0.822 in float32 and 0.822 in bfloat16; 1600 steps gave 0.843 / 0.836,
    # so more steps would buy little margin.
    assert verdict["confidence"] > 0.8, verdict  # digits, not smudges
    assert verdict["classes"] >= 8, verdict  # not one mode (nor noise)


@pytest.mark.slow
def test_cgan_mnist_samples_are_recognised_as_their_labels(mnist_classifier, tfds_dir, tmp_path, monkeypatch):
    model = train_recipe("cgan_mnist", CGAN_STEPS, tfds_dir, tmp_path, monkeypatch)
    labels = np.repeat(np.arange(10), 100)
    predicted = probabilities(mnist_classifier, model.generate(1000, seed=7, labels=labels)).argmax(1)
    per_class = [float((predicted[labels == c] == c).mean()) for c in range(10)]
    print(f"CGAN own-label accuracy after {CGAN_STEPS} steps: {np.mean(predicted == labels):.3f}, per class {per_class}")
    assert np.mean(predicted == labels) > 0.8, per_class
