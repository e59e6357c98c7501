"""Run directories: runs/<NNNNN>-<recipe>/, never overwritten, with a `latest` link."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

RECIPE_FILE = "recipe.toml"
MODEL_FILE = "model.keras"
CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
HISTORY_FILE = "history.jsonl"
SAMPLES_FILE = "samples.png"
RUN_LOG = "run.log"  # one block per start: strategy, replicas, devices, host
METRICS_FILE = "metrics.jsonl"  # one line per evaluation, with its protocol
_RUN_NAME = re.compile(r"^(\d{5})-")


def new_run_dir(out: str | Path, recipe_name: str) -> Path:
    """Creates the next free runs/<NNNNN>-<name>/ (mkdir is atomic: concurrent runs never share one)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    while True:
        numbers = [int(m.group(1)) for p in out.iterdir() if (m := _RUN_NAME.match(p.name))]
        run_dir = out / f"{max(numbers, default=-1) + 1:05d}-{recipe_name}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        point_latest(out, run_dir)
        return run_dir


def point_latest(out: Path, run_dir: Path) -> None:
    link = out / "latest"
    tmp = out / f".latest.tmp{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    except OSError:
        pass  # file systems without symlinks: the numbered directory is what counts


def append_result(run_dir: Path, result: dict) -> None:
    """One evaluation result as a line of the run's metrics.jsonl, on disk before returning."""
    with open(Path(run_dir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())
