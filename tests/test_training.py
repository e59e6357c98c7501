"""Training services: run directories, TensorBoard, checkpoints, resume, NaN stop, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo.errors import TrainingDiverged
from ganzoo.recipes import load_recipe
from ganzoo.training import load_trained_model, resume, runs, train


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / runs.HISTORY_FILE).read_text().splitlines()]


def weights_of(path) -> list[np.ndarray]:
    return [w.copy() for w in keras.saving.load_model(path).get_weights()]


def tensorboard_tags(log_dir: Path) -> set[str]:
    tags = set()
    for event_file in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags |= {value.tag for value in event.summary.value}
    return tags


def test_train_writes_a_complete_run_and_never_overwrites(tiny_recipe, tmp_path):
    recipe = load_recipe(tiny_recipe(steps=10, steps_per_epoch=5, extra="[checkpoint]\nkeep = 1\n"))
    first = train(recipe, out=tmp_path / "runs", verbose=0)
    second = train(recipe, out=tmp_path / "runs", max_steps=4, verbose=0)
    assert first.name == "00000-tiny" and second.name == "00001-tiny"
    assert (tmp_path / "runs" / "latest").resolve() == second.resolve()
    for name in (runs.RECIPE_FILE, runs.MODEL_FILE, runs.SAMPLES_FILE, runs.HISTORY_FILE):
        assert (first / name).is_file(), name
    assert load_recipe(second / runs.RECIPE_FILE).train.steps == 4  # --max-steps is recorded
    assert [h["step"] for h in history(first)] == [5, 10]
    elapsed = [h["elapsed_s"] for h in history(first)]  # training wall time so far, for the model card and zoo
    assert 0 < elapsed[0] <= elapsed[1]
    cpu = [h["cpu_s"] for h in history(first)]  # and the process's CPU time (all threads)
    assert 0 < cpu[0] <= cpu[1]
    assert tf.train.latest_checkpoint(str(first / runs.CHECKPOINT_DIR)).endswith("ckpt-10")
    # keep = 1: ckpt-5 went, and its manifest with it
    assert sorted(p.name for p in (first / runs.CHECKPOINT_DIR).glob("ckpt-*")) == \
        ["ckpt-10.data-00000-of-00001", "ckpt-10.index", "ckpt-10.sha256"]
    tags = tensorboard_tags(first / runs.LOG_DIR)
    assert {"train/d_loss", "train/g_loss", "epoch/d_real", "samples", "run"} <= tags
    model = load_trained_model(first)
    assert int(model.g_optimizer.iterations) == 10 and model.generate(2, seed=0).shape == (2, 16, 16, 1)


# vanilla: Dropout draws its own randomness; stylegan_lite: the tracked w average, the
# path-length mean and the lazy R1 / path-length schedules live outside the networks' weights.
@pytest.mark.parametrize("model, overrides", [
    ("dcgan", {}), ("vanilla", {}), ("stylegan_lite", {"pl_weight": 2.0, "pl_interval": 3, "r1_interval": 3})])
def test_resume_continues_to_the_planned_step_with_identical_weights(tiny_recipe, tmp_path, model, overrides):
    recipe = load_recipe(tiny_recipe(steps=12, steps_per_epoch=4))
    recipe = recipe.replace("model", name=model, overrides=overrides)
    straight = train(recipe, out=tmp_path / "a", verbose=0)
    interrupted = train(recipe, out=tmp_path / "b", max_steps=8, verbose=0)
    # Pretend the run had planned 12 steps and was stopped after the checkpoint at step 8.
    (interrupted / runs.RECIPE_FILE).write_text((straight / runs.RECIPE_FILE).read_text())
    (interrupted / runs.MODEL_FILE).unlink()
    resume(interrupted, verbose=0)
    assert [h["step"] for h in history(interrupted)] == [4, 8, 12]
    for key in ("elapsed_s", "cpu_s"):
        times = [h[key] for h in history(interrupted)]
        assert times[0] <= times[1] < times[2], key  # the resumed run adds its time to the run's
    for a, b in zip(weights_of(straight / runs.MODEL_FILE), weights_of(interrupted / runs.MODEL_FILE)):
        np.testing.assert_array_equal(a, b)


def test_a_run_shorter_than_an_epoch_shows_its_own_length(tiny_recipe, tmp_path, capsys):
    # Keras' progress bar ends on the epoch length: 3 steps of a 5-step epoch printed "5/5".
    train(load_recipe(tiny_recipe(steps=20, steps_per_epoch=5)), out=tmp_path, max_steps=3, verbose=1)
    out = capsys.readouterr().out
    assert "3/3" in out and "5/5" not in out, out[-500:]


def test_a_run_begun_without_cpu_time_resumes_without_inventing_one(tiny_recipe, tmp_path):
    # Runs that began before ganzoo logged CPU time: a resume must not report its own share as the
    # run's total.
    recipe = load_recipe(tiny_recipe(steps=8, steps_per_epoch=4))
    run_dir = train(recipe, out=tmp_path, max_steps=4, verbose=0)
    recipe_file = run_dir / runs.RECIPE_FILE
    recipe_file.write_text(recipe_file.read_text().replace("steps = 4\n", "steps = 8\n"))  # a resume may change steps
    lines = [{k: v for k, v in h.items() if k != "cpu_s"} for h in history(run_dir)]
    (run_dir / runs.HISTORY_FILE).write_text("".join(json.dumps(h) + "\n" for h in lines))
    (run_dir / runs.MODEL_FILE).unlink()
    resume(run_dir, verbose=0)
    resumed = history(run_dir)
    assert [h["step"] for h in resumed] == [4, 8] and resumed[1]["elapsed_s"] > resumed[0]["elapsed_s"]
    assert "cpu_s" not in resumed[1]


class PoisonAtStep(keras.callbacks.Callback):
    """Makes a generator weight NaN once the run passes `step` (a stand-in for divergence)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == self.step:
            kernel = self.model.generator.get_layer("project").kernel
            kernel.assign(kernel.numpy() * np.nan)


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tiny_recipe, tmp_path):
    recipe = load_recipe(tiny_recipe(steps=20, steps_per_epoch=5))
    with pytest.raises(TrainingDiverged, match=r"stopped at step 8: non-finite loss .*ckpt-5"):
        train(recipe, out=tmp_path, callbacks=[PoisonAtStep(7)], verbose=0)
    run_dir = next(tmp_path.glob("00000-*"))
    assert tf.train.latest_checkpoint(str(run_dir / runs.CHECKPOINT_DIR)).endswith("ckpt-5")
    assert not (run_dir / runs.MODEL_FILE).exists()
    good = load_trained_model(run_dir)
    assert all(np.all(np.isfinite(w)) for w in good.get_weights())


def ganzoo_command(*args) -> list[str]:
    return [sys.executable, "-m", "ganzoo.cli", *args]


def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run(tiny_recipe, tmp_path):
    recipe = tiny_recipe(steps=60, steps_per_epoch=10)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    subprocess.run(ganzoo_command("train", str(recipe), "--out", str(tmp_path / "a")), check=True, env=env,
                   capture_output=True)
    process = subprocess.Popen(ganzoo_command("train", str(recipe), "--out", str(tmp_path / "b")), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "b" / "00000-tiny"
    deadline = time.time() + 240
    while time.time() < deadline:
        latest = tf.train.latest_checkpoint(str(run_dir / runs.CHECKPOINT_DIR))
        if latest and int(latest.rsplit("-", 1)[1]) >= 20:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = int(tf.train.latest_checkpoint(str(run_dir / runs.CHECKPOINT_DIR)).rsplit("-", 1)[1])
    assert 20 <= killed_at < 60, "the run should have been killed mid-way"
    assert not (run_dir / runs.MODEL_FILE).exists()
    result = subprocess.run(ganzoo_command("train", "--resume", str(run_dir)), env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert history(run_dir)[-1]["step"] == 60
    straight = weights_of(tmp_path / "a" / "00000-tiny" / runs.MODEL_FILE)
    for a, b in zip(straight, weights_of(run_dir / runs.MODEL_FILE)):
        np.testing.assert_array_equal(a, b)
