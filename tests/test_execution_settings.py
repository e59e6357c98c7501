"""Recipe execution settings (mixed precision, XLA, steps_per_execution) train with finite losses
and put the computation where the setting says."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from ganzoo.data import training_dataset
from ganzoo.recipes import recipe_from_dict
from ganzoo.training.trainer import build_model

STEPS = 4


def tiny_recipe(**train):
    raw = {"model": {"name": "dcgan", "preset": "tiny"}, "data": {"source": "tfds:mnist"},
           "train": {"steps": STEPS, "batch_size": 8, "steps_per_epoch": STEPS, "jit_compile": False, **train}}
    return recipe_from_dict(raw, name="settings")


@pytest.mark.parametrize(
    "train, compute_dtype, loss_scaled",
    [
        ({"mixed_precision": "mixed_float16"}, "float16", True),
        ({"mixed_precision": "mixed_bfloat16"}, "bfloat16", False),
        ({"jit_compile": True}, "float32", False),
        ({"steps_per_execution": 2}, "float32", False),
        ({"jit_compile": True, "steps_per_execution": 4}, "float32", False),
    ],
    ids=["mixed_float16", "mixed_bfloat16", "xla", "steps_per_execution", "xla+spe"],
)
def test_setting_trains_with_finite_losses(train, compute_dtype, loss_scaled):
    model = build_model(tiny_recipe(**train))
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    conv = next(layer for layer in model.generator.layers if isinstance(layer, keras.layers.Conv2DTranspose))
    assert conv.compute_dtype == compute_dtype and conv.kernel.dtype == "float32"
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer) == loss_scaled
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) == loss_scaled
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    before = [w.copy() for w in model.generator.get_weights()]
    history = model.fit(training_dataset(images, 8, seed=0), epochs=1, steps_per_epoch=STEPS, verbose=0).history
    assert int(model.g_optimizer.iterations.numpy()) == STEPS
    assert all(np.isfinite(np.mean(values)) for values in history.values()), history
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))
    samples = model.generate(4, seed=1)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


@pytest.mark.parametrize("train", [{"mixed_precision": "mixed_float16"}, {"jit_compile": True}], ids=["mixed_float16", "xla"])
def test_stylegan_lite_trains_with_its_lazy_branches_and_augmentation(train):
    """StyleGAN-lite's extra branches (lazy R1: a gradient of a gradient through DiffAugment; path
    length) run on every other step here, in mixed precision and under XLA."""
    overrides = {"r1_interval": 2, "pl_weight": 2.0, "pl_interval": 2, "augment": "color,translation,cutout"}
    raw = {"model": {"name": "stylegan_lite", "preset": "tiny", "overrides": overrides}, "data": {"source": "tfds:mnist"},
           "train": {"steps": STEPS, "batch_size": 8, "steps_per_epoch": STEPS, "jit_compile": False, **train}}
    model = build_model(recipe_from_dict(raw, name="settings"))
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    history = model.fit(training_dataset(images, 8, seed=0), epochs=1, steps_per_epoch=STEPS, verbose=0).history
    for optimizer in (model.g_optimizer, model.d_optimizer):
        # Dynamic loss scaling skips a step whose scaled gradients overflow and halves the scale.
        skipped = 0
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            skipped = round(math.log2(optimizer.initial_scale / float(optimizer.dynamic_scale.numpy())))
        assert int(optimizer.iterations.numpy()) + skipped == STEPS and skipped < STEPS
    assert all(np.isfinite(np.mean(values)) for values in history.values()), history
    assert np.mean(history["r1_penalty"]) > 0 and np.mean(history["pl_penalty"]) > 0
    samples = model.generate(4, seed=1, truncation_psi=0.7)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()
