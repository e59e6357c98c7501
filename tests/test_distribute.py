"""Two replicas (MirroredStrategy on two logical CPU devices) train like one device, to the float
rounding their kernels allow: the proof that gradients, losses and metrics are reduced over the
global batch, and that replicas draw different noise. A control shows the same comparison fails
when the reduction is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganzoo.errors import RecipeError
from ganzoo.training.strategy import resolve_strategy_name

# What separates a reduction bug from float rounding, measured (tests/distributed_check.py, one
# process per setting; TF_ENABLE_ONEDNN_OPTS 0 / 1 x TF_NUM_INTRAOP_THREADS 1 / 2 on a 2-core
# AVX-512 CPU, plus the AMD EPYC): float32 kernels pick their blocking and summation order
# from the CPU, batch size and thread count, and now and then a pre-activation lands on the other
# side of a LeakyReLU's kink in one run, so the *one-device* runs themselves differ between settings
# by as much as the replica runs do. Largest differences, two replicas vs one device, any setting:
#   losses 3.5e-5 (EPYC; 1.1e-6 here), weights 6.8e-5, weight updates 8.3e-4 relative (stylegan_lite
#   + DiffAugment; every other case <= 5e-7 and 2e-6);
# with the losses averaged over the replica's batch instead of the global one (gradients twice too
# large; `--bug`): losses >= 5.9e-2, weights >= 3.4e-2, weight updates >= 0.74 relative.
# The tolerances sit between, >= 12x from each side.
LOSS_TOLERANCE = 1e-3
WEIGHT_TOLERANCE = 1e-3
UPDATE_TOLERANCE = 1e-2  # |updates(2 replicas) - updates(1 device)| / |updates(1 device)|


def two_runs(model, loss, overrides, *flags):
    script = Path(__file__).with_name("distributed_check.py")
    result = subprocess.run([sys.executable, str(script), model, loss, json.dumps(overrides), *flags],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    return runs["default"], runs["mirrored"]


def differences(one, two) -> dict[str, float]:
    """The largest loss and weight differences, and the relative difference of the weight updates."""
    flat = lambda arrays: np.concatenate([np.ravel(np.array(a, np.float64)) for a in arrays])  # noqa: E731
    initial, final_one, final_two = flat(one["initial"]), flat(one["weights"]), flat(two["weights"])
    return {
        "loss": max(float(np.max(np.abs(np.subtract(two["history"][k], one["history"][k])))) for k in one["history"]),
        "weights": float(np.max(np.abs(final_two - final_one))),
        "updates": float(np.linalg.norm(final_two - final_one) / np.linalg.norm(final_one - initial)),
    }


@pytest.mark.parametrize(
    "model, loss, overrides",
    [("dcgan", "non_saturating", {}), ("cgan", "hinge", {}), ("vanilla", "wgan_gp", {"d_dropout": 0.0}),
     ("dcgan", "lsgan", {"ema_decay": 0.9}),
     # Lazy R1 and path length (both in tf.cond; the path-length mean is all-reduced), style
     # mixing draws, the tracked w average, minibatch std over groups within one replica.
     ("stylegan_lite", "non_saturating", {"r1_interval": 2, "pl_weight": 2.0, "pl_interval": 2}),
     # Path length on a slice of every batch: each replica its part of the global draw; and
     # DiffAugment's draws (one run for both: a run takes ~55 s on a 2-core CPU).
     ("stylegan_lite", "non_saturating",
      {"pl_weight": 2.0, "pl_interval": 2, "pl_schedule": "sub_batch", "augment": "color,translation,cutout"}),
     # 3D convolutions, and the adaptive D update: skipped or not by the all-reduced accuracy.
     ("gan3d", "non_saturating", {"adaptive_d_threshold": 0.7})],
)
def test_two_replicas_match_one_device(model, loss, overrides):
    one, two = two_runs(model, loss, overrides)
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["history"].keys() == two["history"].keys()
    found = differences(one, two)
    assert found["loss"] <= LOSS_TOLERANCE and found["weights"] <= WEIGHT_TOLERANCE, found
    assert found["updates"] <= UPDATE_TOLERANCE, found


def test_the_check_catches_gradients_scaled_by_the_replica_batch():
    """The control: the same comparison fails on every count when the losses are averaged over
    the replica's batch instead of the global one."""
    one, two = two_runs("dcgan", "non_saturating", {}, "--bug")
    found = differences(one, two)
    assert found["loss"] > 10 * LOSS_TOLERANCE and found["weights"] > 10 * WEIGHT_TOLERANCE, found
    assert found["updates"] > 10 * UPDATE_TOLERANCE, found


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
    with pytest.raises(RecipeError, match="train.strategy: unknown value 'gpu'"):
        resolve_strategy_name("gpu")


def test_multi_worker_needs_a_shared_run_dir_and_run_dirs_hold_one_recipe(tmp_path, monkeypatch):
    from ganzoo.recipes import recipe_from_dict
    from ganzoo.training import train
    from ganzoo.training.trainer import open_run_dir

    raw = {"model": {"name": "dcgan"}, "data": {"source": "tfds:mnist"}, "train": {"steps": 10, "strategy": "multi_worker"}}
    recipe = recipe_from_dict(raw, name="mw")
    two_workers = {"cluster": {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(two_workers))
    with pytest.raises(RecipeError, match="needs a run directory given by name"):
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
