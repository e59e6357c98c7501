"""Two replicas (MirroredStrategy on two logical CPU devices) train exactly like one device: the
proof that gradients, losses and metrics are reduced over the global batch, and that replicas
draw different noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganzoo.errors import RecipeError
from ganzoo.training.strategy import resolve_strategy_name

# Float32 sums over two replicas in another order: agreement to ~1e-6 is expected; a gradient
# twice too large or a loss halved by a wrong reduction shows up at 1e-2 and above.
TOLERANCE = 1e-5
# The check runs without TensorFlow's oneDNN kernels (which it turns on for AVX-512 CPUs): their
# per-replica and one-device batch sizes take differently rounding kernels, which six SGD(0.1)
# steps of stylegan_lite amplify to ~1e-4 — noise that would hide the reductions under test.
CHECK_ENV = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"}


@pytest.mark.parametrize(
    "model, loss, overrides",
    [("dcgan", "non_saturating", {}), ("cgan", "hinge", {}), ("vanilla", "wgan_gp", {"d_dropout": 0.0}),
     ("dcgan", "lsgan", {"ema_decay": 0.9}),
     # Lazy R1 and path length (both in tf.cond; the path-length mean is all-reduced), style
     # mixing draws, the tracked w average, minibatch std over groups within one replica; then
     # DiffAugment's draws. (With all of them at once, SGD(0.1) amplifies float rounding between
     # batch-8 and batch-16 kernels to ~1e-4 over six steps: each pair alone matches to 1e-6.)
     ("stylegan_lite", "non_saturating", {"r1_interval": 2, "pl_weight": 2.0, "pl_interval": 2}),
     ("stylegan_lite", "non_saturating", {"augment": "color,translation,cutout"})],
)
def test_two_replicas_match_one_device(model, loss, overrides):
    script = Path(__file__).with_name("distributed_check.py")
    result = subprocess.run([sys.executable, str(script), model, loss, json.dumps(overrides)],
                            capture_output=True, text=True, timeout=300, env=CHECK_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    one, two = runs["default"], runs["mirrored"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["history"].keys() == two["history"].keys()
    for name in one["history"]:
        np.testing.assert_allclose(two["history"][name], one["history"][name], rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=TOLERANCE, atol=TOLERANCE)


def test_auto_strategy_choice(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    assert resolve_strategy_name("auto") == "default"  # this CPU machine
    two_workers = {"cluster": {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(two_workers))
    assert resolve_strategy_name("auto") == "multi_worker"
    monkeypatch.setenv("TPU_NAME", "local")
    assert resolve_strategy_name("auto") == "tpu"
    assert resolve_strategy_name("mirrored") == "mirrored"
    with pytest.raises(RecipeError, match="unknown strategy 'gpu'"):
        resolve_strategy_name("gpu")


def test_multi_worker_needs_a_shared_run_dir_and_run_dirs_hold_one_recipe(tmp_path, monkeypatch):
    from ganzoo.recipes import recipe_from_dict
    from ganzoo.training import train
    from ganzoo.training.trainer import open_run_dir

    raw = {"model": {"name": "dcgan"}, "data": {"source": "tfds:mnist"}, "train": {"steps": 10, "strategy": "multi_worker"}}
    recipe = recipe_from_dict(raw, name="mw")
    two_workers = {"cluster": {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(two_workers))
    with pytest.raises(RecipeError, match="needs --run-dir"):
        train(recipe, out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()

    run_dir = tmp_path / "run"
    open_run_dir(run_dir, recipe)
    open_run_dir(run_dir, recipe)  # the same recipe again: a restart continues the run
    with pytest.raises(RecipeError, match="holds a run of another recipe"):
        open_run_dir(run_dir, recipe.replace("train", steps=20))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RecipeError, match="not a ganzoo run directory"):
        open_run_dir(tmp_path / "other", recipe)
