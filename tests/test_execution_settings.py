"""Recipe execution settings (mixed precision, XLA, steps_per_execution) train with finite losses
and put the computation where the setting says."""

from __future__ import annotations

import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.data import training_dataset
from ganzoo.recipes import recipe_from_dict
from ganzoo.training.hardware import (
    Hardware,
    cpu_has_bf16,
    detect_hardware,
    jit_compile_decision,
    onednn_enabled,
    precision_decision,
)
from ganzoo.training.trainer import build_model, dtype_policy, execution_settings

STEPS = 4


def tiny_recipe(**train):
    raw = {"model": {"name": "dcgan", "preset": "tiny"}, "data": {"source": "tfds:mnist"},
           "train": {"steps": STEPS, "batch_size": 8, "steps_per_epoch": STEPS, "jit_compile": False,
                     "mixed_precision": "float32", **train}}
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


def assert_mixed_precision(network, compute_dtype):
    """float32 weights, and 16-bit compute in at least two thirds of the layers with a kernel
    (output layers and stylegan_lite's to-RGB path, a third of its tiny generator's, stay float32)."""
    layers = [layer for layer in network._flatten_layers() if getattr(layer, "kernel", None) is not None]
    assert layers and all(layer.kernel.dtype == "float32" for layer in layers)
    assert sum(layer.compute_dtype == compute_dtype for layer in layers) >= 2 * len(layers) / 3


@pytest.mark.parametrize("train", [{"mixed_precision": "mixed_float16"}, {"jit_compile": True, "mixed_precision": "mixed_bfloat16"}],
                         ids=["mixed_float16", "xla+mixed_bfloat16"])
def test_stylegan_lite_trains_with_its_lazy_branches_and_augmentation(train):
    """StyleGAN-lite's extra branches (lazy R1: a gradient of a gradient through DiffAugment; path
    length) run on every other step here, as GPUs train it (mixed_float16 in the graph) and as TPUs
    do (mixed_bfloat16 under XLA; this is also stylegan_lite's case of the mixed_bfloat16 test)."""
    overrides = {"r1_interval": 2, "pl_weight": 2.0, "pl_interval": 2, "augment": "color,translation,cutout"}
    raw = {"model": {"name": "stylegan_lite", "preset": "tiny", "overrides": overrides}, "data": {"source": "tfds:mnist"},
           "train": {"steps": STEPS, "batch_size": 8, "steps_per_epoch": STEPS, "jit_compile": False,
                     "mixed_precision": "float32", **train}}
    model = build_model(recipe_from_dict(raw, name="settings"))
    assert_mixed_precision(model.generator, train["mixed_precision"].removeprefix("mixed_"))
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    before = [w.copy() for w in model.generator.get_weights()]
    history = model.fit(training_dataset(images, 8, seed=0), epochs=1, steps_per_epoch=STEPS, verbose=0).history
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))
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


def synthetic_batch(model, batch: int = 4):
    """One batch of what the model's data pipeline yields: the first batch of its task's benchmark
    stream (noise images where no prepared data is at hand)."""
    from ganzoo.tasks import task_of

    dataset, _ = task_of(model).bench_dataset(model, batch)
    return next(iter(dataset))


@pytest.mark.parametrize("name, jit_compile", [(name, jit) for name in ganzoo.list_models() for jit in (False, True)
                                               if (name, jit) != ("stylegan_lite", True)],
                         ids=lambda value: {False: "graph", True: "xla"}.get(value, value))
def test_every_model_trains_in_mixed_bfloat16(name, jit_compile):
    """TPUs (under XLA) and CPUs with bf16 units (in the graph) train in mixed_bfloat16: every model
    must (16-bit compute, float32 weights, finite losses, weights that move). cgan's projection
    logit once failed here in both, stylegan_lite's bilinear upsampling under XLA (stylegan_lite
    under XLA is trained in the lazy-branches test above: compiling it takes a minute on a CPU)."""
    with dtype_policy("mixed_bfloat16"):
        keras.utils.set_random_seed(0)
        model = ganzoo.create_model(name, "tiny")
        model.compile(jit_compile=jit_compile)
    assert_mixed_precision(model.generator, "bfloat16")
    before = [w.copy() for w in model.generator.get_weights()]
    logs = model.fit(tf.data.Dataset.from_tensors(synthetic_batch(model)).repeat(2), epochs=1, verbose=0).history
    assert all(np.isfinite(values).all() for values in logs.values()), logs
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))


@pytest.mark.parametrize(
    "hardware, jit_compile",
    [(Hardware("cpu", onednn=False), True), (Hardware("cpu", onednn=True), False), (Hardware("gpu", onednn=True), True),
     (Hardware("tpu", onednn=False), True)],
    ids=["cpu-without-onednn", "cpu-with-onednn", "gpu", "tpu"],
)
def test_auto_jit_compile_follows_the_hardware(hardware, jit_compile):
    assert jit_compile_decision("auto", hardware)[0] is jit_compile
    # What a recipe states is kept whatever the machine.
    assert jit_compile_decision(False, hardware)[0] is False and jit_compile_decision(True, hardware)[0] is True
    # A model that XLA:CPU runs slowly gets XLA on accelerators only.
    assert jit_compile_decision("auto", hardware, "slow")[0] is (hardware.accelerator != "cpu")
    assert jit_compile_decision(True, hardware, "slow")[0] is True


@pytest.mark.parametrize(
    "hardware, policy",
    [(Hardware("cpu", onednn=True, cpu_bf16=True), "mixed_bfloat16"), (Hardware("cpu", onednn=True), "float32"),
     (Hardware("cpu", onednn=False, cpu_bf16=True), "float32"), (Hardware("gpu", onednn=True, cpu_bf16=True), "float32"),
     (Hardware("tpu", onednn=False), "float32")],
    ids=["cpu-bf16-onednn", "cpu-without-bf16", "cpu-bf16-without-onednn", "gpu", "tpu"],
)
def test_auto_precision_is_bfloat16_only_on_cpus_with_bfloat16_units(hardware, policy):
    assert precision_decision("auto", hardware)[0] == policy
    for named in ("float32", "mixed_float16", "mixed_bfloat16"):  # what a recipe names is kept
        assert precision_decision(named, hardware) == (named, f"mixed_precision = {named}")


def test_auto_precision_builds_the_model_in_what_it_resolved_to(monkeypatch):
    monkeypatch.setattr("ganzoo.training.hardware.tf.config.list_logical_devices", lambda kind: [])  # a CPU machine
    monkeypatch.setattr("ganzoo.training.hardware.onednn_enabled", lambda: True)
    for bf16, compute_dtype in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr("ganzoo.training.hardware.cpu_has_bf16", lambda bf16=bf16: bf16)
        model = build_model(tiny_recipe(mixed_precision="auto"))
        conv = next(layer for layer in model.generator.layers if isinstance(layer, keras.layers.Conv2DTranspose))
        assert conv.compute_dtype == compute_dtype and conv.kernel.dtype == "float32"
    assert isinstance(cpu_has_bf16(), bool)  # this machine's answer, whatever it is


def test_auto_jit_compile_keeps_stylegan_lite_out_of_xla_on_any_cpu(monkeypatch):
    # Its lazy-R1 step, a tf.cond branch, ran 8.5x slower under XLA:CPU at batch 4 and far worse
    # at 32 (RESULTS.md), oneDNN or not.
    recipe = recipe_from_dict({"model": {"name": "stylegan_lite", "preset": "tiny"}, "data": {"source": "tfds:mnist"},
                               "train": {"steps": 1}}, name="auto")
    if detect_hardware().accelerator != "cpu":
        pytest.skip("on an accelerator 'auto' is XLA for every model")
    for onednn in (True, False):
        monkeypatch.setattr("ganzoo.training.hardware.onednn_enabled", lambda: onednn)
        assert build_model(recipe).jit_compile is False


def test_auto_jit_compile_reads_this_machine(monkeypatch):
    """Recipes default to "auto", and build_model applies what it resolves to here; with oneDNN
    off (TF_ENABLE_ONEDNN_OPTS=0, or an AVX2 CPU) it turns XLA on."""
    recipe = recipe_from_dict({"model": {"name": "dcgan", "preset": "tiny"}, "data": {"source": "tfds:mnist"},
                               "train": {"steps": 1}}, name="auto")
    assert recipe.train.jit_compile == "auto"
    on_cpu = detect_hardware().accelerator == "cpu"  # on a GPU machine "auto" is XLA whatever oneDNN does
    assert build_model(recipe).jit_compile is (not (on_cpu and onednn_enabled()))
    for onednn in (True, False):
        monkeypatch.setattr("ganzoo.training.hardware.onednn_enabled", lambda: onednn)
        assert build_model(recipe).jit_compile is (not (on_cpu and onednn))


@pytest.mark.parametrize(
    "model, train, onednn, jit_compile, why",
    [("stylegan_lite", {}, False, False, "conditional (lazy-regularizer) steps"),
     ("gan3d", {}, False, False, "auto: XLA:CPU trains this model ~40x slower"),
     ("dcgan", {}, False, True, "auto: XLA on this CPU (no oneDNN)"),
     ("dcgan", {}, True, False, "running oneDNN the graph beats XLA"),
     ("dcgan", {"jit_compile": True}, True, True, "jit_compile = true"),
     ("dcgan", {"jit_compile": True, "replicas": 2}, False, False, "2 replicas")],
    ids=["stylegan-cpu", "gan3d-cpu", "dcgan-cpu", "dcgan-onednn", "as-written", "two-replicas"],
)
def test_execution_settings_say_why(monkeypatch, model, train, onednn, jit_compile, why):
    """The run header records not only whether XLA is on but what decided it."""
    monkeypatch.setattr("ganzoo.training.hardware.onednn_enabled", lambda: onednn)
    monkeypatch.setattr("ganzoo.training.hardware.tf.config.list_logical_devices", lambda kind: [])  # a CPU machine
    train = dict(train)
    # execution_settings reads only the replica count of a strategy.
    strategy = SimpleNamespace(num_replicas_in_sync=train.pop("replicas", 1))
    recipe = recipe_from_dict({"model": {"name": model, "preset": "tiny"}, "data": {"source": "tfds:mnist"},
                               "train": {"steps": 1, "steps_per_execution": 4, **train}}, name="why")
    settings = execution_settings(recipe, strategy)
    assert settings.jit_compile is jit_compile and why in settings.why
    assert settings.steps_per_execution == (4 if strategy.num_replicas_in_sync == 1 else 1)


def test_stateless_draws_are_the_same_numbers_under_xla_and_in_the_graph():
    from scipy import stats

    from ganzoo.layers.random import stateless_draw

    seed = tf.constant([5, 9], tf.int64)
    for kind, atol in (("normal", 1e-4), ("uniform", 0.0)):  # erfinv's approximations differ in the last bits
        draw = lambda: stateless_draw([64, 100], seed, kind)
        np.testing.assert_allclose(tf.function(draw)().numpy(), tf.function(draw, jit_compile=True)().numpy(), atol=atol)
    normal, uniform = stateless_draw([100_000], seed).numpy(), stateless_draw([100_000], seed, "uniform").numpy()
    assert stats.kstest(normal, "norm").pvalue > 1e-3 and stats.kstest(uniform, "uniform").pvalue > 1e-3
    assert 0 < uniform.min() and uniform.max() < 1


def test_draws_from_extreme_bits_stay_finite_and_inside_the_open_interval():
    """Every uint32 maps into (0, 1) and to a finite normal: once the top cell's centre rounded to
    1.0 and erfinv made it inf, one draw in 2^24 (an 800-step DCGAN run ended in NaN)."""
    from ganzoo.layers.random import floats_from_bits

    bits = tf.constant([0, 1, 511, 512, 2**31, 2**32 - 513, 2**32 - 512, 2**32 - 1], tf.uint32)
    for jit in (False, True):
        uniform = tf.function(lambda: floats_from_bits(bits, "uniform"), jit_compile=jit)().numpy()
        normal = tf.function(lambda: floats_from_bits(bits), jit_compile=jit)().numpy()
        assert (0 < uniform).all() and (uniform < 1).all() and np.all(np.diff(uniform) >= 0)
        assert np.isfinite(normal).all() and np.abs(normal).max() < 6 and np.all(np.diff(normal) >= 0)
        assert normal[0] == -normal[-1]  # the cells' centres are symmetric about 1/2


@pytest.mark.parametrize("name, loss", [("dcgan", "non_saturating"), ("vanilla", "wgan_gp"), ("stylegan_lite", "non_saturating")])
def test_xla_and_graph_steps_draw_the_same_noise(name, loss):
    """jit_compile = "auto" turns XLA on or off by machine: a seed must give the same run either way
    (latents, WGAN-GP's mixing weights, StyleGAN-lite's own streams), up to kernel rounding."""
    batch = synthetic_batch(ganzoo.create_model(name, "tiny"), batch=8)
    logs, weights = {}, {}
    for jit in (False, True):
        keras.utils.set_random_seed(3)
        model = ganzoo.create_model(name, "tiny")
        model.compile(loss=loss, jit_compile=jit, noise_seed=11)
        logs[jit] = [model.train_on_batch(batch, return_dict=True) for _ in range(3)]
        weights[jit] = model.generator.get_weights()
    for graph_logs, xla_logs in zip(logs[False], logs[True]):
        for key in ("g_loss", "d_loss"):
            assert xla_logs[key] == pytest.approx(graph_logs[key], rel=1e-3, abs=1e-4), (key, graph_logs, xla_logs)
    for graph_w, xla_w in zip(weights[False], weights[True]):
        np.testing.assert_allclose(graph_w, xla_w, atol=1e-4)


@pytest.mark.parametrize("noise_seed", [-1, 2**32])
def test_noise_seeds_outside_32_bits_are_refused(noise_seed):
    # XLA and the graph make other bits from such seeds, so the run would depend on jit_compile.
    with pytest.raises(ValueError, match=f"noise_seed must be between 0 and 2\\*\\*32 - 1, got {noise_seed}"):
        ganzoo.create_model("dcgan", "tiny").compile(noise_seed=noise_seed)
