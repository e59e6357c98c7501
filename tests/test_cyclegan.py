"""CycleGAN: the history pool, the loss pieces against hand computation, the learning-rate
schedule, unpaired data, translation of any allowed size, and a short training on real faces and
anime faces that lowers the cycle loss."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import REPO, SHARED_DATA

import ganzoo
from ganzoo import losses
from ganzoo.cli import main
from ganzoo.data.bicubic import imresize
from ganzoo.data.unpaired import load_unpaired, unpaired_dataset
from ganzoo.errors import DataError, GanzooError
from ganzoo.export.tflite import TFLITE_MODES, run_tflite
from ganzoo.layers import ImagePool, InstanceNormalization, ReflectionPadding2D
from ganzoo.recipes import load_recipe
from ganzoo.schedules import HoldThenLinearDecay
from ganzoo.training import load_trained_model, resume, runs, train
from ganzoo.training.callbacks import StopAtStep

FACE2ANIME = SHARED_DATA / "cyclegan" / "face2anime_64.zip"


def seed(i: int) -> tf.Tensor:
    return tf.constant([3, i], tf.int64)


def test_image_pool_fills_first_then_swaps_about_half_the_time():
    pool = ImagePool(4)
    pool.build((None, 1))
    first = pool(tf.constant([[1.0], [2.0], [3.0]]), seed(0)).numpy()
    np.testing.assert_array_equal(first, [[1.0], [2.0], [3.0]])  # filling: the inputs come back
    assert int(pool.count.numpy()) == 3
    second = pool(tf.constant([[4.0], [5.0]]), seed(1)).numpy()
    assert second[0, 0] == 4.0  # the 4th image still fills the pool
    assert int(pool.count.numpy()) == 4
    returned_old = 0
    for i in range(2, 402):
        new = 100.0 + i
        before = set(pool.images.numpy()[:, 0])
        out = float(pool(tf.constant([[new]]), seed(i)).numpy()[0, 0])
        after = set(pool.images.numpy()[:, 0])
        if out == new:
            assert after == before  # the new image is returned, the pool is unchanged
        else:
            returned_old += 1
            assert out in before and after == (before - {out}) | {new}  # swapped for a stored one
    assert 160 <= returned_old <= 240, returned_old  # probability 1/2 over 400 draws
    assert int(pool.count.numpy()) == 4


def test_image_pool_of_size_zero_passes_images_through_and_is_deterministic():
    images = tf.random.uniform((3, 2, 2, 1))
    empty = ImagePool(0)
    empty.build(images.shape)
    np.testing.assert_array_equal(empty(images, seed(0)), images)
    runs = []
    for _ in range(2):
        pool = ImagePool(2)
        pool.build(images.shape)
        runs.append([pool(images + k, seed(k)).numpy() for k in range(5)])
    np.testing.assert_array_equal(np.array(runs[0]), np.array(runs[1]))


def test_instance_norm_and_reflection_padding_against_numpy():
    x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5, 6, 3)).astype("float32")
    y = InstanceNormalization(epsilon=1e-5)(x).numpy()
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    padded = ReflectionPadding2D(2)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))


def test_loss_pieces_and_schedule_against_hand_computed_values():
    target = np.array([[[0.0, 1.0]], [[2.0, -2.0]]], np.float32)
    output = np.array([[[1.0, 1.0]], [[0.0, 0.0]]], np.float32)
    np.testing.assert_allclose(losses.mean_absolute_error(target, output), [0.5, 2.0])
    logits = np.array([[0.0, 2.0], [1.0, 1.0]], np.float32)
    np.testing.assert_allclose(losses.least_squares_generator(logits), [1.0, 0.0])  # mean (D - 1)^2
    np.testing.assert_allclose(losses.lsgan_discriminator(logits, logits), [0.5 * (1.0 + 2.0), 0.5 * (0.0 + 1.0)])
    schedule = HoldThenLinearDecay(2e-4, 100)
    rates = [float(schedule(step)) for step in (0, 50, 75, 100, 150)]
    np.testing.assert_allclose(rates, [2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-12)


def test_first_step_losses_by_hand_and_xla_steps_follow_the_same_path_as_graph_steps():
    """The first step's logged losses equal the losses computed by hand from the networks. The
    recipes train under XLA: the compiled step must draw the same pool choices and compute the
    same losses as TensorFlow's graph, step by step, from the same weights."""
    rng = np.random.default_rng(0)
    batches = [tuple(rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32") for _ in range(2)) for _ in range(4)]
    histories, models = {}, {}
    for jit in (False, True):
        keras.utils.set_random_seed(1)
        model = ganzoo.create_model("cyclegan", "tiny", pool_size=4)
        model.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                      d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), jit_compile=jit)
        if not jit:  # by hand, before the first update (a pool returns the first batch it is fed)
            a, b = batches[0]
            G, F, D_b, D_a = model.generator, model.generator_ba, model.discriminator, model.discriminator_a
            l1 = lambda x, y: np.mean(np.abs(x - y.numpy()), axis=(1, 2, 3))  # noqa: E731
            cycle = l1(a, F(G(a))) + l1(b, G(F(b)))
            identity = l1(a, F(a)) + l1(b, G(b))
            adversarial = np.mean((D_b(G(a)).numpy() - 1) ** 2, axis=(1, 2, 3)) + np.mean((D_a(F(b)).numpy() - 1) ** 2, axis=(1, 2, 3))
        histories[jit] = [model.train_on_batch(*batch, return_dict=True) for batch in batches]
        models[jit] = model
    first = histories[False][0]
    assert first["cycle_loss"] == pytest.approx(cycle.mean(), rel=1e-4)
    assert first["identity_loss"] == pytest.approx(identity.mean(), rel=1e-4)
    assert first["g_loss"] == pytest.approx((adversarial + 10 * (cycle + 0.5 * identity)).mean(), rel=1e-4)
    for graph_logs, xla_logs in zip(histories[False], histories[True]):
        for name in ("g_loss", "d_loss", "cycle_loss", "identity_loss"):
            assert xla_logs[name] == pytest.approx(graph_logs[name], rel=1e-4), name
    # Pools of 4 fed batches of 4: full after the first step, then each image swapped at random.
    # Another choice would move whole images (differences of order 1); where the graph runs oneDNN
    # kernels (AVX-512 CPUs) they round differently from XLA's, ~1e-3 after four steps.
    for pool in ("pool_a", "pool_b"):
        assert int(getattr(models[True], pool).count.numpy()) == int(getattr(models[False], pool).count.numpy()) == 4
        np.testing.assert_allclose(*(getattr(models[jit], pool).get_weights()[0] for jit in (False, True)), atol=1e-2)
    for name in ("generator", "discriminator_a"):
        for x, y in zip(*(getattr(models[jit], name).get_weights() for jit in (False, True))):
            np.testing.assert_allclose(x, y, atol=2e-4, err_msg=name)


def test_translate_any_allowed_size_and_name_a_wrong_one():
    model = ganzoo.create_model("cyclegan", "tiny")
    images = np.random.default_rng(0).integers(0, 256, (2, 20, 12, 3), dtype=np.uint8)
    for direction in ("a2b", "b2a"):
        out = model.translate(images, direction)
        assert out.shape == images.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(model.translate(images[0], "b2a"), model.translate(images, "b2a")[0])
    with pytest.raises(GanzooError, match="image is 18x12x3: cyclegan needs 3 channels and a height and width that are multiples of 4"):
        model.translate(images[:, :18])
    with pytest.raises(ValueError, match="direction must be 'a2b' or 'b2a'"):
        model.translate(images, "ab")
    assert not hasattr(model, "generate") and not hasattr(model, "latent_dim")  # it maps images, it samples nothing


def test_unpaired_data_from_the_zip_is_resumable(tmp_path):
    a, b = load_unpaired(f"zip:{FACE2ANIME}", (32, 32, 3), split="test")
    assert a.shape == b.shape == (200, 32, 32, 3) and a.dtype == np.uint8
    assert abs(float(a.mean()) - float(b.mean())) > 1.0  # two different domains
    whole = [(x.numpy(), y.numpy()) for x, y in unpaired_dataset(a, b, 8, seed=5).take(4)]
    resumed = [(x.numpy(), y.numpy()) for x, y in unpaired_dataset(a, b, 8, seed=5, start_step=3).take(1)]
    np.testing.assert_array_equal(whole[3][0], resumed[0][0])
    np.testing.assert_array_equal(whole[3][1], resumed[0][1])
    with pytest.raises(DataError, match="no images in a trainA/ folder"):
        load_unpaired(f"folder:{tmp_path}", (32, 32, 3))


def test_tfds_cycle_gan_pairs_feed_the_horse2zebra_recipe(tmp_path):
    import tensorflow_datasets as tfds

    # cycle_gan/* cannot be downloaded here; mock_data serves random images of random sizes
    # from the dataset's own feature spec and splits (trainA, trainB, testA, testB).
    recipe = load_recipe(REPO / "recipes" / "cyclegan_horse2zebra.toml", [
        "model.preset=tiny", f'data.data_dir="{tmp_path}"', "train.steps=2", "train.steps_per_epoch=2",
        "train.batch_size=2", "train.jit_compile=false"])
    with tfds.testing.mock_data(num_examples=4, policy=tfds.testing.MockPolicy.USE_CODE):
        a, b = load_unpaired(recipe.data.source, (32, 32, 3), split="test", data_dir=str(tmp_path))
        run_dir = train(recipe, out=tmp_path / "runs", verbose=0)
    assert a.shape == b.shape == (4, 32, 32, 3) and a.dtype == np.uint8
    assert "tfds:cycle_gan/horse2zebra (train: 4 A and 4 B images)" in (run_dir / "run.log").read_text()
    assert int(load_trained_model(run_dir).g_optimizer.iterations) == 2


def test_short_training_on_faces_and_anime_lowers_the_cycle_loss(tmp_path):
    recipe = load_recipe(REPO / "recipes" / "cyclegan_face2anime.toml", [
        "model.preset=tiny", f'data.source="zip:{FACE2ANIME}"', "train.steps=120", "train.steps_per_epoch=20",
        "train.batch_size=4", "train.jit_compile=false", "optimizer.generator.learning_rate=1e-3",
        "optimizer.discriminator.learning_rate=1e-3", "logging.log_every_steps=20"])
    run_dir = train(recipe, out=tmp_path, verbose=0)
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    cycle = [h["cycle_loss"] for h in history if "cycle_loss" in h]
    print(f"cycle loss per 20 steps: {np.round(cycle, 3).tolist()}")
    assert cycle[-1] < 0.7 * cycle[0], cycle
    model = load_trained_model(run_dir)
    lr = model.g_optimizer.learning_rate
    assert float(lr) == pytest.approx(0.0, abs=1e-9)  # linearly to zero at the last step
    panel = (run_dir / "samples.png").read_bytes()
    image = tf.io.decode_png(panel).numpy()
    # Six columns (A, G(A), F(G(A)), B, F(B), G(F(B))) by the 8 preview rows of each domain,
    # 32 px images with make_grid's 2 px padding.
    assert image.shape[:2] == (8 * 34 + 2, 6 * 34 + 2)


def test_resumed_run_matches_an_uninterrupted_one_pools_and_decay_included(tmp_path):
    # 12 steps of batch 4 with a pool of 8: the pools fill in 2 steps and swap from then on, and
    # the learning rates decay over steps 6-12, so a resume at step 8 must restore both pools,
    # both optimizers, all four networks and the unpaired data streams where they were.
    overrides = ["model.preset=tiny", f'data.source="zip:{FACE2ANIME}"', "train.steps=12", "train.steps_per_epoch=4",
                 "train.batch_size=4", "train.jit_compile=false", "logging.log_every_steps=4"]
    recipe = load_recipe(REPO / "recipes" / "cyclegan_face2anime.toml", overrides)
    straight = train(recipe, out=tmp_path / "a", verbose=0)
    # Stopped after its checkpoint at step 8 with the 12-step plan kept (--max-steps would
    # record 8 steps, and the decay would end there).
    interrupted = train(recipe, out=tmp_path / "b", callbacks=[StopAtStep(8)], verbose=0)
    (interrupted / runs.MODEL_FILE).unlink()
    resume(interrupted, verbose=0)
    history = [json.loads(line) for line in (interrupted / runs.HISTORY_FILE).read_text().splitlines()]
    assert [h["step"] for h in history] == [4, 8, 12]
    a, b = load_trained_model(straight), load_trained_model(interrupted)
    assert int(b.pool_a.count.numpy()) == int(b.pool_b.count.numpy()) == 8
    assert float(b.g_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    for name in ("generator", "generator_ba", "discriminator", "discriminator_a", "pool_a", "pool_b"):
        weights_a, weights_b = getattr(a, name).get_weights(), getattr(b, name).get_weights()
        assert len(weights_a) == len(weights_b) > 0
        for x, y in zip(weights_a, weights_b):
            np.testing.assert_array_equal(x, y, err_msg=name)
    for x, y in zip(a.d_optimizer.variables, b.d_optimizer.variables):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_export_both_directions_as_signatures_and_tflite_files_verified(tmp_path):
    # Untrained tiny generators' full int8 lands at 25.5 +- 1 dB on verify-export's inputs (8 seeds,
    # 3 of 16 files under the 25 dB gate): a seed whose files clear it by > 1 dB (26.8 / 26.4).
    keras.utils.set_random_seed(5)
    model = ganzoo.create_model("cyclegan", "tiny")
    model.compile()
    model_file = tmp_path / "cyclegan.keras"
    model.save(model_file)
    base = tmp_path / "saved_models"
    result = CliRunner().invoke(main, ["export", str(model_file), "--base", str(base), "--tflite", ",".join(TFLITE_MODES)])
    assert result.exit_code == 0, result.output
    version = base / "cyclegan" / "1"
    assert sorted(p.name for p in (version / "tflite").iterdir()) == sorted(
        f"cyclegan.{d}.{m}.tflite" for d in ("a2b", "b2a") for m in TFLITE_MODES)
    # verify-export loads every artifact in a fresh process, as a server or a phone would.
    verified = subprocess.run([sys.executable, "-m", "ganzoo.cli", "verify-export", str(version)], capture_output=True, text=True)
    print(verified.stdout)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-2000:]
    rows = [line.split() for line in verified.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 3 + 2 * len(TFLITE_MODES) and all(row[-1] == "ok" for row in rows)

    loaded = tf.saved_model.load(str(version))
    assert set(loaded.signatures) == {"serving_default", "a2b", "b2a"}
    images = np.random.default_rng(1).integers(0, 256, (3, 16, 24, 3), dtype=np.uint8)
    for direction in ("a2b", "b2a"):
        served = loaded.signatures[direction](image=tf.constant(images))["images"].numpy()
        assert np.abs(served.astype(int) - model.translate(images, direction).astype(int)).max() <= 1
        x = images.astype(np.float32) / 127.5 - 1.0
        tflite = run_tflite(version / "tflite" / f"cyclegan.{direction}.float32.tflite", {"image": x})["images"]
        np.testing.assert_allclose(tflite, model.translator(direction)(x), atol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="image must be a uint8 tensor .* multiples of 4"):
        loaded.signatures["b2a"](image=tf.constant(images[:, :14]))


def test_the_int8_form_keeps_the_function_and_rescues_full_int8(tmp_path, monkeypatch):
    """Trained generators' conv channels differ widely in size (face2anime's first conv: standard
    deviations 0.04 to 2.1; simulated here by rescaling each normalised conv's output channels
    over 0.03..3); the export's equalised convolutions give the same float function and a clearly
    better full-int8 file than converting the layers as they are."""
    import contextlib

    from ganzoo.export.gates import psnr
    from ganzoo.export.tflite import export_tflite
    from ganzoo.tasks import task_of
    from ganzoo.tasks.translation import int8_form, normalized_convolutions

    keras.utils.set_random_seed(3)
    model = ganzoo.create_model("cyclegan", "tiny")
    rng = np.random.default_rng(0)
    pairs = [pair for d in ("a2b", "b2a") for pair in normalized_convolutions(model.translator(d))]
    assert len(pairs) == 2 * (1 + 2 + 2 * 2 + 2)  # head, two down, two per residual block, two up
    for conv, _ in pairs:
        spread = np.exp(rng.uniform(np.log(0.03), np.log(3.0), conv.filters)).astype("float32")
        transposed = isinstance(conv, keras.layers.Conv2DTranspose)
        conv.kernel.assign(conv.kernel * (spread[:, None] if transposed else spread))
        conv.bias.assign(rng.normal(0, 1, conv.filters).astype("float32") * spread)
    coarse = rng.uniform(-1, 1, (4, 4, 4, 3)).astype("float32")
    x = tf.image.resize(coarse, (32, 32), method="bicubic").numpy().clip(-1, 1)
    expected = {d: model.translator(d)(x).numpy() for d in ("a2b", "b2a")}
    task = task_of(model)
    with int8_form(model, np.concatenate([s["image"] for s in task.calibration_inputs(model)])):
        assert all(norm.int8_epsilon.max() / norm.int8_epsilon.min() > 10 for _, norm in pairs)
        for d in ("a2b", "b2a"):
            np.testing.assert_allclose(model.translator(d)(x), expected[d], atol=2e-5)
    assert all(norm.int8_epsilon is None for _, norm in pairs)
    for d in ("a2b", "b2a"):  # nothing left behind
        np.testing.assert_array_equal(model.translator(d)(x), expected[d])

    def int8_psnr(folder):
        paths = export_tflite(model, tmp_path / folder, ["int8"], "m")
        return min(psnr(run_tflite(p, {"image": x})["images"], expected[p.name.split(".")[1]]) for p in paths)

    equalised = int8_psnr("equalised")
    monkeypatch.setattr(type(task), "tflite_form", lambda self, model, mode: contextlib.nullcontext())
    as_is = int8_psnr("as_is")
    assert equalised > as_is + 2.0, (equalised, as_is)  # measured 29.9 vs 6.9 dB


def test_translate_command_writes_images_of_any_size(tmp_path):
    keras.utils.set_random_seed(3)
    model = ganzoo.create_model("cyclegan", "tiny")
    model.compile()
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    inputs = []
    for name, shape in (("odd", (23, 17, 3)), ("wide", (12, 40, 3))):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        (tmp_path / f"{name}.png").write_bytes(tf.io.encode_png(image).numpy())
        inputs.append((name, image))
    result = CliRunner().invoke(main, ["translate", str(tmp_path / "m.keras"), "--direction", "b2a", "--out", str(tmp_path / "out"),
                                       *(str(tmp_path / f"{name}.png") for name, _ in inputs)])
    assert result.exit_code == 0, result.output
    for name, image in inputs:
        written = tf.io.decode_png((tmp_path / "out" / f"{name}_b2a.png").read_bytes()).numpy()
        assert written.shape == image.shape
        np.testing.assert_array_equal(written, model.translate_any_size(image, "b2a"))
    # --size: the shorter side scaled to 16 pixels first, aspect kept (12 x 40 -> 16 x 53).
    result = CliRunner().invoke(main, ["translate", str(tmp_path / "m.keras"), "--direction", "b2a", "--size", "16",
                                       "--out", str(tmp_path / "sized"), str(tmp_path / "wide.png")])
    assert result.exit_code == 0, result.output
    written = tf.io.decode_png((tmp_path / "sized" / "wide_b2a.png").read_bytes()).numpy()
    assert written.shape == (16, 53, 3)
    np.testing.assert_array_equal(written, model.translate_any_size(imresize(inputs[1][1], output_shape=(16, 53)), "b2a"))
    # A size that is already allowed is translated as it is.
    np.testing.assert_array_equal(model.translate_any_size(inputs[1][1], "b2a"), model.translate(inputs[1][1], "b2a"))
    result = CliRunner().invoke(main, ["translate", str(tmp_path / "m.keras"), "--out", str(tmp_path / "o"), str(tmp_path / "m.keras")])
    assert result.exit_code == 1 and "cannot read image" in result.output and "Traceback" not in result.output


def test_bench_cyclegan_prints_cycle_psnr_and_domain_verdicts(tmp_path):
    args = ["bench", "cyclegan", "--minutes", "0.1", "--classifier-epochs", "1", "--out", str(tmp_path),
            "--override", "model.preset=tiny", "--override", f'data.source="zip:{FACE2ANIME}"',
            "--override", "train.jit_compile=false", "--override", "train.steps_per_epoch=10"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "200 A and 200 B images" in result.output
    rows = {line.split()[0] + line.split()[2]: line.split()[3:] for line in lines if line.startswith(("A -> B", "B -> A"))}
    assert set(rows) == {"AB", "BA"}
    for called, psnr in rows.values():
        assert 0.0 <= float(called.rstrip("%")) <= 100.0 and 5.0 < float(psnr) < 60.0
    steps = int(next(line for line in lines if line.startswith("run ")).split(" steps")[0].split()[-1])
    assert 0 < steps < 2000  # stopped by the budget, not the recipe's step count
