"""The `ganzoo` command. Each command parses its arguments and calls one library function;
a GanzooError becomes a one-line message and exit status 1.

Nothing heavy is imported here: `ganzoo --help`, `ganzoo CMD --help` and `ganzoo list` answer
without loading TensorFlow, and commands that need it load it quietly (ganzoo/tf_runtime.py).
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path

import click

from ganzoo import kinds

# Arguments answered before TensorFlow loads (seconds), by parameter name: (module, checking function).
EARLY_CHECKS = {
    "resume_dir": ("ganzoo.training.runs", "check_run_dir"),
    "version_dir": ("ganzoo.export.saved_model", "check_export_dir"),
    "tflite": ("ganzoo.export.tflite", "parse_modes"),
    "metric_names": ("ganzoo.metrics.registry", "parse_metrics"),
    "served": ("ganzoo.bench.serve", "check_served_source"),
}


def one_line_errors(command=None, *, tensorflow: bool = True, model: str = "run", tasks: tuple[str, ...] = (),
                    option_tasks: dict[str, tuple[str, ...]] | None = None, labels: tuple[str, str] | None = None,
                    class_label: str | None = None, metrics: str | None = None):
    """Runs a command body (after TensorFlow is loaded, when it needs it), turning GanzooError
    into a one-line message. `model` names the argument, if any, that locates a trained model;
    `tasks` are the kinds of model the command takes, `option_tasks` those an option takes when
    it is given (ganzoo/kinds.py); `labels` = (argument, what asks for them): when that argument
    is given, the model must be conditional; `class_label` names the argument, if any, that is
    one of the model's classes; `metrics` the argument, if any, that lists metrics the model's
    kind must give. The library checks all of them again."""
    if command is None:
        return functools.partial(one_line_errors, tensorflow=tensorflow, model=model, tasks=tasks,
                                 option_tasks=option_tasks, labels=labels, class_label=class_label, metrics=metrics)

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from ganzoo import zoo
        from ganzoo.errors import GanzooError, Unconditional, WrongTask
        from ganzoo.training.runs import check_model_location

        try:
            # An unknown zoo:NAME, a model path that holds no model or a model of the wrong kind,
            # a missing or malformed RECIPE file, an unknown --set key and the EARLY_CHECKS are
            # answered before TensorFlow loads.
            for name, (module, function) in EARLY_CHECKS.items():
                if kwargs.get(name):
                    getattr(importlib.import_module(module), function)(kwargs[name])
            for value in kwargs.values():
                if zoo.entry_name(value) is not None:
                    zoo.load_entry(zoo.entry_name(value))
            if kwargs.get(model) is not None and zoo.entry_name(kwargs[model]) is None:
                check_model_location(kwargs[model])
            entry = zoo.catalog_entry_at(kwargs[model]) if kwargs.get(model) is not None and (tasks or labels) else None
            if entry is not None:  # None: the catalog cannot tell, the library's checks answer
                source = str(kwargs[model])
                kind_checks = [(source, tasks)] + [(f"{option}: {source}", option_kinds) for option, option_kinds
                                                   in (option_tasks or {}).items() if kwargs.get(option) is not None]
                for what, allowed in kind_checks:
                    if allowed and entry.task not in allowed:
                        raise WrongTask(what, entry.name, entry.task, allowed)
                if labels and kwargs.get(labels[0]) is not None and not entry.conditional:
                    raise Unconditional(labels[1], source, entry.name)
                if class_label and kwargs.get(class_label) is not None:
                    check_class_label(class_label, kwargs[class_label], source)
                if metrics and kwargs.get(metrics):  # names parsed by EARLY_CHECKS; here: ones the kind gives
                    from ganzoo.metrics.registry import parse_metrics
                    from ganzoo.tasks import get_task

                    get_task(entry.task).check_metrics(parse_metrics(kwargs[metrics]))
            if isinstance(kwargs.get("recipe"), Path):
                from ganzoo.recipes import check_recipe_keys

                check_recipe_keys(kwargs["recipe"], list(kwargs.get("assignments", ())))
            if tensorflow:
                from ganzoo.tf_runtime import load_tensorflow

                load_tensorflow(verbose=bool(click.get_current_context().find_root().params.get("verbose")))
            return command(*args, **kwargs)
        except GanzooError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def check_class_label(option: str, label: int, source: str) -> None:
    """LABEL is one of the classes of the model at SOURCE, where they can be told without TensorFlow."""
    from ganzoo import zoo
    from ganzoo.errors import NotAClass
    from ganzoo.training.runs import model_config_at

    name = zoo.entry_name(source)
    config = zoo.load_entry(name).get("config") if name else model_config_at(source)
    num_classes = (config or {}).get("num_classes")
    if isinstance(num_classes, int) and num_classes > 0 and not 0 <= label < num_classes:
        raise NotAClass(option, source, label, num_classes)


@click.group()
@click.version_option(package_name="ganzoo")
@click.option("--verbose", is_flag=True, help="Show TensorFlow's own log lines (hidden by default).")
def main(verbose: bool) -> None:
    """ganzoo: train, sample, evaluate and export GANs built on Keras 3."""


@main.command("list")
@one_line_errors(tensorflow=False)
def list_command() -> None:
    """Models in the zoo: their kind (task), presets and what they are."""
    from ganzoo.registry import builtin_catalog

    for entry in builtin_catalog():
        click.echo(f"{entry.name:14s} {entry.task:17s} presets: {', '.join(entry.presets):34s} {entry.summary}")


@main.command()
@click.argument("recipe", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a recipe key, e.g. train.batch_size=32.")
@click.option("--max-steps", type=int, help="Train at most this many steps (recorded in the run's recipe).")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path), help="Where run directories go.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), help="Continue this run directory from its last checkpoint.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Train in this directory instead of a new one under --out; if it holds a run of the same recipe, continue it (restart-safe; needed for multi-worker).")
@one_line_errors
def train(recipe, assignments, max_steps, out, resume_dir, run_dir) -> None:
    """Train RECIPE (a TOML file) in a new run directory runs/<NNNNN>-<recipe>/."""
    from ganzoo.recipes import load_recipe
    from ganzoo.training import resume, runs
    from ganzoo.training import train as train_recipe

    if resume_dir is not None:
        if recipe or assignments or max_steps or run_dir:
            raise click.UsageError("--resume takes no recipe, --set, --max-steps or --run-dir: the run's recipe is used")
        run_dir = resume(resume_dir)
    else:
        if recipe is None:
            raise click.UsageError("give a RECIPE file or --resume RUN_DIR")
        run_dir = train_recipe(load_recipe(recipe, list(assignments)), out=out, max_steps=max_steps, run_dir=run_dir)
    click.echo(f"run directory: {run_dir}")
    kept = runs.best_record(run_dir)
    if kept is not None:  # where a run rose late, its best point is one path away
        click.echo(f"best checkpoint: {run_dir / runs.BEST_DIR} ({kept['metric']} {kept['value']:.4g} at step "
                   f"{kept['step']}; every command takes it as a model)")


@main.command()
@click.argument("source", metavar="SOURCE")
@click.option("--num", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--label", type=int, help="Conditional models: the class of every sample (default: classes in turn).")
@click.option("--truncation", type=click.FloatRange(0, 1), help="Style models: truncation psi (1 = none, 0 = the average image).")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="A .png grid, a .npz of uint8 images, or a folder (one PNG per image); any --num streams to the last two.")
@one_line_errors(model="source", tasks=kinds.SAMPLE, option_tasks={"truncation": kinds.TRUNCATION}, labels=("label", "label"),
                class_label="label")
def sample(source, num, seed, label, truncation, out) -> None:
    """Generate images from SOURCE (a run directory or its best/, a .keras file or zoo:NAME)."""
    from ganzoo.actions import sample as sample_images

    click.echo(f"wrote {sample_images(source, out, num, seed, label, truncation)}")


def parse_seeds(text: str) -> list[int]:
    from ganzoo.errors import GanzooError

    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise GanzooError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise GanzooError("give at least one seed")
    return seeds


@main.command("style-mix")
@click.argument("run", metavar="RUN")
@click.option("--rows", required=True, help="Seeds whose coarse styles fill each row, e.g. 1,2,3.")
@click.option("--cols", required=True, help="Seeds whose fine styles fill each column.")
@click.option("--crossover", default=3, show_default=True, type=click.IntRange(min=1), help="First layer whose w comes from the column.")
@click.option("--truncation", default=1.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A .png file.")
@one_line_errors(tasks=kinds.STYLE_MIX)
def style_mix(run, rows, cols, crossover, truncation, out) -> None:
    """Style-mixing grid from a stylegan_lite RUN: column images on top, row images on the left."""
    from ganzoo.actions import style_panel

    click.echo(f"wrote {style_panel(run, out, 'mix', rows=parse_seeds(rows), cols=parse_seeds(cols), crossover=crossover, truncation_psi=truncation)}")


@main.command()
@click.argument("run", metavar="RUN")
@click.option("--seeds", required=True, help="Latent seeds visited in turn, e.g. 1,2,3.")
@click.option("--steps", default=8, show_default=True, type=click.IntRange(min=2), help="Frames per pair of seeds.")
@click.option("--truncation", default=1.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A .png strip (one row per pair).")
@one_line_errors(tasks=kinds.INTERPOLATE)
def interpolate(run, seeds, steps, truncation, out) -> None:
    """Latent interpolation strip from a stylegan_lite RUN (straight lines in w) or a gan3d RUN (renders)."""
    from ganzoo.actions import style_panel

    click.echo(f"wrote {style_panel(run, out, 'interpolate', seeds=parse_seeds(seeds), steps=steps, truncation_psi=truncation)}")


@main.command()
@click.argument("source", metavar="SOURCE")
@click.option("--per-class", required=True, type=click.IntRange(min=1), help="Images of every class.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for synthetic.npz.")
@one_line_errors(model="source", labels=("per_class", "synthesize"))
def synthesize(source, per_class, seed, out) -> None:
    """Write a labelled synthetic dataset from a conditional model (SOURCE: a run directory or its best/, a .keras file or zoo:NAME)."""
    from ganzoo.actions import synthesize as write_synthetic

    path = write_synthetic(source, out, per_class, seed)
    click.echo(f"wrote {path} (uint8 'images' and int32 'labels'; read it with tf.data or data.source = \"npz:{path}\")")


@main.command()
@click.argument("source", metavar="SOURCE")
@click.option("--name", help="Model name under the base directory (default: the model's registry name, or NAME for zoo:NAME).")
@click.option("--base", default="saved_models", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--tflite", metavar="MODES", help="Also write TFLite files: any of float32,float16,dynamic,int8.")
@click.option("--max-pixels", type=click.IntRange(min=1), help="Image-input signatures refuse larger images (default 4194304 = 2048 x 2048).")
@one_line_errors(model="source")
def export(source, name, base, tflite, max_pixels) -> None:
    """Export SOURCE (a run directory or its best/, a .keras file or zoo:NAME) for TF Serving: <base>/<name>/<version>/."""
    from ganzoo.actions import export as export_source

    version_dir = export_source(source, base=base, name=name, tflite=tflite, max_pixels=max_pixels)
    click.echo(f"exported {version_dir}")
    for path in sorted((version_dir / "tflite").glob("*.tflite")):
        click.echo(f"  {path.name}: {path.stat().st_size / 1024:.1f} KiB")


@main.command("verify-export")
@click.argument("version_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="LiteRT threads.")
@one_line_errors
def verify_export_command(version_dir, threads) -> None:
    """Check every format in VERSION_DIR against the Keras model; exit 1 if a gate fails."""
    from ganzoo.errors import GanzooError
    from ganzoo.export import format_checks, verify_export

    checks = verify_export(version_dir, threads=threads)
    click.echo(format_checks(checks))
    failed = [f"{c.artifact} {c.signature}" for c in checks if not c.passed]
    if failed:
        raise GanzooError(f"{len(failed)} gate(s) failed: {', '.join(failed)}")


@main.command()
@click.argument("run", metavar="RUN")
@click.option("--metrics", "metric_names", help="Any of fid,kid,is,pr,coverage (default: those of fid,kid,pr,coverage the model's kind gives).")
@click.option("--num", default=10000, show_default=True, type=click.IntRange(min=10), help="Generated images (and real ones).")
@click.option("--extractor", help="inception or classifier:<source> (default: classifier for MNIST-like data, else inception).")
@click.option("--split", default="test", show_default=True, help="Real split the samples are compared with.")
@click.option("--data", "data_source", help="Real data source (default: the run's recipe).")
@click.option("--inception-weights", type=click.Path(dir_okay=False), help="InceptionV3 ImageNet weights file (.h5).")
@click.option("--seed", default=0, show_default=True, type=int)
@one_line_errors(tasks=kinds.EVALUATE, metrics="metric_names")
def evaluate(run, metric_names, num, extractor, split, data_source, inception_weights, seed) -> None:
    """Measure RUN (a run directory or its best/, a .keras file or zoo:NAME); appends to the run's metrics.jsonl."""
    from ganzoo.metrics.evaluate import evaluate as evaluate_run
    from ganzoo.metrics.evaluate import format_result
    from ganzoo.metrics.registry import parse_metrics

    metrics = parse_metrics(metric_names) if metric_names is not None else None  # None: the model's kind's default
    result = evaluate_run(run, metrics, num=num, extractor=extractor, split=split, seed=seed,
                          inception_weights=inception_weights, data_source=data_source)
    click.echo(format_result(result))


@main.command("evaluate-sr")
@click.argument("run", required=False, metavar="RUN")
@click.option("--set", "set_dirs", multiple=True, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A benchmark set: DIR/HR/*.png (+ DIR/LR_bicubic_x4/). Repeatable.")
@click.option("--scale", default=4, show_default=True, type=click.IntRange(min=2))
@one_line_errors(tasks=kinds.SUPER_RESOLUTION)
def evaluate_sr(run, set_dirs, scale) -> None:
    """PSNR/SSIM (Y channel, border shaved) of RUN's super-resolution model beside bicubic upscaling."""
    from ganzoo.actions import evaluate_sr as evaluate_sets
    from ganzoo.metrics.super_resolution import format_sr_rows

    for set_name, rows in evaluate_sets(run, list(set_dirs), scale).items():
        click.echo(format_sr_rows(set_name, rows))


@main.command()
@click.argument("run", metavar="RUN")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="A .png file (one image) or a directory.")
@click.option("--tile", default=128, show_default=True, type=click.IntRange(min=8), help="LR tile size (bounds memory).")
@one_line_errors(tasks=kinds.SUPER_RESOLUTION)
def upscale(run, images, out, tile) -> None:
    """Upscale IMAGES (PNG/JPEG, any size) with RUN's super-resolution model, tile by tile."""
    from ganzoo.actions import upscale as upscale_files

    for path in upscale_files(run, list(images), out, tile):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("run", metavar="RUN")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--tile", default=256, show_default=True, type=click.IntRange(min=4), help="Pixels per tile side (a multiple of 4; bounds memory).")
@click.option("--size", type=click.IntRange(min=4), metavar="PIXELS",
              help="First resize each image so its shorter side is PIXELS (e.g. 64 for a model trained on 64 px faces).")
@one_line_errors(tasks=kinds.TRANSLATE)
def translate(run, images, direction, out, tile, size) -> None:
    """Translate IMAGES (PNG/JPEG, any size) with RUN's translation model (cyclegan)."""
    from ganzoo.actions import translate as translate_files

    for path in translate_files(run, list(images), out, direction, tile, size):
        click.echo(f"wrote {path}")


@main.group()
def data() -> None:
    """Datasets that tensorflow-datasets does not carry (recipes read them as fetch:NAME)."""


@data.command("list")
@one_line_errors(tensorflow=False)
def data_list_command() -> None:
    """The dataset catalogue: name, size, licence, and whether it is in the cache."""
    from ganzoo.data.catalog import DATASETS, fetched_path

    for entry in DATASETS.values():
        where = fetched_path(entry.name)
        state = f"in {where}" if where.exists() else ("downloadable" if entry.url else "no public download")
        click.echo(f"{entry.name:16s} {entry.size_bytes / 2**20:7.1f} MiB  {state}\n"
                   f"{'':16s} {entry.description}\n{'':16s} licence: {entry.licence}")


@data.command("fetch")
@click.argument("name")
@click.option("--from", "local_copy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Register this local copy (checked against the pinned sha256) instead of downloading.")
@one_line_errors(tensorflow=False)
def data_fetch_command(name, local_copy) -> None:
    """Download dataset NAME from its public home into the cache (sha256-checked)."""
    from ganzoo.data.catalog import fetch, get_dataset

    entry = get_dataset(name)
    click.echo(f"{entry.name}: {entry.description}\nlicence: {entry.licence}\nfrom: {local_copy or entry.url or entry.home}")
    path = fetch(name, local_copy)
    click.echo(f"in {path} (recipes: data.source = \"fetch:{name}\")")


@main.group(invoke_without_command=True)
@click.pass_context
def zoo(ctx) -> None:
    """Trained models that load in one line (ganzoo.from_pretrained, zoo:NAME); lists them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(zoo_list_command)


@zoo.command("list")
@one_line_errors(tensorflow=False)
def zoo_list_command() -> None:
    """The zoo's entries with what ganzoo measured of each."""
    from ganzoo import zoo as zoo_entries

    names = zoo_entries.entry_names()
    if not names:
        click.echo(f"no entries in {zoo_entries.zoo_dir()}")
    for name in names:
        entry = zoo_entries.load_entry(name)
        click.echo(f"zoo:{name:28s} {entry['model']:14s} {entry['headline']}")


@zoo.command("publish")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="The entry's name (zoo:NAME).")
@click.option("--num", default=10000, show_default=True, type=click.IntRange(min=10), help="Generated (and real) images for FID/KID.")
@click.option("--sr-set", "sr_sets", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Super-resolution: a benchmark set folder (Set5, Set14). Repeatable.")
@click.option("--dtype", default="auto", show_default=True, type=click.Choice(["auto", "float16", "float32"]),
              help="Weight storage; auto: float16 unless it moves a measured figure.")
@click.option("--zoo-dir", type=click.Path(file_okay=False, path_type=Path), help="Where entries go (default: the package's zoo).")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Regenerate this README's zoo table.")
@one_line_errors
def zoo_publish_command(run, name, num, sr_sets, dtype, zoo_dir, readme) -> None:
    """Measure RUN (or its best/) with its task's protocol and write it into the zoo as NAME."""
    from ganzoo.zoo.publish import publish

    entry_file = publish(run, name, zoo_dir=zoo_dir, dtype=dtype, readme=readme, num=num, sr_sets=list(sr_sets))
    click.echo(f"wrote {entry_file}")


@zoo.command("cards")
@click.argument("names", nargs=-1)
@click.option("--images", is_flag=True, help="Also redraw the sample grids, from the shipped weights.")
@click.option("--sr-set", "sr_sets", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Super-resolution grids: a benchmark set folder to crop from.")
@click.option("--zoo-dir", type=click.Path(file_okay=False, path_type=Path), help="Whose entries (default: the package's zoo).")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Regenerate this README's zoo table.")
@one_line_errors
def zoo_cards_command(names, images, sr_sets, zoo_dir, readme) -> None:
    """Rewrite the model cards and headlines of NAMES (default: every entry) from their entries'
    measurements, measuring nothing and leaving the weights as they are (after the card's template
    or a headline's wording changed)."""
    from ganzoo.zoo.publish import refresh_cards

    for path in refresh_cards(list(names), zoo_dir, images, readme=readme, sr_sets=list(sr_sets)):
        click.echo(f"wrote {path}")


@main.group()
def metrics() -> None:
    """Feature extractors for the metrics."""


@metrics.command("train-classifier")
@click.argument("source")
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--max-examples", type=click.IntRange(min=100), help="Use only the first N images of each split.")
@one_line_errors
def train_classifier_command(source, epochs, max_examples) -> None:
    """Train and cache the feature classifier for a labelled SOURCE (e.g. mnist or tfds:mnist)."""
    from ganzoo.metrics.extractors import train_metric_classifier

    source = source if ":" in source else f"tfds:{source}"
    path, info = train_metric_classifier(source, epochs=epochs, max_examples=max_examples)
    click.echo(f"{path}: test accuracy {info['test_accuracy']:.4f} ({info['train_examples']} training images, "
               f"{info['epochs']} epochs, weights sha256 {info['weights_sha256']})")


@main.group()
def bench() -> None:
    """Benchmarks (figures are recorded in benchmarks/RESULTS.md)."""


@bench.command("export")
@click.argument("source", required=False, metavar="SOURCE")
@click.option("--model", "model_name", default="dcgan", show_default=True, help="Zoo model when no SOURCE is given.")
@click.option("--preset", default="mnist", show_default=True, help="Preset when no SOURCE is given (random weights).")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--repeats", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="LiteRT threads (XNNPACK).")
@one_line_errors(model="source")
def bench_export_command(source, model_name, preset, batch, repeats, threads) -> None:
    """Per-image latency and file size of the SavedModel and each TFLite mode."""
    import platform

    from ganzoo.bench.export import bench_export, format_rows

    what, rows = bench_export(source, model_name, preset, batch=batch, repeats=repeats, threads=threads)
    click.echo(f"{what}: batch {batch}, {repeats} timed calls, LiteRT {threads} threads, {platform.processor() or platform.machine()}")
    click.echo(format_rows(rows))


@bench.command("train")
@click.argument("model_name", metavar="MODEL")
@click.option("--preset", default=None, help="Preset (default: mnist when the model has one, else tiny).")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--steps", default=60, show_default=True, type=click.IntRange(min=2), help="Timed steps per contender.")
@click.option("--warmup", default=20, show_default=True, type=click.IntRange(min=1), help="Untimed steps first (tracing, XLA).")
@click.option("--jit-compile/--no-jit-compile", default=None, help="Override ganzoo's default.")
@click.option("--steps-per-execution", type=click.IntRange(min=1), help="Override ganzoo's default.")
@click.option("--updates", type=click.Choice(["alternating", "simultaneous"]), help="Override the model's default update order.")
@click.option("--mixed-precision", type=click.Choice(["float32", "mixed_float16", "mixed_bfloat16"]),
              help="Override ganzoo's default (float32).")
@click.option("--profile", "profile_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also trace 10 steps of each contender into this folder and print where their time goes.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a key of the recipe ganzoo's contender is built from, e.g. model.overrides.r1_schedule=sub_batch.")
@one_line_errors
def bench_train_command(model_name, preset, batch, steps, warmup, jit_compile, steps_per_execution, updates,
                        mixed_precision, profile_dir, assignments) -> None:
    """Training images/sec of MODEL (and, for dcgan and gan3d, of a keras-io-style loop of the same networks) in one process."""
    from ganzoo.bench.train import bench_train, format_bench_train

    window = max(1, steps // 6)
    result = bench_train(model_name, preset, batch, warmup=warmup, window=window, windows=steps // window,
                         jit_compile=jit_compile, steps_per_execution=steps_per_execution, updates=updates,
                         mixed_precision=mixed_precision, profile_dir=profile_dir, assignments=list(assignments))
    click.echo(format_bench_train(result))


@bench.command("serve")
@click.argument("served", metavar="SOURCE")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="LiteRT threads (XNNPACK).")
@click.option("--repeats", default=100, show_default=True, type=click.IntRange(min=3), help="Timed batch-1 calls per format.")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1), help="Batch of the throughput figure.")
@one_line_errors
def bench_serve_command(served, threads, repeats, batch) -> None:
    """Latency, throughput and size of an export (SOURCE: version dir) or of a model (a run, a .keras file, zoo:NAME) exported in every mode."""
    import platform

    from ganzoo.bench.serve import bench_serve, format_serve

    what, rows = bench_serve(served, threads=threads, repeats=repeats, throughput_batch=batch)
    click.echo(f"{what}: LiteRT {threads} threads, {repeats} batch-1 calls, {platform.machine()} {os.cpu_count()} cores")
    click.echo(format_serve(rows, batch))


@bench.command("quality")
@click.option("--models", default="vanilla,dcgan", show_default=True, help="Models whose <model>_mnist.toml recipe is trained.")
@click.option("--datasets", default="mnist,fashion_mnist", show_default=True, help="tfds datasets (labelled).")
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=1), help="Training steps per run.")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--num", default=5000, show_default=True, type=click.IntRange(min=10), help="Images per metric set.")
@click.option("--preset", help="Override every recipe's preset (e.g. tiny).")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@one_line_errors
def bench_quality_command(models, datasets, steps, batch, num, preset, out) -> None:
    """FID, KID and class coverage of the recipes after the same training budget, in one run."""
    from ganzoo.bench.quality import bench_quality, format_quality

    rows = bench_quality([m.strip() for m in models.split(",") if m.strip()],
                         [d.strip() for d in datasets.split(",") if d.strip()], steps, num, out, batch, preset)
    click.echo(f"{steps} steps x batch {batch} per run; metrics on {num} generated vs {num} real test images, "
               f"classifier features ({rows[0]['extractor'].split(':', 1)[0]} of each dataset)")
    click.echo(format_quality(rows))


@bench.command("sr")
@click.option("--set", "set_dirs", multiple=True, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A benchmark set: DIR/HR/*.png (+ DIR/LR_bicubic_x4/). Repeatable.")
@click.option("--srresnet-minutes", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Wall-clock budget of the SRResNet (MSE) stage, compilation included.")
@click.option("--srgan-minutes", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="Budget of the SRGAN stage that starts from it (0: skip).")
@click.option("--override", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Recipe override for both stages (e.g. model.preset=cpu). Repeatable.")
@click.option("--srresnet-lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate of the SRResNet stage only.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@one_line_errors
def bench_sr_command(set_dirs, srresnet_minutes, srgan_minutes, overrides, srresnet_lr, out) -> None:
    """Train srresnet_x4 then srgan_x4 for a time budget each; PSNR/SSIM beside bicubic."""
    import platform

    from ganzoo.bench.sr import bench_sr, format_bench_sr

    result = bench_sr(list(set_dirs), out, srresnet_minutes, srgan_minutes, list(overrides), srresnet_lr)
    click.echo(f"{platform.machine()} {os.cpu_count()} cores; budgets include graph tracing and XLA compilation")
    click.echo(format_bench_sr(result))


@bench.command("cyclegan")
@click.option("--minutes", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Wall-clock training budget of recipes/cyclegan_face2anime.toml, compilation included.")
@click.option("--override", "overrides", multiple=True, metavar="KEY=VALUE", help="Recipe override. Repeatable.")
@click.option("--classifier-epochs", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@one_line_errors
def bench_cyclegan_command(minutes, overrides, classifier_epochs, out) -> None:
    """Train face2anime for a time budget; cycle PSNR and domain-classifier verdicts on the test split."""
    import platform

    from ganzoo.bench.cyclegan import bench_cyclegan, format_bench_cyclegan

    result = bench_cyclegan(minutes, out, list(overrides), classifier_epochs)
    click.echo(f"{platform.machine()} {os.cpu_count()} cores; the budget includes graph tracing and XLA compilation")
    click.echo(format_bench_cyclegan(result))


@bench.command("time-to-quality")
@click.argument("recipes", nargs=-1, required=True, metavar="RECIPE...")
@click.option("--minutes", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Training budget of each contender (measurements excluded).")
@click.option("--every", "every_s", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds of training between measurements.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds; every contender trains once per seed.")
@click.option("--num", default=10000, show_default=True, type=click.IntRange(min=10), help="Generated and real images per measurement.")
@click.option("--fid", "targets", default="20,10", show_default=True, help="FIDs to report the time to, comma-separated.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override for every recipe. Repeatable.")
@click.option("--reference/--no-reference", default=None, help="Train the keras-io reference too [default: for DCGAN recipes].")
@click.option("--out", default="runs/time_to_quality", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Each measurement gets a new numbered folder here (curves CSV, plot, the runs).")
@one_line_errors
def bench_time_to_quality_command(recipes, minutes, every_s, seeds, num, targets, overrides, reference, out) -> None:
    """FID against training seconds of RECIPEs (names in recipes/, .toml files, or a model's
    MNIST recipe) and, for DCGAN, the keras-io reference: a CSV, a PNG plot and the time to each FID."""
    import platform

    from ganzoo.bench.time_to_quality import (
        bench_time_to_quality,
        format_time_to_quality,
    )
    from ganzoo.errors import GanzooError

    try:
        fids = [float(t) for t in targets.split(",") if t.strip()]
    except ValueError:
        raise GanzooError(f"--fid takes comma-separated numbers, got {targets!r}") from None
    result = bench_time_to_quality(list(recipes), minutes, every_s, parse_seeds(seeds), num, list(overrides), reference, out,
                                   fids)
    click.echo(f"{platform.machine()} {os.cpu_count()} cores; {minutes:g} min of training each, measured every {every_s:g} s "
               f"on {result['measured_on']}")
    click.echo(format_time_to_quality(result, fids))


@bench.command("augment")
@click.argument("source", metavar="SOURCE")
@click.option("--data", "data_source", default="tfds:mnist", show_default=True, help="The real labelled dataset.")
@click.option("--fraction", default=0.01, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--per-class", default=500, show_default=True, type=click.IntRange(min=1), help="Synthetic images per class.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1), help="Epochs over the real fraction.")
@one_line_errors(model="source", labels=("per_class", "synthesize"))
def bench_augment_command(source, data_source, fraction, per_class, epochs) -> None:
    """Classifier test accuracy on a small real fraction, without and with synthetic images."""
    from ganzoo.bench.augment import bench_augment

    rows = bench_augment(source, data_source, None, fraction, per_class, epochs)
    click.echo(f"{'training data':40s} {'test accuracy':>14s}")
    for row in rows:
        click.echo(f"{row['training data']:40s} {row['test accuracy']:14.4f}")
    click.echo(f"synthetic data changes test accuracy by {rows[1]['test accuracy'] - rows[0]['test accuracy']:+.4f}")


if __name__ == "__main__":
    main()
