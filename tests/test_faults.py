"""Fault injection: damaged checkpoints, a full disk, two processes on one run, edited recipes on
resume, and hostile inputs to the commands. Each ends in one clear line and loses nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from ganzoo.cli import main
from ganzoo.errors import RecipeError, TrainingFailed
from ganzoo.recipes import load_recipe
from ganzoo.training import load_trained_model, resume, runs, train


def one_line_error(result, *fragments):
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


def weights(run_dir):
    return [w.copy() for w in keras.saving.load_model(run_dir / runs.MODEL_FILE).get_weights()]


@pytest.fixture
def twelve_steps(tiny_recipe, tmp_path):
    """A finished 12-step run with checkpoints at 4, 8, 12 and its uninterrupted final weights."""
    recipe = load_recipe(tiny_recipe(steps=12, steps_per_epoch=4))
    run_dir = train(recipe, out=tmp_path / "runs", verbose=0)
    return run_dir, weights(run_dir)


def damage(checkpoint_dir, how):
    data = next(checkpoint_dir.glob("ckpt-12.data-*"))
    if how == "truncated":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif how == "bit-flipped":
        content = bytearray(data.read_bytes())
        content[len(content) // 3] ^= 0x01
        data.write_bytes(bytes(content))
    else:
        data.unlink()


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "deleted"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_newest_intact_one(twelve_steps, how, capsys):
    run_dir, expected = twelve_steps
    (run_dir / runs.MODEL_FILE).unlink()
    damage(run_dir / runs.CHECKPOINT_DIR, how)
    model = load_trained_model(run_dir)  # what `ganzoo sample RUN` loads
    assert int(model.g_optimizer.iterations) == 8
    assert "checkpoint ckpt-12 is unusable" in capsys.readouterr().out
    resume(run_dir, verbose=0)  # trains 8 -> 12 again: the same weights as the uninterrupted run
    out = capsys.readouterr().out
    assert "restored ckpt-8, the newest intact checkpoint, instead" in out
    for a, b in zip(expected, weights(run_dir)):
        np.testing.assert_array_equal(a, b)
    assert sorted(p.name for p in (run_dir / runs.CHECKPOINT_DIR).glob("ckpt-*.index")) == \
        ["ckpt-12.index", "ckpt-4.index", "ckpt-8.index"]  # nothing deleted; 12 written anew


def test_the_command_line_says_it_in_one_line_when_no_checkpoint_is_intact(twelve_steps, tmp_path):
    run_dir, _ = twelve_steps
    (run_dir / runs.MODEL_FILE).unlink()
    for data in (run_dir / runs.CHECKPOINT_DIR).glob("ckpt-*.data-*"):
        data.write_bytes(b"garbage")
    result = CliRunner().invoke(main, ["sample", str(run_dir), "--out", str(tmp_path / "x.png")])
    one_line_error(result, "no intact checkpoint in", "ckpt-12.data-00000-of-00001 is damaged")


def test_a_full_disk_is_one_line_and_the_last_checkpoint_stays(tiny_recipe, tmp_path, monkeypatch):
    recipe = load_recipe(tiny_recipe(steps=12, steps_per_epoch=4))
    original = tf.train.CheckpointManager.save
    calls = []

    def save(self, *args, **kwargs):
        calls.append(kwargs.get("checkpoint_number"))
        if len(calls) == 2:  # the second checkpoint: the device is full
            raise tf.errors.ResourceExhaustedError(None, None, "ckpt-8.data-00000-of-00001; No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    with pytest.raises(TrainingFailed, match=r"no space left on the device writing checkpoint 8 of .*00000-tiny; the last "
                                             r"good checkpoint is ckpt-4, which stays restorable"):
        train(recipe, out=tmp_path / "runs", verbose=0)
    monkeypatch.setattr(tf.train.CheckpointManager, "save", original)
    run_dir = tmp_path / "runs" / "00000-tiny"
    assert int(load_trained_model(run_dir).g_optimizer.iterations) == 4
    resume(run_dir, verbose=0)
    assert int(load_trained_model(run_dir).g_optimizer.iterations) == 12


def test_two_processes_cannot_train_one_run_directory(tiny_recipe, tmp_path):
    """The second stops with a line naming the first; once the first is killed (SIGKILL: the OS
    drops its lock) the run continues."""
    recipe = tiny_recipe(steps=400, steps_per_epoch=50)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "ganzoo.cli", "train", str(recipe), "--run-dir", str(run_dir)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (run_dir / runs.LOCK_FILE).is_file() or b"process" not in (run_dir / runs.LOCK_FILE).read_bytes():
            assert time.time() < deadline and first.poll() is None, "the first run did not start"
            time.sleep(0.2)
        second = subprocess.run(command, capture_output=True, text=True)
        assert second.returncode == 1
        assert f"is being trained by process {first.pid} on" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = subprocess.run(command, capture_output=True, text=True)
    assert third.returncode == 0, third.stderr[-2000:]
    history = [json.loads(line) for line in (run_dir / runs.HISTORY_FILE).read_text().splitlines()]
    assert history[-1]["step"] == 400 and len({h["step"] for h in history}) == len(history)  # no step twice


def test_a_resume_applies_new_learning_rates_and_steps_and_refuses_other_edits(tiny_recipe, tmp_path):
    run_dir = train(load_recipe(tiny_recipe(steps=8, steps_per_epoch=4)), out=tmp_path / "runs", verbose=0)
    recipe_file = run_dir / runs.RECIPE_FILE
    text = recipe_file.read_text()
    assert "learning_rate = 0.001" in text and "steps = 8" in text
    recipe_file.write_text(text.replace("batch_size = 16", "batch_size = 8"))
    with pytest.raises(RecipeError, match=r"train.batch_size changed in .* since the run's last checkpoint \(16 -> 8\)"):
        resume(run_dir, verbose=0)
    edited = text.replace("learning_rate = 0.001", "learning_rate = 0.0005").replace("steps = 8\n", "steps = 12\n")
    recipe_file.write_text(edited)
    resume(run_dir, verbose=0)
    model = load_trained_model(run_dir)
    assert int(model.g_optimizer.iterations) == 12
    assert float(model.g_optimizer.learning_rate) == pytest.approx(5e-4)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(5e-4)
    log = (run_dir / runs.RUN_LOG).read_text()
    assert "recipe changes applied: optimizer.discriminator.learning_rate 0.001 -> 0.0005" in log and "train.steps 8 -> 12" in log


@pytest.mark.parametrize("value, fragment", [("-4", "Negative dimensions"), ('"abc"', "invalid literal")])
def test_bad_model_overrides_are_one_line_and_leave_no_run(tiny_recipe, tmp_path, value, fragment):
    result = CliRunner().invoke(main, ["train", str(tiny_recipe()), "--out", str(tmp_path / "runs"),
                                       "--set", f"model.overrides.latent_dim={value}"])
    one_line_error(result, "model.overrides: dcgan cannot be built with", fragment)
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name != "latest"]
    assert not (tmp_path / "runs" / "latest").exists()


@pytest.mark.parametrize("key, value, fragment", [
    ("optimizer.generator.learning_rate", "inf", "optimizer.generator.learning_rate must be a finite number > 0"),
    ("optimizer.discriminator.learning_rate", "nan", "optimizer.discriminator.learning_rate must be a finite number > 0"),
    ("optimizer.generator.learning_rate", "-1e-3", "must be a finite number > 0"),
    ("train.gp_weight", "nan", "train.gp_weight must be a finite number >= 0"),
])
def test_impossible_numbers_are_refused(tiny_recipe, key, value, fragment):
    one_line_error(CliRunner().invoke(main, ["train", str(tiny_recipe()), "--set", f"{key}={value}"]), fragment)


def test_sources_of_the_wrong_kind_say_so(tiny_recipe, tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    one_line_error(CliRunner().invoke(main, ["train", str(tiny_recipe()), "--set", f'data.source="folder:{tmp_path / "a.png"}"']),
                   "is a file, not a folder")
    one_line_error(CliRunner().invoke(main, ["train", str(tiny_recipe()), "--set", f'data.source="zip:{tmp_path}"']),
                   "is a folder, not a zip file")


def test_files_that_are_not_ganzoo_models(tmp_path):
    (tmp_path / "notes.keras").write_text("not a model")
    one_line_error(CliRunner().invoke(main, ["sample", str(tmp_path / "notes.keras"), "--out", str(tmp_path / "x.png")]),
                   "is not a readable .keras file")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain.save(tmp_path / "plain.keras")
    one_line_error(CliRunner().invoke(main, ["sample", str(tmp_path / "plain.keras"), "--out", str(tmp_path / "x.png")]),
                   "holds a Keras Sequential, not a ganzoo model")


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    """A 20000 x 20000 PNG of one colour is a few hundred KB on disk and 1.2 GB decoded."""
    import zlib

    width = height = 20000
    row = b"\x00" + b"\x00" * (3 * width)  # filter byte + black RGB pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    assert bomb.stat().st_size < 2 * 2**20
    import ganzoo

    ganzoo.create_model("srgan", "tiny").save(tmp_path / "sr.keras")
    one_line_error(CliRunner().invoke(main, ["upscale", str(tmp_path / "sr.keras"), str(bomb), "--out", str(tmp_path / "o.png")]),
                   "bomb.png is too large to read")


PEAK_MEMORY = """
import sys
from ganzoo.actions import sample, synthesize
from ganzoo.bench.memory import peak_memory_mib
(sample if sys.argv[1] == "sample" else synthesize)(*sys.argv[2:4], int(sys.argv[4]))
print(int(peak_memory_mib()))
"""


def peak_mib(*args) -> int:
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, *args], capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])


def test_sampling_any_number_streams_in_bounded_memory(tmp_path):
    """65536 tiny images are 67 MB as float32 in memory (before: generate all, then write; 262144
    took 1596 MiB against 535 for 2048); written a batch at a time the peak does not move."""
    import ganzoo

    ganzoo.create_model("dcgan", "tiny").save(tmp_path / "tiny.keras")
    small = peak_mib("sample", str(tmp_path / "tiny.keras"), str(tmp_path / "small.npz"), "1024")
    large = peak_mib("sample", str(tmp_path / "tiny.keras"), str(tmp_path / "large.npz"), "65536")
    assert large - small < 30, (small, large)
    images = np.load(tmp_path / "large.npz")["images"]
    assert images.shape == (65536, 16, 16, 1) and images.dtype == np.uint8
    model = load_trained_model(tmp_path / "tiny.keras")
    # The same samples as generate (to a uint8 level: kernels round batch-dependently).
    assert np.abs(images[:4].astype(int) - ganzoo.images.to_uint8(model.generate(4, seed=0))).max() <= 1
    assert np.abs(images[1030:1032].astype(int) - ganzoo.images.to_uint8(model.generate(1032, seed=0)[1030:])).max() <= 1
    folder = tmp_path / "pngs"
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "tiny.keras"), "--num", "3", "--out", str(folder)])
    assert result.exit_code == 0 and sorted(p.name for p in folder.iterdir()) == ["000000.png", "000001.png", "000002.png"]
    one_line_error(CliRunner().invoke(main, ["sample", str(tmp_path / "tiny.keras"), "--num", "100000", "--out",
                                             str(tmp_path / "grid.png")]), "a PNG grid holds at most 4096 images")


def test_synthetic_datasets_stream_too(tmp_path):
    import ganzoo

    ganzoo.create_model("cgan", "tiny").save(tmp_path / "cgan.keras")
    small = peak_mib("synthesize", str(tmp_path / "cgan.keras"), str(tmp_path / "small"), "100")
    large = peak_mib("synthesize", str(tmp_path / "cgan.keras"), str(tmp_path / "large"), "6400")
    assert large - small < 30, (small, large)
    data = np.load(tmp_path / "large" / "synthetic.npz")
    assert data["images"].shape == (64000, 16, 16, 1) and list(np.bincount(data["labels"])) == [6400] * 10
    assert (np.diff(data["labels"]) >= 0).all()  # classes in blocks
