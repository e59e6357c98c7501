"""SRGAN / SRResNet: any-size upscaling, training on real patches (T91) that raises Set5 PSNR, the
two-stage recipe flow, the VGG content loss and its one-line error."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import SHARED_DATA

import ganzoo
from ganzoo import actions
from ganzoo.cli import main
from ganzoo.errors import GanzooError, WrongTask
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.super_resolution import evaluate_upscaler, load_sr_set
from ganzoo.recipes import load_recipe
from ganzoo.training import load_trained_model, train

SR = SHARED_DATA / "sr"


def tiny_sr_recipe(tmp_path, name: str, steps: int, overrides: str, extra_model: str = "") -> object:
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[model]
name = "srgan"
preset = "tiny"
overrides = {{ {overrides} }}
{extra_model}

[data]
source = "folder:{SR / 'T91'}"
max_examples = 512

[train]
steps = {steps}
batch_size = 16
steps_per_epoch = {steps}
seed = 0
jit_compile = false

[optimizer.generator]
learning_rate = 2e-3

[optimizer.discriminator]
learning_rate = 2e-3
""")
    return load_recipe(path)


def test_generator_upscales_any_size_by_the_scale():
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("srgan", "tiny")
    for height, width in [(7, 5), (1, 1), (16, 9)]:
        lr = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        sr = model.upscale(lr)
        assert sr.shape == (4 * height, 4 * width, 3) and sr.dtype == np.uint8
    assert model.upscale(np.zeros((2, 3, 5, 3), np.uint8)).shape == (2, 12, 20, 3)
    with pytest.raises(ValueError, match="power of two"):
        ganzoo.create_model("srgan", "tiny", scale=3)


def test_srresnet_training_raises_set5_psnr_then_srgan_continues_from_it(tmp_path):
    set5 = load_sr_set(SR / "Set5")
    recipe = tiny_sr_recipe(tmp_path, "srresnet", 150, "content_loss = \"mse\", adversarial_weight = 0.0")
    keras.utils.set_random_seed(0)
    start = evaluate_upscaler(ganzoo.create_model("srgan", "tiny").upscale, set5, 4)["psnr"]
    run_dir = train(recipe, out=tmp_path / "runs", verbose=0)
    model = load_trained_model(run_dir)
    trained = evaluate_upscaler(model.upscale, set5, 4)["psnr"]
    print(f"tiny SRResNet Set5 PSNR: {start:.2f} dB at init -> {trained:.2f} dB after 150 steps")
    assert trained > start + 5 and trained > 20

    # Stage 2: SRGAN starts from that generator and adds the adversarial term.
    srgan_recipe = tiny_sr_recipe(tmp_path, "srgan", 3, "content_loss = \"mse\", adversarial_weight = 1e-3",
                                  f'init_generator = "{run_dir}"')
    srgan_dir = train(srgan_recipe, out=tmp_path / "runs", verbose=0)
    history = (srgan_dir / "history.jsonl").read_text()
    assert '"d_loss"' in history and '"content_loss"' in history
    srgan = load_trained_model(srgan_dir)
    after = evaluate_upscaler(srgan.upscale, set5, 4)["psnr"]
    assert after > trained - 3  # three small steps from the SRResNet weights, not from scratch

    result = CliRunner().invoke(main, ["evaluate-sr", str(run_dir), "--set", str(SR / "Set5")])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(str(run_dir)))
    assert float(row.split()[-2]) == pytest.approx(trained, abs=1e-3)  # printed to 3 decimals

    # Export of the trained generator: any LR size served, every TFLite mode within its gate.
    result = CliRunner().invoke(main, ["export", str(run_dir), "--base", str(tmp_path / "exports"), "--tflite",
                                       "float32,float16,dynamic,int8"])
    assert result.exit_code == 0, result.output
    version_dir = tmp_path / "exports" / "srgan" / "1"
    result = CliRunner().invoke(main, ["verify-export", str(version_dir)])
    assert result.exit_code == 0, result.output
    assert sum(line.endswith("ok") for line in result.output.splitlines()) == 7  # 3 signatures + 4 TFLite modes
    served = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    lr = set5[1].lr  # bird: 72x72
    np.testing.assert_allclose(served(image=tf.constant(lr[None]))["images"].numpy()[0].astype(int),
                               model.upscale(lr).astype(int), atol=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="image"):  # the error names the input
        served(image=tf.constant(lr))
    png = tf.saved_model.load(str(version_dir)).signatures["upscale_png"](image_bytes=tf.io.encode_png(lr))["png_bytes"]
    assert tf.io.decode_png(png).shape == (288, 288, 3)


def test_vgg_content_loss_from_a_weights_file_and_its_one_line_error(tmp_path):
    weights = tmp_path / "vgg19_notop.weights.h5"
    keras.applications.VGG19(include_top=False, weights=None).save_weights(weights)
    model = ganzoo.create_model("srgan", "tiny", content_loss="vgg22", vgg_weights=str(weights))
    model.compile()
    rng = np.random.default_rng(0)
    lr = rng.uniform(-1, 1, (4, 8, 8, 3)).astype("float32")
    hr = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    logs = model.train_on_batch(lr, hr, return_dict=True)
    assert np.isfinite(logs["content_loss"]) and logs["content_loss"] > 0 and "d_loss" in logs
    with pytest.raises(GanzooError, match="needs VGG19 ImageNet weights.*vgg_weights"):
        ganzoo.create_model("srgan", "tiny", content_loss="vgg54", vgg_weights=str(tmp_path / "missing.h5"))


def test_tiled_upscaling_equals_the_whole_image_and_the_command_writes_pngs(tmp_path):
    keras.utils.set_random_seed(3)
    model = ganzoo.create_model("srgan", "tiny")
    rng = np.random.default_rng(1)
    lr = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    whole = model.upscale(lr)
    for tile in (8, 16, 100):
        tiled = model.upscale_tiled(lr, tile=tile)
        # Float sums in another order can move a value across a rounding boundary: one level at most.
        assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1, tile
    # Too little context (margin 0) would show the tile seams.
    model.receptive_margin = lambda: 0
    assert np.abs(model.upscale_tiled(lr, tile=8).astype(int) - whole.astype(int)).max() > 1
    del model.receptive_margin

    model_file = tmp_path / "sr.keras"
    model.save(model_file)
    image = tmp_path / "lr.png"
    image.write_bytes(tf.io.encode_png(lr).numpy())
    result = CliRunner().invoke(main, ["upscale", str(model_file), str(image), "--out", str(tmp_path / "sr.png"), "--tile", "16"])
    assert result.exit_code == 0, result.output
    written = tf.io.decode_png((tmp_path / "sr.png").read_bytes()).numpy()
    assert written.shape == (148, 116, 3) and np.abs(written.astype(int) - whole.astype(int)).max() <= 1
    result = CliRunner().invoke(main, ["upscale", str(model_file), str(image), str(image), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "several images were given: give a folder" in result.output
    dcgan_file = tmp_path / "dcgan.keras"
    ganzoo.create_model("dcgan", "tiny").save(dcgan_file)
    result = CliRunner().invoke(main, ["upscale", str(dcgan_file), str(image), "--out", str(tmp_path / "y.png")])
    with pytest.raises(WrongTask) as raised:  # the library checks the loaded model; the CLI, its config first
        actions.upscale(dcgan_file, [image], tmp_path / "y.png")
    assert result.exit_code == 1 and result.output == f"Error: {raised.value}\n"
    assert str(raised.value) == f"{dcgan_file} holds a dcgan (generation model), not a super-resolution model"
    result = CliRunner().invoke(main, ["evaluate", str(model_file), "--num", "100"])  # sample statistics: not for srgan
    with pytest.raises(WrongTask) as raised:
        evaluate(model_file, ["fid"], num=100)
    assert result.exit_code == 1 and result.output == f"Error: {raised.value}\n"


def test_bench_sr_trains_both_stages_for_their_budget_and_prints_psnr_beside_bicubic(tmp_path):
    overrides = ["model.preset=tiny", "train.batch_size=4", "data.max_examples=64", f'data.source="folder:{SR / "T91"}"',
                 "train.jit_compile=false", "train.steps_per_epoch=10"]
    args = ["bench", "sr", "--set", str(SR / "Set5"), "--srresnet-minutes", "0.15", "--srgan-minutes", "0.1",
            "--out", str(tmp_path)] + [a for o in overrides for a in ("--override", o)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    stages = {row[0]: row for row in (line.split() for line in lines) if len(row) == 8 and row[1] == "tiny"}
    steps = {name: int(row[3]) for name, row in stages.items()}
    assert set(steps) == {"SRResNet", "SRGAN"}
    assert all(0 < s < 100000 for s in steps.values()), steps  # stopped by the time budget, not the recipe's steps
    psnr = {row.split()[0]: float(row.split()[1]) for row in lines[lines.index(next(x for x in lines if x.startswith("Set5"))) + 2:]}
    assert abs(psnr["bicubic"] - 28.43) < 0.05 and np.isfinite(psnr["SRResNet"]) and np.isfinite(psnr["SRGAN"]), result.output
    srgan_run = stages["SRGAN"][-1]
    assert str(stages["SRResNet"][-1]) in (tmp_path / srgan_run.split("/")[-1] / "recipe.toml").read_text()
