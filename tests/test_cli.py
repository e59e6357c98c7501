"""The `ganzoo` command: list, train, sample, and one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import REPO

from ganzoo.cli import main


@pytest.fixture
def cli():
    return CliRunner()


def test_list(cli):
    result = cli.invoke(main, ["list"])
    assert result.exit_code == 0
    assert "dcgan" in result.output and "celeba64" in result.output and "vanilla" in result.output
    kinds = {line.split()[0]: line.split()[1] for line in result.output.splitlines()}
    assert kinds["srgan"] == "super_resolution" and kinds["cyclegan"] == "translation" and kinds["cgan"] == "generation"


def test_train_then_sample_png_and_npz(cli, tiny_recipe, tmp_path):
    result = cli.invoke(main, ["train", str(tiny_recipe()), "--max-steps", "3", "--out", str(tmp_path / "runs"),
                               "--set", "train.batch_size=8"])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "00000-tiny"
    assert f"run directory: {run_dir}" in result.output
    result = cli.invoke(main, ["sample", str(run_dir), "--num", "6", "--seed", "4", "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.uint8
    result = cli.invoke(main, ["sample", str(run_dir / "model.keras"), "--num", "6", "--seed", "4",
                               "--out", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "grid.png"))).numpy()
    assert grid.shape == (2 + 2 * 18, 2 + 3 * 18, 1)  # 3 columns x 2 rows of 16 px, 2 px padding
    np.testing.assert_array_equal(grid[2:18, 2:18], images[0])


def one_line_error(result, fragment):
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.output
    assert "Traceback" not in result.output


def test_bad_recipe_key(cli, tiny_recipe):
    one_line_error(cli.invoke(main, ["train", str(tiny_recipe()), "--set", "train.batchsize=8"]),
                   "unknown recipe key 'train.batchsize'")


def test_missing_recipe_file(cli, tmp_path):
    one_line_error(cli.invoke(main, ["train", str(tmp_path / "none.toml")]), "does not exist")


def test_missing_dataset(cli, tiny_recipe, tmp_path):
    result = cli.invoke(main, ["train", str(tiny_recipe()), "--out", str(tmp_path / "runs"),
                               "--set", f"data.data_dir={tmp_path / 'empty'}", "--set", "data.download=false"])
    one_line_error(result, "tfds dataset 'mnist' is not prepared")


def test_sample_from_something_that_is_not_a_run(cli, tmp_path):
    one_line_error(cli.invoke(main, ["sample", str(tmp_path), "--out", str(tmp_path / "x.png")]),
                   "neither a run directory, a run's best/ nor a .keras file")
    (tmp_path / "m.keras").touch()  # the output's kind is refused before the file is read
    one_line_error(cli.invoke(main, ["sample", str(tmp_path / "m.keras"), "--out", str(tmp_path / "x.jpg")]),
                   "must be a .png grid, a .npz file or a folder")


def test_help_and_list_answer_without_loading_tensorflow(tmp_path):
    """`ganzoo --help`, `ganzoo list`, `ganzoo data list`, every `ganzoo CMD --help`, an unknown
    `zoo:NAME`, a model path that holds no model or a model of the wrong kind (told from a zoo
    entry, a run's recipe or a .keras file's config), a missing or malformed recipe file, an
    unknown recipe key, model, preset or data path, TFLite mode or metric, a metric the model's
    kind cannot give, and a folder that is no run or no export given to resume, verify or bench
    serve must not import TensorFlow or Keras (their import alone takes seconds): measured in a
    fresh process."""
    script = """
import json
import os
import sys
import zipfile
import click
from click.testing import CliRunner
from ganzoo.cli import main

def commands(group, path):
    for name, command in group.commands.items():
        yield path + [name]
        if isinstance(command, click.Group):
            yield from commands(command, path + [name])

runner = CliRunner()
invocations = [["--help"], ["list"], ["data", "list"]] + [path + ["--help"] for path in commands(main, [])]
for args in invocations:
    result = runner.invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
for args in (["sample", "zoo:nope", "--out", "x.png"], ["export", "zoo:nope"], ["translate", "zoo:nope", sys.executable, "--out", "o"]):
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "no zoo entry 'nope'; the zoo has: " in result.output, (args, result.output)
open("bad.toml", "w").write("steps = [")
os.mkdir("sr_run")  # what the early check reads: a run's recipe, a .keras file's config
open("sr_run/recipe.toml", "w").write('[model]\\nname = "srgan"\\n')
with zipfile.ZipFile("cyclegan.keras", "w") as archive:
    archive.writestr("config.json", json.dumps({"module": "ganzoo.models.cyclegan", "class_name": "CycleGAN"}))
os.mkdir("cgan_run")  # classes from the run's preset and overrides, or from the .keras file's config
open("cgan_run/recipe.toml", "w").write('[model]\\nname = "cgan"\\npreset = "tiny"\\noverrides = { num_classes = 3 }\\n')
with zipfile.ZipFile("cgan.keras", "w") as archive:
    archive.writestr("config.json", json.dumps({"module": "ganzoo.models.cgan", "class_name": "ConditionalGAN",
                                                "config": {"num_classes": 5}}))
for args, error in ((["train", "nope.toml"], "recipe file nope.toml does not exist"),
                    (["train", "bad.toml"], "recipe bad.toml is not valid TOML"),
                    (["train", RECIPE, "--set", "train.batchsize=8"], "unknown recipe key 'train.batchsize'"),
                    (["train", RECIPE, "--set", "model.name=dcgna"], "model.name/model.preset: unknown model 'dcgna'"),
                    (["train", RECIPE, "--set", "model.preset=mnits"], "model.name/model.preset: model 'dcgan' has no preset 'mnits'"),
                    (["train", RECIPE, "--set", "data.source=folder:nope"], "data.source: nope does not exist"),
                    (["sample", "runs/latest", "--out", "x.png"], "runs/latest is neither a run directory, a run's best/ nor a .keras file"),
                    (["evaluate", "run.keras"], "run.keras is neither a run directory, a run's best/ nor a .keras file"),
                    (["translate", ".", sys.executable, "--out", "o"], ". is neither a run directory, a run's best/ nor a .keras file"),
                    (["train", "--resume", "."], ". is not a run directory (no recipe.toml)"),
                    (["export", "zoo:dcgan_mnist", "--tflite", "float32,int9"], "unknown TFLite mode 'int9'"),
                    (["evaluate", "zoo:dcgan_mnist", "--metrics", "fid,fdi"], "unknown metric 'fdi'"),
                    (["verify-export", "."], ". is not a ganzoo export"),
                    (["bench", "serve", "."], ". is neither an export version directory, a run directory, a run's best/ nor a .keras file"),
                    (["upscale", "zoo:dcgan_mnist", sys.executable, "--out", "o.png"],
                     "zoo:dcgan_mnist holds a dcgan (generation model), not a super-resolution model"),
                    (["sample", "sr_run", "--out", "x.png"],
                     "sr_run holds a srgan (super_resolution model), not a generation or style or volume model"),
                    (["style-mix", "cyclegan.keras", "--rows", "1", "--cols", "2", "--out", "x.png"],
                     "cyclegan.keras holds a cyclegan (translation model), not a style model"),
                    (["sample", "zoo:dcgan_mnist", "--truncation", "0.5", "--out", "x.png"],
                     "truncation: zoo:dcgan_mnist holds a dcgan (generation model), not a style model"),
                    (["sample", "zoo:dcgan_mnist", "--label", "3", "--out", "x.png"],
                     "label: zoo:dcgan_mnist holds a dcgan, which is unconditional (no classes)"),
                    (["sample", "zoo:cgan_mnist", "--label", "10", "--out", "x.png"], "label: zoo:cgan_mnist has classes 0 to 9, got 10"),
                    (["sample", "cgan_run", "--label", "3", "--out", "x.png"], "label: cgan_run has classes 0 to 2, got 3"),
                    (["sample", "cgan.keras", "--label", "-1", "--out", "x.png"], "label: cgan.keras has classes 0 to 4, got -1"),
                    (["bench", "augment", "sr_run"], "synthesize: sr_run holds a srgan, which is unconditional"),
                    (["evaluate", "zoo:gan3d_shapes32", "--metrics", "fid,kid"], "metrics: kid does not measure volume models"),
                    (["train", RECIPE, "--set", "model.name=gan3d", "--set", "model.preset=tiny", "--set", 'evaluation.metrics="kid"'],
                     "evaluation.metrics: kid does not measure volume models"),
                    (["train", RECIPE, "--set", 'evaluation.metrics="coverage"'],
                     "evaluation.keep_best: 'fid' is not a result of evaluation.metrics 'coverage'; use one of coverage"),
                    (["evaluate", "sr_run"], "sr_run holds a srgan (super_resolution model), not a generation or style or volume model"),
                    (["train", RECIPE, "--set", "model.name=cyclegan", "--set", "model.preset=tiny", "--set", "evaluation.every_epochs=1"],
                     "evaluation.every_epochs: a cyclegan (translation model) is not measured by the statistics of samples")):
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and result.output.startswith("Error: " + error) and len(result.output.splitlines()) == 1, (args, result.output)
loaded = sorted(m for m in ("tensorflow", "keras", "tensorflow_datasets", "scipy") if m in sys.modules)
print(len(invocations), loaded)
"""
    script = script.replace("RECIPE", repr(str(REPO / "recipes" / "dcgan_mnist.toml")))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert int(out[0]) > 20 and out[1:] == ["[]"], out


def test_commands_are_quiet_unless_asked(tmp_path):
    """TensorFlow's start-up lines (absl's, the oneDNN notice) are hidden unless the user sets
    TF_CPP_MIN_LOG_LEVEL or passes --verbose."""
    import ganzoo

    ganzoo.create_model("dcgan", "tiny").save(tmp_path / "m.keras")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "ganzoo.cli", "sample", str(tmp_path / "m.keras"), "--num", "2", "--out", str(tmp_path / "s.npz")]
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    verbose = subprocess.run(command[:3] + ["--verbose"] + command[3:], capture_output=True, text=True, env=env)
    assert verbose.returncode == 0 and quiet.stdout == verbose.stdout


def test_bench_train_is_quiet(tfds_dir):
    """Grappler prints an E-level note from native code when it cannot fuse the keras-io reference's
    LeakyReLU gradient ("remapper failed ..."): harmless, and hidden like TensorFlow's other notes."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"TFDS_DATA_DIR": str(tfds_dir)}
    command = [sys.executable, "-m", "ganzoo.cli", "bench", "train", "dcgan", "--preset", "tiny", "--batch", "8",
               "--steps", "4", "--warmup", "1"]
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and "keras-io reference" in quiet.stdout and quiet.stderr == "", quiet.stderr


def test_int8_export_is_quiet_unless_asked(tmp_path):
    """The TFLite calibrator prints a line from native code ("fully_quantize: 0, ...") on every
    int8 conversion; the command line hides it like TensorFlow's other notes."""
    import ganzoo

    ganzoo.create_model("dcgan", "tiny").save(tmp_path / "m.keras")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "ganzoo.cli", "export", str(tmp_path / "m.keras"), "--base", str(tmp_path / "out"),
               "--tflite", "int8"]
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert (tmp_path / "out" / "dcgan" / "1" / "tflite" / "dcgan.int8.tflite").is_file()
    # Running the file: LiteRT announces its XNNPACK delegate on stderr, hidden the same way.
    verify = subprocess.run([sys.executable, "-m", "ganzoo.cli", "verify-export", str(tmp_path / "out" / "dcgan" / "1")],
                            capture_output=True, text=True, env=env)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    bench = subprocess.run([sys.executable, "-m", "ganzoo.cli", "bench", "serve", str(tmp_path / "out" / "dcgan" / "1"),
                            "--repeats", "3", "--batch", "2"], capture_output=True, text=True, env=env)
    assert bench.returncode == 0 and "TFLite int8" in bench.stdout and bench.stderr == "", bench.stderr
