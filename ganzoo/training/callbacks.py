"""Training services as Keras callbacks: stop at the planned step, stop on NaN, atomic
checkpoints, TensorBoard scalars and sample grids, a JSON-lines history.

Every step number here is the generator optimizer's `iterations`, so curves, checkpoints and
history continue where they left off after a resume.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ganzoo.images import make_grid, to_uint8
from ganzoo.training import checkpoints
from ganzoo.training.runs import (
    BEST_DIR,
    BEST_FILE,
    RUN_LOG,
    append_result,
    best_record,
)


def model_step(model) -> int:
    return int(model.g_optimizer.iterations.numpy())


def finite(logs: dict[str, Any] | None) -> bool:
    return all(math.isfinite(float(np.mean(v))) for v in (logs or {}).values())


class StopAtStep(keras.callbacks.Callback):
    """Ends training at exactly `total_steps` optimizer steps (resumed runs included)."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if model_step(self.model) >= self.total_steps:
            self.model.stop_training = True


class TimeBudget(keras.callbacks.Callback):
    """Ends training after the first step that finishes `seconds` after training began (graph
    tracing and compilation included: a benchmark's budget is wall-clock time)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.started = 0.0

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started >= self.seconds:
            self.model.stop_training = True


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first NaN/Inf loss and remembers where (no checkpoint follows)."""

    def __init__(self):
        super().__init__()
        self.bad_step: int | None = None
        self.bad_logs: dict[str, float] = {}

    def on_train_batch_end(self, batch, logs=None):
        if self.bad_step is None and not finite(logs):
            self.bad_step = model_step(self.model)
            self.bad_logs = {k: float(np.mean(v)) for k, v in (logs or {}).items()}
            self.model.stop_training = True


class CheckpointSaver(keras.callbacks.Callback):
    """Saves a checkpoint (with its sha256 manifest and the recipe; training/checkpoints.py) every
    N epochs and at the end, only when the logs are finite and the step is not the one restored
    or saved last."""

    def __init__(self, manager: tf.train.CheckpointManager, every_epochs: int, guard: NanGuard, start_step: int = 0,
                 recipe_text: str | None = None, run_dir: Path | None = None):
        super().__init__()
        self.manager = manager
        self.every_epochs = every_epochs
        self.guard = guard
        self.saved_step = start_step
        self.recipe_text, self.run_dir = recipe_text, run_dir

    def save(self) -> None:
        from ganzoo.training import checkpoints

        step = model_step(self.model)
        if self.guard.bad_step is None and step != self.saved_step:
            checkpoints.save(self.manager, step, self.recipe_text, self.run_dir)
            self.saved_step = step

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs == 0 and finite(logs):
            self.save()

    def on_train_end(self, logs=None):
        self.save()


class TrainingLogger(keras.callbacks.Callback):
    """TensorBoard scalars every `every_steps`, the task's fixed image panels every epoch
    (`panels()` -> {name: (images in [-1, 1], columns)}), and one JSON line per epoch in
    history.jsonl."""

    def __init__(self, log_dir: Path, history_file: Path, every_steps: int, panels, header: dict):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.history_file = history_file
        self.every_steps = every_steps
        self.panels = panels
        self.header = header
        self.last_logged = -1
        self.started, self.elapsed_before = 0.0, 0.0
        self.cpu_started, self.cpu_before = 0.0, 0.0

    def on_train_begin(self, logs=None):
        # Training wall time and process CPU time so far, across resumes: the last history line's,
        # plus this start's. CPU seconds (all threads) say how much work the run took where the
        # wall clock also counts time it waited behind other processes or was stopped.
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        if self.history_file.is_file():
            lines = [line for line in self.history_file.read_text().splitlines() if line.strip()]
            last = json.loads(lines[-1]) if lines else {}
            # A run begun before ganzoo logged CPU time has none to add to: it keeps logging none.
            self.elapsed_before, self.cpu_before = last.get("elapsed_s", 0.0), last.get("cpu_s", None if last else 0.0)
        text = "\n".join(f"- {k}: {v}" for k, v in self.header.items())
        with self.writer.as_default():
            tf.summary.text("run", text, step=model_step(self.model))
        # run.log: one block per start (a resumed run adds one), next to history.jsonl.
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with open(self.history_file.with_name(RUN_LOG), "a") as run_log:
            run_log.write(f"started {started}\n{text}\n")

    def on_train_batch_end(self, batch, logs=None):
        step = model_step(self.model)
        if step // self.every_steps > self.last_logged // self.every_steps:
            self.last_logged = step
            with self.writer.as_default():
                for name, value in (logs or {}).items():
                    tf.summary.scalar(f"train/{name}", float(np.mean(value)), step=step)

    def on_epoch_end(self, epoch, logs=None):
        step = model_step(self.model)
        values = {k: float(np.mean(v)) for k, v in (logs or {}).items()}
        with self.writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(f"epoch/{name}", value, step=step)
            if finite(logs):
                for name, (images, columns) in self.panels().items():
                    tf.summary.image(name, make_grid(to_uint8(images), columns)[None], step=step)
        self.writer.flush()
        with open(self.history_file, "a") as history:
            elapsed = round(self.elapsed_before + time.perf_counter() - self.started, 1)
            times = {"elapsed_s": elapsed}
            if self.cpu_before is not None:
                times["cpu_s"] = round(self.cpu_before + time.process_time() - self.cpu_started, 1)
            history.write(json.dumps({"epoch": epoch + 1, "step": step, **times, **values}) + "\n")

    def on_train_end(self, logs=None):
        self.writer.flush()


class PeriodicEvaluation(keras.callbacks.Callback):
    """Every N epochs: metrics on fresh samples (fixed seed), into TensorBoard (`metrics/*`) and
    metrics.jsonl; with `keep_best`, the checkpoint with the best value so far is kept in best/
    (best.json says which step and value, and survives a resume)."""

    def __init__(self, session, metrics: list[str], every_epochs: int, run_dir: Path, log_dir: Path,
                 keep_best: str = "", best_manager: tf.train.CheckpointManager | None = None, seed: int = 0):
        super().__init__()
        self.session, self.metrics, self.every_epochs = session, metrics, every_epochs
        self.run_dir, self.keep_best, self.best_manager, self.seed = run_dir, keep_best, best_manager, seed
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.best_file = run_dir / BEST_DIR / BEST_FILE

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs or not finite(logs):
            return
        from ganzoo.metrics.registry import lower_is_better

        result = self.session.measure(self.model, self.metrics, self.seed)
        append_result(self.run_dir, result)
        step = result["step"]
        with self.writer.as_default():
            for name, value in result["metrics"].items():
                tf.summary.scalar(f"metrics/{name}", value, step=step)
        self.writer.flush()
        if self.keep_best and self.keep_best in result["metrics"]:
            value = result["metrics"][self.keep_best]
            best = best_record(self.run_dir)
            lower = lower_is_better(self.keep_best)
            if best is None or (value < best["value"] if lower else value > best["value"]):
                checkpoints.save(self.best_manager, step, run_dir=self.run_dir)  # with its manifest, checked on loading
                from ganzoo.files import atomic_write_bytes

                atomic_write_bytes(self.best_file, json.dumps({"metric": self.keep_best, "value": value, "step": step}).encode())
