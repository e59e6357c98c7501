"""Quality on real data: DCGAN trained from its MNIST recipe for a bounded budget on this CPU
makes digits that a classifier trained here recognises, across (nearly) all ten classes."""

from __future__ import annotations

import pytest

from ganzoo.recipes import load_recipe
from ganzoo.training import train

from conftest import REPO
from mnist_judge import judge, train_mnist_classifier

# About four minutes of a 2-core CPU (the recipe's full run is longer and better).
QUALITY_STEPS = 1200


@pytest.mark.slow
def test_dcgan_mnist_recipe_learns_digits(tfds_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    classifier, accuracy = train_mnist_classifier(str(tfds_dir))
    assert accuracy > 0.97, "the judge itself must recognise real digits"
    recipe = load_recipe(REPO / "recipes" / "dcgan_mnist.toml")
    run_dir = train(recipe, out=tmp_path, max_steps=QUALITY_STEPS, verbose=0)
    from ganzoo.training import load_trained_model

    verdict = judge(classifier, load_trained_model(run_dir).generate(2000, seed=123))
    print(f"classifier accuracy {accuracy:.4f}; GAN samples: {verdict}")
    assert verdict["confidence"] > 0.8, verdict
    assert verdict["classes"] >= 8, verdict
