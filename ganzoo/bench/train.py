"""`ganzoo bench train`: training images/sec of a zoo model with the settings its recipes use,
and, for DCGAN, of the keras-io-style reference (`reference_dcgan.py`), in one process.

Each contender trains `warmup` steps (tracing and XLA compilation, reported as compile time), then
`windows` timed windows of `window` steps; the figure is the median window. The contenders take
turns (two rounds each) because this kind of machine drifts in speed over minutes.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np


@dataclass
class Contender:
    name: str
    model: keras.Model
    dataset: object
    settings: str
    compile_s: float | None = None
    window_images_per_s: list[float] = field(default_factory=list)


class WindowTimer(keras.callbacks.Callback):
    """Wall time at the end of every step (or every execution of steps_per_execution steps)."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[int, float]] = []

    def on_train_begin(self, logs=None):
        self.marks = [(0, time.perf_counter())]

    def on_train_batch_end(self, batch, logs=None):
        for value in (logs or {}).values():  # waits for the step's results
            np.asarray(value)
            break
        self.marks.append((batch + 1, time.perf_counter()))


def run_steps(contender: Contender, steps: int) -> WindowTimer:
    timer = WindowTimer()
    contender.model.fit(contender.dataset, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0, shuffle=False)
    return timer


def window_rates(marks: list[tuple[int, float]], start_step: int, window: int, batch: int) -> list[float]:
    """images/sec over consecutive windows of `window` steps from `start_step` on."""
    rates, begin = [], None
    for step, t in marks:
        if step < start_step:
            continue
        if begin is None:
            begin = (step, t)
        elif step - begin[0] >= window:
            rates.append((step - begin[0]) * batch / (t - begin[1]))
            begin = (step, t)
    return rates


def measure(contenders: list[Contender], batch: int, warmup: int, window: int, windows: int, rounds: int = 2) -> None:
    from ganzoo.tf_runtime import quiet_native_stderr

    for contender in contenders:
        with quiet_native_stderr():  # graph optimisation notes at the first execution (grappler's remapper on LeakyReluGrad)
            timer = run_steps(contender, warmup)
        contender.compile_s = timer.marks[1][1] - timer.marks[0][1]  # first execution: trace + compile + step
    per_round = max(1, windows // rounds)
    for _ in range(rounds):
        for contender in contenders:
            timer = run_steps(contender, per_round * window)
            contender.window_images_per_s += window_rates(timer.marks, 0, window, batch)


def dcgan_reference(config: dict, model, batch: int) -> Contender:
    from ganzoo.bench.reference_dcgan import build_reference, reference_dataset
    from ganzoo.data.sources import benchmark_images

    reference = build_reference(config)
    images, _ = benchmark_images(model.image_shape)
    return Contender("keras-io reference", reference, reference_dataset(images, batch), "compile() defaults")


def gan3d_reference(config: dict, model, batch: int) -> Contender:
    from ganzoo.bench.reference_dcgan import (
        build_reference_3d,
        reference_volume_dataset,
    )
    from ganzoo.data.voxels import procedural_shapes

    reference = build_reference_3d(config)
    volumes = procedural_shapes(512, config["volume_size"]).volumes
    return Contender("plain keras loop", reference, reference_volume_dataset(volumes, batch), "compile() defaults, same networks")


# The baseline each model is timed against, where there is one: the same networks in the loop a
# Keras user writes (keras-io's "DCGAN overriding train_step").
REFERENCES = {"dcgan": dcgan_reference, "gan3d": gan3d_reference}


def bench_train(model_name: str, preset: str | None, batch: int, warmup: int = 20, window: int = 10, windows: int = 6,
                jit_compile: bool | None = None, steps_per_execution: int | None = None,
                updates: str | None = None, mixed_precision: str | None = None,
                profile_dir: Path | None = None, profile_steps: int = 10, assignments: list[str] = ()) -> dict:
    """Rows {name, settings, compile_s, images_per_s, vs_reference} plus the process's peak memory;
    with profile_dir, also a profile of `profile_steps` more steps of each contender (after timing,
    so the profiler does not slow the timed windows). `preset` None: mnist where the model has one,
    else tiny. `assignments` ("key=value", as `ganzoo train --set`) change the recipe ganzoo's
    contender is built from; the reference is built as it always is."""
    from ganzoo.bench.memory import peak_memory_mib
    from ganzoo.models import list_presets, preset_config
    from ganzoo.recipes import TrainSection, apply_overrides, recipe_from_dict
    from ganzoo.tasks import task_of
    from ganzoo.training.trainer import build_model

    presets = list_presets(model_name)  # an unknown model is a one-line error here
    preset = preset or ("mnist" if "mnist" in presets else "tiny")

    if profile_dir is not None:
        from ganzoo.errors import GanzooError

        try:  # before minutes of timing, not after
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise GanzooError(f"profile folder {profile_dir}: cannot create it ({error.strerror})") from None
    defaults = TrainSection(steps=1)
    precision = mixed_precision or defaults.mixed_precision
    spe = defaults.steps_per_execution if steps_per_execution is None else steps_per_execution
    if window % spe:
        window = spe * max(1, round(window / spe))
    jit_setting = defaults.jit_compile if jit_compile is None else jit_compile
    recipe = recipe_from_dict(apply_overrides({
        "model": {"name": model_name, "preset": preset}, "data": {"source": "tfds:mnist"},
        "train": {"steps": 1, "batch_size": batch, "jit_compile": jit_setting, "steps_per_execution": spe,
                  "steps_per_epoch": spe * max(1, round(100 / spe)),  # a recipe's must be a multiple of spe
                  "updates": updates or defaults.updates, "mixed_precision": precision},
    }, list(assignments)), name="bench")
    keras.utils.set_random_seed(0)
    model = build_model(recipe)  # resolves "auto" as a recipe run would
    jit = bool(model.jit_compile)
    dataset, description = task_of(model).bench_dataset(model, batch)
    contenders = [Contender("ganzoo", model, dataset,
                            ", ".join([f"jit_compile={jit}, steps_per_execution={spe}, updates={model.updates}, {precision}",
                                       *assignments]))]
    if model_name in REFERENCES:
        contenders.insert(0, REFERENCES[model_name](preset_config(model_name, preset), model, batch))
    measure(contenders, batch, warmup, window, windows)
    profiles = []
    if profile_dir is not None:
        from ganzoo.bench.profile import profile_steps as trace_steps

        steps = spe * max(1, round(profile_steps / spe))
        for c in contenders:
            logdir = Path(profile_dir) / c.name.split()[0]
            profiles.append((c.name, trace_steps(lambda n, c=c: run_steps(c, n), steps, logdir), logdir))
    base = statistics.median(contenders[0].window_images_per_s)
    rows = []
    for c in contenders:
        rate = statistics.median(c.window_images_per_s)
        rows.append({"name": c.name, "settings": c.settings, "compile_s": c.compile_s, "images_per_s": rate,
                     "vs_first": rate / base})
    return {"model": f"{model_name}/{preset}", "batch": batch, "data": description, "rows": rows,
            "peak_memory_mib": peak_memory_mib(), "window": window, "windows": len(contenders[0].window_images_per_s),
            "profiles": profiles}


def format_bench_train(result: dict) -> str:
    lines = [f"{result['model']}, batch {result['batch']}, data: {result['data']}; median of "
             f"{result['windows']} windows of {result['window']} steps after warm-up",
             f"{'contender':20s} {'images/s':>9s} {'ratio':>6s} {'compile s':>10s}  settings"]
    for r in result["rows"]:
        lines.append(f"{r['name']:20s} {r['images_per_s']:9.1f} {r['vs_first']:5.2f}x {r['compile_s']:10.1f}  {r['settings']}")
    lines.append(f"peak memory of the process: {result['peak_memory_mib']:.0f} MiB")
    if result.get("profiles"):
        from ganzoo.bench.profile import format_profile

        for name, profile, logdir in result["profiles"]:
            lines += ["", format_profile(name, profile), f"  trace (TensorBoard, profile tab): {logdir}"]
    return "\n".join(lines)
