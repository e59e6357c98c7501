"""StyleGAN-lite: the building blocks against references (demodulation, minibatch std,
DiffAugment), truncation, lazy R1 against a hand-computed gradient norm, style mixing at the
crossover, path-length regularisation on both schedules, export with its style signatures, and
the commands."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import REPO

import ganzoo
from ganzoo import losses
from ganzoo.actions import sample
from ganzoo.cli import main
from ganzoo.errors import WrongTask
from ganzoo.export.tflite import TFLITE_MODES, run_tflite
from ganzoo.layers import MinibatchStdDev, ModulatedConv2D
from ganzoo.layers.diff_augment import color, cutout, diff_augment, translation
from ganzoo.layers.style import SQRT2, NoiseInjection
from ganzoo.models.stylegan_lite import mix_styles


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("stylegan_lite", "tiny", **overrides)
    model.compile()
    return model


def random_images(count, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype("float32")


def test_modulated_conv_equals_per_sample_weights_and_demodulation_keeps_unit_scale():
    keras.utils.set_random_seed(3)
    layer = ModulatedConv2D(32, 3, w_index=1)
    x = np.random.default_rng(0).normal(size=(6, 12, 12, 64)).astype("float32")
    ws = np.random.default_rng(1).normal(size=(6, 2, 8)).astype("float32")
    y = layer([x, ws]).numpy() - layer.bias.numpy()
    # Reference: the StyleGAN2 formulation, one modulated and demodulated kernel per sample.
    styles = layer.affine(ws[:, 1]).numpy()
    kernel = layer.kernel.numpy() * layer.weight_gain
    for b in range(len(x)):
        w = kernel * styles[b][None, None, :, None]
        w = w / np.sqrt(np.sum(w**2, axis=(0, 1, 2), keepdims=True) + 1e-8)
        expected = tf.nn.conv2d(x[b : b + 1], w, 1, "SAME").numpy()[0]
        np.testing.assert_allclose(y[b], expected, atol=2e-5)
    # Unit-variance inputs give unit-variance outputs whatever the random weights and styles
    # (interior pixels: zero padding shrinks the border).
    assert np.std(y[:, 1:-1, 1:-1]) == pytest.approx(1.0, abs=0.06)
    plain = ModulatedConv2D(32, 3, w_index=1, demodulate=False)
    assert not 0.8 < np.std(plain([x * 10, ws]).numpy()) < 1.2  # what demodulation fixes


@pytest.mark.parametrize("sample_shape", [(4, 4, 3), (2, 3, 4, 3)], ids=["images", "volumes"])
def test_minibatch_std_against_numpy(sample_shape):
    x = np.random.default_rng(0).normal(size=(8,) + sample_shape).astype("float32")
    out = MinibatchStdDev(4)(x).numpy()
    assert out.shape == x.shape[:-1] + (4,)
    np.testing.assert_array_equal(out[..., :3], x)
    for start in (0, 4):  # groups of 4 consecutive images share one value
        expected = np.mean(np.sqrt(np.var(x[start : start + 4], axis=0) + 1e-8))
        np.testing.assert_allclose(out[start : start + 4, ..., 3], expected, rtol=1e-5)
    odd = MinibatchStdDev(4)(x[:6]).numpy()  # gcd(6, 4) = 2: groups of two
    np.testing.assert_allclose(odd[0, ..., 3], np.mean(np.sqrt(np.var(x[:2], axis=0) + 1e-8)), rtol=1e-5)


def test_diff_augment_pieces():
    x = random_images(2, (8, 8, 3))
    neutral = np.full((2, 7), 0.5, np.float32)  # brightness 0, saturation x1, contrast x1
    np.testing.assert_allclose(color(x, neutral).numpy(), x, atol=1e-6)
    u = neutral.copy()
    u[:, 3], u[:, 4] = 0.99, 0.0  # shift y by +1 (max 1 at 8 px), x by -1
    shifted = translation(x, u).numpy()
    expected = np.zeros_like(x)
    expected[:, 1:, :-1] = x[:, :-1, 1:]
    np.testing.assert_array_equal(shifted, expected)
    holes = cutout(x, u).numpy()
    assert ((holes == 0).all(axis=-1).sum(axis=(1, 2)) == 16).all()  # one 4x4 square each
    image = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(image)
        total = tf.reduce_sum(diff_augment(image, tf.constant(u), ("color", "translation", "cutout")))
    assert np.abs(tape.gradient(total, image).numpy()).sum() > 0  # differentiable
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        ganzoo.create_model("stylegan_lite", "tiny", augment="color,zoom")


def test_truncation_psi_zero_gives_the_average_image_for_every_latent():
    model = tiny()
    model.w_average.w_avg.assign(np.random.default_rng(0).normal(size=model.w_dim).astype("float32"))
    images = model.generate(6, seed=1, truncation_psi=0.0)
    np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape), atol=1e-6)
    average = model.synthesize(np.broadcast_to(model.w_average.w_avg.numpy(), (1, model.num_ws, model.w_dim)))
    np.testing.assert_allclose(images[0], average[0], atol=1e-6)
    half = model.generate(6, seed=1, truncation_psi=0.5)
    full = model.generate(6, seed=1)
    assert np.std(half, axis=0).mean() < np.std(full, axis=0).mean()
    # Noise strengths start at zero (the noise has no effect yet): give them a value first.
    noise_layers = [layer for layer in model.sampling_generator._flatten_layers() if isinstance(layer, NoiseInjection)]
    assert noise_layers
    for layer in noise_layers:
        layer.strength.assign(0.5)
    const, random = model.generate(2, seed=1), model.generate(2, seed=1, noise_mode="random")
    assert np.abs(random - const).max() > 0.01
    np.testing.assert_array_equal(model.generate(2, seed=1, noise_mode="random"), random)  # drawn from the seed
    with pytest.raises(ValueError, match=r"latents must have shape \[N, 16\]"):
        model.generate(np.zeros((2, 5), np.float32), truncation_psi=0.5)


def test_lazy_r1_matches_a_hand_computed_gradient_norm_and_only_every_interval():
    model = tiny(r1_interval=2, style_mixing_prob=0.0)
    real = tf.constant(random_images(8))
    with tf.GradientTape() as tape:  # by hand, with the initial discriminator
        tape.watch(real)
        scores = tf.reduce_sum(model.discriminator(real, training=True))
    expected = float(np.mean(np.sum(tape.gradient(scores, real).numpy() ** 2, axis=(1, 2, 3))))
    assert expected > 0
    model.train_on_batch(real)  # step 0: an R1 step
    assert float(model.r1_tracker.result()) == pytest.approx(expected, rel=1e-4)
    model.r1_tracker.reset_state()
    model.train_on_batch(real)  # step 1: not an R1 step, nothing logged
    assert float(model.r1_tracker.result()) == 0.0 and float(model.r1_tracker.count) == 0.0


def test_sub_batch_r1_judges_a_slice_of_every_batch_by_hand():
    """r1_schedule="sub_batch": every step, R1 of the first batch / r1_interval images (a whole
    minibatch-std group, so D sees them as in the batch), weighted as the batch; no tf.cond, so
    XLA compiles it like any step (trained under XLA in the path-length test below)."""
    model = tiny(r1_interval=4, r1_schedule="sub_batch", style_mixing_prob=0.0)
    real = tf.constant(random_images(16))
    assert model.r1_sub_batch(real) == 4 and model.r1_sub_batch(real[:6]) == 4
    assert model.r1_sub_batch(tf.constant(random_images(40))) == 12  # 10 rounded up to groups of 4
    with tf.GradientTape() as tape:  # by hand, with the initial discriminator, on the first group
        head = real[:4]
        tape.watch(head)
        scores = tf.reduce_sum(model.discriminator(head, training=True))
    expected = float(np.mean(np.sum(tape.gradient(scores, head).numpy() ** 2, axis=(1, 2, 3))))
    regularizer = model.discriminator_regularizer(lambda x: model.discriminator(x, training=True), real, 16)
    assert regularizer.shape == (16,) and np.all(regularizer.numpy()[4:] == 0)
    assert float(np.mean(regularizer)) == pytest.approx(model.r1_gamma / 2 * expected, rel=1e-4)
    model.r1_tracker.reset_state()
    model.train_on_batch(real)
    assert float(model.r1_tracker.result()) == pytest.approx(expected, rel=1e-4)
    model.r1_tracker.reset_state()
    model.train_on_batch(real)  # step 1 logs one too, unlike the lazy schedule's
    assert float(model.r1_tracker.count) == 4.0 and float(model.r1_tracker.result()) > 0

    with pytest.raises(ValueError, match="r1_schedule must be one of lazy, sub_batch"):
        tiny(r1_schedule="every")


def test_r1_penalty_on_a_tiny_network_by_hand():
    weights = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)  # D(x) = sum(v * tanh(x W))
    v = np.array([2.0, -1.0], np.float32)
    x = np.array([[0.3, -0.2], [1.0, 0.5]], np.float32)
    critic = lambda images: tf.reduce_sum(v * tf.tanh(tf.matmul(images, weights)), axis=1)
    hidden = np.tanh(x @ weights)
    grad = (v * (1 - hidden**2)) @ weights.T  # dD/dx per example
    np.testing.assert_allclose(losses.r1_penalty(critic, tf.constant(x)).numpy(), np.sum(grad**2, axis=1), rtol=1e-5)


def test_style_mixing_switches_w_at_the_crossover():
    w1, w2 = np.ones((3, 4), np.float32), 2 * np.ones((3, 4), np.float32)
    ws = mix_styles(w1, w2, np.array([1, 3, 5]), 5).numpy()
    np.testing.assert_array_equal(ws[:, :, 0], [[1, 2, 2, 2, 2], [1, 1, 1, 2, 2], [1, 1, 1, 1, 1]])
    model = tiny()
    grid, columns = model.style_mix([1, 2], [3, 4, 5], crossover=3)
    assert columns == 4 and grid.shape == (12,) + model.image_shape
    np.testing.assert_array_equal(grid[0], -1.0)  # blank corner
    np.testing.assert_allclose(grid[1:4], model.generate(np.concatenate([model.sample_latents(1, s) for s in (3, 4, 5)])), atol=1e-5)
    np.testing.assert_allclose(grid[4], model.generate(model.sample_latents(1, 1))[0], atol=1e-5)
    w_row, w_col = model.mapped(model.sample_latents(1, 2)), model.mapped(model.sample_latents(1, 5))
    np.testing.assert_allclose(grid[11], model.synthesize(mix_styles(w_row, w_col, [3], model.num_ws))[0], atol=1e-5)
    # Fine styles change the image less than coarse ones: the mix is closer to its row's image.
    assert np.abs(grid[11] - grid[8]).mean() < np.abs(grid[11] - grid[3]).mean()
    strip, steps = model.interpolation_strip([1, 2, 3], steps=5)
    assert steps == 5 and strip.shape == (10,) + model.image_shape
    np.testing.assert_allclose(strip[4], strip[5], atol=1e-5)  # the second line starts where the first ends


def test_training_mixes_styles_about_as_often_as_asked():
    model = tiny(style_mixing_prob=0.9)
    draws = model._style_draw([2], 4000, 1, kind="uniform").numpy()
    assert 0.88 < np.mean(draws[:, 0] < 0.9) < 0.92
    cutoff = 1 + np.floor(draws[:, 1] * (model.num_ws - 1))
    assert cutoff.min() == 1 and cutoff.max() == model.num_ws - 1


def test_path_length_penalty_on_both_schedules_and_under_xla():
    """pl_weight: lazy, every pl_interval steps on the whole batch, times the interval (nothing on
    the other steps); "sub_batch", every step on batch / pl_interval fresh latents, weighted as
    the batch, the running mean a moving pl_interval times slower. Both against the path lengths
    of the same step's draws and the running-mean update by hand."""
    lazy = tiny(pl_weight=2.0, pl_interval=4)
    lazy.pl_mean.assign(0.5)
    lengths = lazy.path_lengths(8).numpy()  # step 0 is a path-length step; the draws are the step's
    assert lengths.shape == (8,) and np.all(lengths > 0)
    weighted, target, (penalty, logged) = lazy.path_length_penalty(8)
    expected_target = 0.5 + 0.01 * (lengths.mean() - 0.5)
    assert float(target) == pytest.approx(expected_target, rel=1e-5)
    np.testing.assert_allclose(penalty, (lengths - expected_target) ** 2, rtol=1e-4)
    np.testing.assert_allclose(weighted, 2.0 * 4 * (lengths - expected_target) ** 2, rtol=1e-4)
    np.testing.assert_array_equal(logged, np.ones(8))
    lazy.g_optimizer.iterations.assign(1)  # not a path-length step: nothing, and a stays
    weighted, target, (_, logged) = lazy.path_length_penalty(8)
    assert np.all(weighted.numpy() == 0) and np.all(logged.numpy() == 0) and float(target) == 0.5

    sub = tiny(pl_weight=2.0, pl_interval=4, pl_schedule="sub_batch")
    sub.pl_mean.assign(0.5)
    sub.g_optimizer.iterations.assign(1)  # every step computes it
    lengths = sub.path_lengths(2).numpy()
    weighted, target, (penalty, logged) = sub.path_length_penalty(8)
    expected_target = 0.5 + 0.01 / 4 * (lengths.mean() - 0.5)
    assert float(target) == pytest.approx(expected_target, rel=1e-5)
    assert weighted.shape == (8,) and np.all(weighted.numpy()[2:] == 0)
    np.testing.assert_allclose(weighted[:2], 2.0 * 8 / 2 * (lengths - expected_target) ** 2, rtol=1e-4)
    np.testing.assert_allclose(penalty, (lengths - expected_target) ** 2, rtol=1e-4)
    np.testing.assert_array_equal(logged, np.ones(2))

    data = tf.data.Dataset.from_tensor_slices(random_images(32)).batch(8, drop_remainder=True)
    history = lazy.fit(data, epochs=1, verbose=0).history
    assert {"pl_penalty", "r1_penalty"} <= set(history) and np.isfinite(history["pl_penalty"]).all()
    # Both sub-batch schedules under XLA in one compile (a minute on a CPU): R1 and path length
    # on every step, without tf.cond.
    xla = tiny(pl_weight=2.0, pl_interval=4, r1_schedule="sub_batch", pl_schedule="sub_batch")
    xla.compile(jit_compile=True)
    history = xla.fit(data, epochs=1, verbose=0).history
    assert float(xla.pl_tracker.count) == 4 * 2  # two lengths on each of the four steps
    assert float(xla.r1_tracker.count) == 4 * 4  # R1 of four images on each of the four steps
    assert np.isfinite(history["pl_penalty"][-1]) and float(xla.pl_mean.numpy()) > 0
    assert np.isfinite(history["r1_penalty"][-1]) and history["r1_penalty"][-1] > 0
    assert xla.get_config()["pl_schedule"] == "sub_batch" and xla.get_config()["r1_schedule"] == "sub_batch"
    with pytest.raises(ValueError, match="pl_schedule must be one of lazy, sub_batch"):
        tiny(pl_schedule="every")


def test_augmented_training_is_finite_and_checkpoints_the_tracked_state():
    model = tiny(augment="color,translation,cutout")
    history = model.fit(tf.data.Dataset.from_tensor_slices(random_images(16)).batch(8), epochs=1, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    objects = model.checkpoint_objects()
    assert {"w_average", "pl_mean", "ema_generator"} <= set(objects)
    assert np.abs(model.w_average.w_avg.numpy()).sum() > 0  # tracked during training


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny()
    model.fit(tf.data.Dataset.from_tensor_slices(random_images(32)).batch(8), epochs=1, verbose=0)
    base = tmp_path_factory.mktemp("saved_models")
    model_file = base.parent / "stylegan.keras"
    model.save(model_file)
    result = CliRunner().invoke(main, ["export", str(model_file), "--base", str(base), "--tflite", ",".join(TFLITE_MODES)])
    assert result.exit_code == 0, result.output
    return model, base / "stylegan_lite" / "1"


def test_export_signatures_and_verify_export_in_a_fresh_process(exported):
    model, version_dir = exported
    done = subprocess.run([sys.executable, "-m", "ganzoo.cli", "verify-export", str(version_dir)],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for signature in ("serving_default", "generate", "sample", "sample_png", "mapping", "synthesis"):
        assert f"saved_model      {signature}" in done.stdout
    for mode in TFLITE_MODES:
        assert f"tflite {mode}" in done.stdout
    signatures = tf.saved_model.load(str(version_dir)).signatures
    latent = model.sample_latents(3, seed=4)
    psi = tf.constant(0.6)
    # A client mixing styles: mapping outputs, then synthesis with layers >= 2 from another latent.
    w = signatures["mapping"](latent=tf.constant(latent), truncation_psi=psi)["w"].numpy()
    ws = mix_styles(w, w[::-1], np.full(3, 2), model.num_ws).numpy()
    served = signatures["synthesis"](ws=tf.constant(ws))["images"].numpy().astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(served, model.synthesize(ws), atol=1 / 127.5 + 1e-6)
    served = signatures["serving_default"](latent=tf.constant(latent), truncation_psi=psi)["images"].numpy()
    np.testing.assert_allclose(served / 127.5 - 1, model.generate(latent, truncation_psi=0.6), atol=1 / 127.5 + 1e-6)
    average = signatures["sample"](seed=tf.constant(5, tf.int64), num_samples=tf.constant(4), truncation_psi=tf.constant(0.0))
    assert (average["images"].numpy() == average["images"].numpy()[:1]).all()


@pytest.mark.parametrize("signature, inputs, name", [
    ("serving_default", {"latent": np.zeros((2, 16), np.float32), "truncation_psi": np.zeros(2, np.float32)}, "truncation_psi"),
    ("serving_default", {"latent": np.zeros((2, 15), np.float32), "truncation_psi": np.float32(1)}, "latent"),
    ("synthesis", {"ws": np.zeros((2, 5, 16), np.float32)}, "ws"),
])
def test_bad_input_names_the_input(exported, signature, inputs, name):
    function = tf.saved_model.load(str(exported[1])).signatures[signature]
    with pytest.raises(tf.errors.InvalidArgumentError, match=name):
        function(**{k: tf.constant(v) for k, v in inputs.items()})


def test_tflite_runs_any_batch_size_with_builtin_ops(exported):
    model, version_dir = exported
    for batch in (1, 5):
        latent = model.sample_latents(batch, seed=batch)
        out = run_tflite(version_dir / "tflite" / "stylegan_lite.float32.tflite",
                         {"latent": latent, "truncation_psi": np.float32(0.7)})["images"]
        np.testing.assert_allclose(out, model.generate(latent, truncation_psi=0.7), atol=1e-4)


def test_the_int8_form_keeps_the_function_and_rescues_full_int8(tmp_path, monkeypatch):
    """Trained styles span channels of very different size (simulated here by rescaling each
    affine's output channels over 0.05..5); the export's normalised styles give the same float
    function and a clearly better full-int8 file than converting the layers as they are."""
    import contextlib

    from ganzoo.export.gates import psnr
    from ganzoo.export.tflite import export_tflite
    from ganzoo.tasks import task_of
    from ganzoo.tasks.style import int8_form

    model = tiny()
    rng = np.random.default_rng(0)
    synthesis = model.parts(model.sampling_generator)[1]
    for layer in synthesis.layers:
        if isinstance(layer, ModulatedConv2D):
            spread = np.exp(rng.uniform(np.log(0.05), np.log(5.0), layer.affine.bias.shape)).astype("float32")
            layer.affine.kernel.assign(layer.affine.kernel * spread)
            layer.affine.bias.assign(layer.affine.bias * spread)
    latent = model.sample_latents(8, seed=2)
    expected = model.generate(latent, truncation_psi=0.7)
    with int8_form(model, model.sample_latents(64, seed=3), np.full(64, 0.8)):
        scales = [layer.style_scale for layer in synthesis.layers if isinstance(layer, ModulatedConv2D)]
        assert all(s is not None and s.max() / s.min() > 5 for s in scales)
        np.testing.assert_allclose(model.generate(latent, truncation_psi=0.7), expected, atol=2e-5)
    assert all(layer.style_scale is None and layer.input_gain is None
               for layer in synthesis.layers if isinstance(layer, ModulatedConv2D))
    assert all(layer.gain == SQRT2 for layer in synthesis.layers if isinstance(layer, NoiseInjection))
    np.testing.assert_array_equal(model.generate(latent, truncation_psi=0.7), expected)  # nothing left behind

    def int8_psnr(folder):
        [path] = export_tflite(model, tmp_path / folder, ["int8"], "m")
        return psnr(run_tflite(path, {"latent": latent, "truncation_psi": np.float32(0.7)})["images"], expected)

    normalized = int8_psnr("normalized")
    monkeypatch.setattr(type(task_of(model)), "tflite_form", lambda self, model, mode: contextlib.nullcontext())
    as_is = int8_psnr("as_is")
    assert normalized > as_is + 2.0, (normalized, as_is)  # measured 24.4 vs 20.1 dB


def test_recipe_trains_with_style_panels_and_the_commands_write_them(tmp_path, tfds_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    recipe = REPO / "recipes" / "stylegan_lite_fashion_mnist.toml"
    args = ["train", str(recipe), "--set", "model.preset=tiny", "--set", "model.overrides={}", "--set", "train.batch_size=8",
            "--set", "train.steps_per_epoch=4", "--set", "evaluation.every_epochs=0", "--max-steps", "8", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    events = list((run_dir / "logs").rglob("events.out.tfevents.*"))
    tags = set()
    for event_file in events:
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags |= {value.tag for value in event.summary.value}
    assert {"samples", "style_mixing", "interpolation"} <= tags
    runner = CliRunner()
    result = runner.invoke(main, ["style-mix", str(run_dir), "--rows", "1,2", "--cols", "3,4,5", "--out", str(tmp_path / "mix.png")])
    assert result.exit_code == 0, result.output
    assert tf.io.decode_png((tmp_path / "mix.png").read_bytes()).shape[:2] == (3 * 18 + 2, 4 * 18 + 2)
    result = runner.invoke(main, ["interpolate", str(run_dir), "--seeds", "1,2,3", "--steps", "6", "--out", str(tmp_path / "lerp.png")])
    assert result.exit_code == 0, result.output
    assert tf.io.decode_png((tmp_path / "lerp.png").read_bytes()).shape[:2] == (2 * 18 + 2, 6 * 18 + 2)
    result = runner.invoke(main, ["sample", str(run_dir), "--num", "4", "--truncation", "0", "--out", str(tmp_path / "avg.npz")])
    assert result.exit_code == 0, result.output
    images = np.load(tmp_path / "avg.npz")["images"]
    assert (images == images[:1]).all()
    result = runner.invoke(main, ["style-mix", str(run_dir), "--rows", "1", "--cols", "2", "--crossover", "9", "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "crossover must be in [1, 5]" in result.output


def test_truncation_is_refused_by_models_without_styles(tmp_path):
    model = ganzoo.create_model("dcgan", "tiny")
    model.save(tmp_path / "d.keras")
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "d.keras"), "--truncation", "0.5", "--out", str(tmp_path / "s.png")])
    assert result.exit_code != 0 and "not a style model" in result.output
    # The CLI answers from the file's config before loading it; the library, from the loaded model.
    with pytest.raises(WrongTask) as raised:
        sample(tmp_path / "d.keras", tmp_path / "s.png", 4, truncation=0.5)
    assert result.output.strip() == f"Error: {raised.value}"
