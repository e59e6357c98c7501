"""`ganzoo bench time-to-quality`: FID against seconds of training for ganzoo's recipes and, for
DCGAN, the keras-io reference (`reference_dcgan.py`), on the same data and CPU, in one process.

Each contender trains for a wall-clock budget; every `every_s` seconds of training the clock
stops, the generator (the EMA one where the recipe keeps it) is measured with one protocol
(classifier features of `num` samples against `num` real test images: FID, KID, class coverage),
and the clock starts again. Graph tracing, checkpoints and the recipe's sample grids count as
training time; the measurements do not and are reported apart.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from ganzoo.errors import GanzooError

METRICS = ["fid", "kid", "coverage"]


@dataclass
class CurvePoint:
    contender: str
    seed: int
    train_s: float  # training seconds up to this measurement, measurements excluded
    steps: int
    images: int
    fid: float
    kid: float  # NaN for a kind that cannot give it (kinds.REFUSED_METRICS)
    classes: int
    eval_s: float  # what this measurement took (off the training clock)


class QualityClock(keras.callbacks.Callback):
    """Measures the model every `every_s` seconds of training time and ends training after
    `budget_s`; time spent measuring is off the clock. `measure(model) -> {fid, kid
    (where the kind gives it), coverage_classes}`; the points are in `self.points`."""

    def __init__(self, name: str, seed: int, measure, every_s: float, budget_s: float, batch: int, on_point=None):
        super().__init__()
        self.name, self.seed, self.measure, self.on_point = name, seed, measure, on_point
        self.every_s, self.budget_s, self.batch = every_s, budget_s, batch
        self.points: list[CurvePoint] = []

    def on_train_begin(self, logs=None):
        self.train_s, self.next_at = 0.0, self.every_s
        self.mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        for value in (logs or {}).values():  # waits for the step's results before reading the clock
            np.asarray(value)
            break
        self.train_s += time.perf_counter() - self.mark
        over = self.train_s >= self.budget_s
        if over or self.train_s >= self.next_at:
            self.record()
            while self.next_at <= self.train_s:
                self.next_at += self.every_s
        if over:
            self.model.stop_training = True
        self.mark = time.perf_counter()

    def on_train_end(self, logs=None):
        if not self.points or self.points[-1].steps != self.step():  # the recipe ended before the budget
            self.record()

    def step(self) -> int:
        return int(self.model.g_optimizer.iterations.numpy())

    def record(self) -> None:
        started = time.perf_counter()
        values = self.measure(self.model)
        step = self.step()
        self.points.append(CurvePoint(self.name, self.seed, self.train_s, step, step * self.batch, values["fid"],
                                      values.get("kid", math.nan), int(values["coverage_classes"]), time.perf_counter() - started))
        if self.on_point:
            self.on_point(self.points[-1])


def find_recipe(name_or_path: str) -> Path:
    """A recipe file, a recipe name in the checkout's recipes/ (`dcgan_mnist`) or a model name
    (its MNIST recipe)."""
    from ganzoo.bench.quality import model_recipe, recipes_dir

    path = Path(name_or_path)
    if path.suffix == ".toml":
        return path
    shipped = recipes_dir()
    if (named := shipped / f"{name_or_path}.toml").is_file():
        return named
    if (found := model_recipe(name_or_path)) is not None:
        return found
    known = ", ".join(sorted(p.stem for p in shipped.glob("*.toml")))
    raise GanzooError(f"no recipe {name_or_path!r}; give a .toml file or one of: {known}")


def check_sampling_recipe(path: Path, overrides: list[str]) -> None:
    """FID measures samples: a recipe for a model that transforms images is refused before
    anything loads or trains (it used to fail on its data or in the first measurement)."""
    from ganzoo import kinds
    from ganzoo.recipes import apply_overrides, read_recipe_file
    from ganzoo.registry import builtin_entry

    name = apply_overrides(read_recipe_file(path), overrides).get("model", {}).get("name")
    entry = builtin_entry(name)
    if entry is not None and entry.task not in kinds.EVALUATE:  # an unknown model: load_recipe names it
        allowed = " or ".join(kinds.EVALUATE)
        raise GanzooError(f"{path} trains a {name} ({entry.task} model); time-to-quality measures the FID of a {allowed} "
                          "model's samples (ganzoo bench sr and ganzoo bench cyclegan measure the others)")


def train_recipe(recipe, seed: int, session_for, every_s: float, budget_s: float, out: Path, on_point=None) -> list[CurvePoint]:
    from ganzoo.tasks import task_of
    from ganzoo.training import train

    recipe = recipe.replace("train", seed=seed)

    def measure(model):
        return session_for(model).measure(model, task_of(model).usable_metrics(METRICS), seed)["metrics"]

    clock = QualityClock(recipe.name, seed, measure, every_s, budget_s, recipe.train.batch_size, on_point)
    train(recipe, out=out, callbacks=[clock], verbose=0)
    return clock.points


def train_reference(recipe, seed: int, session, every_s: float, budget_s: float, on_point=None) -> list[CurvePoint]:
    """The keras-io loop around the recipe's DCGAN networks, with that reference's own settings
    (Adam 2e-4, beta_1 0.5, float32, no EMA) and the recipe's data and batch."""
    from ganzoo.bench.reference_dcgan import build_reference, reference_dataset
    from ganzoo.data.sources import load_images
    from ganzoo.registry import preset_config

    config = {**preset_config(recipe.model.name, recipe.model.preset), **recipe.model.overrides}
    keras.utils.set_random_seed(seed)
    reference = build_reference(config)
    data = recipe.data
    images = load_images(data.source, config["image_shape"], data.split, data.data_dir or None, data.download,
                         data.max_examples).images
    batch = recipe.train.batch_size

    def measure(model):
        noise = np.random.default_rng(seed).standard_normal((session.num, config["latent_dim"])).astype("float32")
        fakes = np.concatenate([np.asarray(model.generator(noise[i:i + 500], training=False))
                                for i in range(0, len(noise), 500)])
        return session.compare(session.features(fakes), METRICS)

    clock = QualityClock("keras-io reference", seed, measure, every_s, budget_s, batch, on_point)
    reference.fit(reference_dataset(images, batch), epochs=1, steps_per_epoch=10**9, callbacks=[clock], verbose=0,
                  shuffle=False)  # the stream is shuffled; Keras warns that it ignores True
    return clock.points


def bench_time_to_quality(recipes: list[str], minutes: float = 10.0, every_s: float = 60.0, seeds=(0,), num: int = 10000,
                          overrides: list[str] = (), reference: bool | None = None, out: Path = Path("runs/time_to_quality"),
                          targets: list[float] = ()) -> dict:
    """Curves of every contender and seed; returns {"points", "csv", "plot", "source"}. The
    reference joins when `reference` is True, or None and the first recipe is a DCGAN."""
    from ganzoo.recipes import load_recipe
    from ganzoo.registry import builtin_entry
    from ganzoo.tasks import get_task, task_of

    paths = [find_recipe(r) for r in recipes]
    for path in paths:
        check_sampling_recipe(path, list(overrides))
    loaded = [load_recipe(path, [*overrides, "evaluation.every_epochs=0"]) for path in paths]
    sources = {r.data.source for r in loaded}
    if len(sources) > 1:
        raise GanzooError(f"the recipes train on different data ({', '.join(sorted(sources))}); one protocol needs one dataset")
    entry = builtin_entry(loaded[0].model.name)
    distance = get_task(entry.task).distance_name if entry else "FID"  # FD for volumes
    if reference is None:
        reference = loaded[0].model.name == "dcgan"
    if reference and loaded[0].model.name != "dcgan":
        raise GanzooError(f"the keras-io reference is a DCGAN; {loaded[0].name} trains {loaded[0].model.name}")
    from ganzoo.training.runs import new_run_dir

    out = new_run_dir(out, "curves")  # a fresh numbered folder: measurements never overwrite each other
    budget_s = minutes * 60
    sessions: dict = {}

    def session_for(model):  # real features per image shape, shared by the contenders (made off the clock)
        shape = tuple(model.image_shape)
        if shape not in sessions:
            data = loaded[0].data
            sessions[shape] = task_of(model).metric_session(model, data.source, num, data_dir=data.data_dir or None,
                                                            train_missing=True)
        return sessions[shape]

    points: list[CurvePoint] = []
    csv_path = out / "time_to_quality.csv"
    with open(csv_path, "w", newline="") as f:  # written as the curves grow: a long run shows its progress
        writer = csv.DictWriter(f, fieldnames=list(CurvePoint.__dataclass_fields__))
        writer.writeheader()

        def on_point(point: CurvePoint) -> None:
            writer.writerow(asdict(point))
            f.flush()

        for seed in seeds:
            for recipe in loaded:
                points += train_recipe(recipe, seed, session_for, every_s, budget_s, out / "runs", on_point)
            if reference:  # after the DCGAN recipe, whose image shape it shares
                points += train_reference(loaded[0], seed, next(iter(sessions.values())), every_s, budget_s, on_point)
    plot_path = plot_curves(points, out / "time_to_quality.png", f"{sources.pop()}: {distance} ({num} real) against training time",
                            targets, distance)
    session = next(iter(sessions.values()), None)
    measured_on = f"{session.num_generated} generated vs {len(session.real.features)}" if session else f"{num} generated vs {num}"
    return {"points": points, "csv": csv_path, "plot": plot_path, "budget_s": budget_s, "out": out, "distance": distance,
            "measured_on": f"{measured_on} real test samples"}


def plot_curves(points: list[CurvePoint], path: Path, title: str, targets: list[float] = (), distance: str = "FID") -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    colors: dict[str, str] = {}
    for (name, _), curve in group(points).items():
        labelled = name in colors  # one legend entry per contender, however many seeds
        color = colors.setdefault(name, f"C{len(colors)}")
        axes.plot([p.train_s for p in curve], [p.fid for p in curve], marker="o", markersize=3, color=color,
                  label=None if labelled else name)
    for target in targets:
        axes.axhline(target, color="gray", linestyle="--", linewidth=0.8)
    axes.set_yscale("log")
    # FIDs span one or two decades: label 1, 2, 3 and 5 of each, not only the powers of ten
    axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 3, 5)))
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))
    axes.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs="all"))
    axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel("training seconds (measurements excluded)")
    axes.set_ylabel(f"{distance} (lower is better)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def group(points: list[CurvePoint]) -> dict[tuple[str, int], list[CurvePoint]]:
    curves: dict[tuple[str, int], list[CurvePoint]] = {}
    for p in points:
        curves.setdefault((p.contender, p.seed), []).append(p)
    return curves


def seconds_to(curve: list[CurvePoint], fid: float) -> float | None:
    """Training seconds at the first measurement at or below `fid` (an upper bound: the curve
    is measured every few seconds), None when never."""
    return next((p.train_s for p in curve if p.fid <= fid), None)


def summarize(points: list[CurvePoint], targets: list[float]) -> list[dict]:
    """Per contender, medians over seeds: the last FID, classes, steps, and seconds to each target
    (None where a seed never reached it); and, beside the reference, the seconds to the
    reference's own last FID as a fraction of the reference's time."""
    curves = group(points)
    names = list(dict.fromkeys(p.contender for p in points))
    reference = {seed: curve for (name, seed), curve in curves.items() if name == "keras-io reference"}
    rows = []
    for name in names:
        mine = {seed: curve for (n, seed), curve in curves.items() if n == name}
        row = {"contender": name, "seeds": len(mine),
               "fid": statistics.median(c[-1].fid for c in mine.values()),
               "classes": statistics.median(c[-1].classes for c in mine.values()),
               "steps": statistics.median(c[-1].steps for c in mine.values()),
               "train_s": statistics.median(c[-1].train_s for c in mine.values()),
               "eval_s": statistics.median(sum(p.eval_s for p in c) for c in mine.values()),
               "to": {t: median_or_none([seconds_to(c, t) for c in mine.values()]) for t in targets}}
        if reference and name != "keras-io reference":
            fractions = [fraction_of_reference(mine[seed], reference[seed]) for seed in mine if seed in reference]
            row["vs_reference"] = median_or_none(fractions)
        rows.append(row)
    return rows


def fraction_of_reference(curve: list[CurvePoint], reference: list[CurvePoint]) -> float | None:
    reached = seconds_to(curve, reference[-1].fid)
    return None if reached is None else reached / reference[-1].train_s


def median_or_none(values: list[float | None]) -> float | None:
    """The median, where every seed has a value (a target one seed missed is not reached)."""
    return None if not values or any(v is None for v in values) else statistics.median(values)


def format_time_to_quality(result: dict, targets: list[float]) -> str:
    rows = summarize(result["points"], targets)
    distance = result.get("distance", "FID")
    heads = [f"s to {distance} {t:g}" for t in targets]
    with_reference = any("vs_reference" in r for r in rows)
    lines = [f"{'contender':28s} {'seeds':>5s} {'steps':>7s} {'train s':>8s} {distance:>8s} {'classes':>7s} "
             + " ".join(f"{h:>12s}" for h in heads) + (f" {'ref FID at':>11s}" if with_reference else "")
             + f" {'eval s':>7s}"]
    for r in rows:
        times = " ".join(f"{'-' if r['to'][t] is None else format(r['to'][t], '.0f'):>12s}" for t in targets)
        vs = r.get("vs_reference")
        vs_text = "" if "vs_reference" not in r else ("not reached" if vs is None else f"{vs:.2f}x time")
        lines.append(f"{r['contender']:28s} {r['seeds']:5d} {r['steps']:7.0f} {r['train_s']:8.0f} {r['fid']:8.2f} "
                     f"{r['classes']:7.0f} {times}" + (f" {vs_text:>11s}" if with_reference else "") + f" {r['eval_s']:7.0f}")
    lines.append("medians over seeds" + (f"; 'ref FID at': training time to the reference's final FID as a fraction "
                                         f"of the reference's {result['budget_s']:.0f} s" if with_reference else ""))
    lines.append(f"curves: {result['csv']}  plot: {result['plot']}")
    return "\n".join(lines)
