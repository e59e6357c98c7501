"""`ganzoo zoo publish RUN --name NAME`: a trained run becomes a zoo entry.

The run is measured with its task's protocol (`Task.measure`), its generator weights are written
in float16 where that changes no figure beyond the tolerances below (float32 otherwise), measured
again as stored, and the entry (JSON), its model card and a sample grid are written beside the
weights; the README's zoo table is regenerated from all entries.
"""

from __future__ import annotations

import datetime
import io
import json
import platform
import re
import zipfile
from pathlib import Path

import numpy as np

import ganzoo
from ganzoo import zoo
from ganzoo.errors import GanzooError
from ganzoo.files import atomic_write_bytes, file_sha256
from ganzoo.images import encode_png, make_grid, to_uint8
from ganzoo.recipes import load_recipe
from ganzoo.tasks import task_of
from ganzoo.training import load_trained_model, runs
from ganzoo.training.model_card import last_start

TABLE_START, TABLE_END = "<!-- zoo-table -->", "<!-- /zoo-table -->"
# What float16 storage may change, per kind of figure (else the weights are stored in float32).
FID_SLACK = 0.1
PSNR_SLACK_DB = 0.1
SHARE_SLACK = 0.01  # accuracies, coverage, domain verdicts
TFDS_LICENCES = {
    "mnist": "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
    "fashion_mnist": "MIT (Zalando Research)",
    "div2k": "research and academic use (DIV2K, NTIRE 2017)",
    "cycle_gan": "research use (the CycleGAN datasets' sources: ImageNet, Flickr, WikiArt, ...)",
    "celeb_a": "non-commercial research (CelebA)",
}


def data_licence(source: str) -> str:
    kind, _, target = source.partition(":")
    if kind == "fetch":
        from ganzoo.data.catalog import get_dataset

        return get_dataset(target).licence
    if kind == "tfds":
        return TFDS_LICENCES.get(target.split("/")[0], "see the dataset's page in tensorflow-datasets")
    if kind == "shapes":
        return "procedural, made by ganzoo (ganzoo/data/voxels.py; Apache-2.0)"
    return "the data's own terms (a local copy)"


def storage_changes(before: dict, after: dict) -> list[str]:
    """Figures that float16 storage moved by more than their slack."""
    changed = []
    for key, value in before.items():
        delta = after[key] - value
        worse = (delta > FID_SLACK if key == "fid" else -delta > PSNR_SLACK_DB if "psnr" in key
                 else -delta > SHARE_SLACK if any(w in key for w in ("accuracy", "coverage", "called")) else False)
        if worse:
            changed.append(f"{key} {value:.4g} -> {after[key]:.4g}")
    return changed


def same_arrays(weights_file: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Whether `weights_file` already holds exactly `arrays` (names, dtypes and values); the
    archive's bytes carry write times, so the same weights written again would differ."""
    if not weights_file.is_file():
        return False
    try:
        with np.load(weights_file) as stored:
            return set(stored.files) == set(arrays) and all(
                stored[k].dtype == arrays[k].dtype and np.array_equal(stored[k], arrays[k]) for k in arrays)
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def publish(run: str | Path, name: str, zoo_dir: str | Path | None = None, dtype: str = "auto", readme: str | Path | None = None,
            **measure_options) -> Path:
    """Publishes run directory `run` (or its best/) as zoo entry `name` under `zoo_dir` (default:
    the package's zoo); returns the entry file. `measure_options` go to the task's protocol (num, sr_sets, ...)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
        raise GanzooError(f"a zoo entry name is lower-case letters, digits and '_', got {name!r}")
    if dtype not in ("auto", "float16", "float32"):
        raise GanzooError(f"weights are stored as float16, float32 or auto, got {dtype!r}")
    run_dir = runs.run_of(run)  # RUN, or the run whose best/ is published
    if not (run_dir / runs.RECIPE_FILE).is_file():
        raise GanzooError(f"{run_dir} is not a run directory (no {runs.RECIPE_FILE}): a zoo entry records its recipe")
    zoo_dir = Path(zoo_dir) if zoo_dir else zoo.zoo_dir()
    recipe = load_recipe(run_dir / runs.RECIPE_FILE)
    model = load_trained_model(run)
    task = task_of(model)
    float32 = task.measure(model, recipe, **measure_options)
    stored, notes = "float32", ""
    if dtype != "float32":
        half = zoo.weight_arrays(model, "float16")
        copy = type(model).from_config(model.get_config())
        zoo.set_weight_arrays(copy, half)
        as_half = task.measure(copy, recipe, **measure_options)
        changed = storage_changes(float32["metrics"], as_half["metrics"])
        if dtype == "float16" or not changed:
            stored, measured = "float16", as_half
        else:
            notes = f"float16 storage would change {', '.join(changed)}: stored in float32"
    if stored == "float32":
        measured = float32
    weights_file = zoo_dir / "weights" / f"{name}.npz"
    weights_file.parent.mkdir(parents=True, exist_ok=True)
    arrays = zoo.weight_arrays(model, stored)
    if not same_arrays(weights_file, arrays):  # republishing (a new protocol) commits no second copy
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(weights_file, buffer.getvalue())
    steps = int(model.g_optimizer.iterations.numpy()) if model.compiled else None
    history = [json.loads(line) for line in (run_dir / runs.HISTORY_FILE).read_text().splitlines() if line.strip()] \
        if (run_dir / runs.HISTORY_FILE).is_file() else []
    history = [h for h in history if steps is None or h.get("step", 0) <= steps]  # the clock up to best/'s step
    start = last_start(run_dir)
    entry = {
        "name": name,
        "model": model.registry_name,
        "task": task.name,
        "preset": recipe.model.preset,
        "config": model.get_config(),
        "recipe": (run_dir / runs.RECIPE_FILE).read_text(),
        "steps": steps,
        "wall_time_s": history[-1].get("elapsed_s") if history else None,
        "cpu_time_s": history[-1].get("cpu_s") if history else None,
        "hardware": {"host": start.get("host", "unknown"), "devices": start.get("devices", "unknown"),
                     "xla": start.get("xla", "unknown"), "precision": start.get("mixed precision", "unknown")},
        "data": {"source": recipe.data.source, "description": start.get("data", recipe.data.source),
                 "licence": data_licence(recipe.data.source)},
        "weights": {"file": f"../weights/{name}.npz", "sha256": file_sha256(weights_file),
                    "size_bytes": weights_file.stat().st_size, "dtype": stored, "storage_note": notes},
        "metrics": measured["metrics"],
        "float32_metrics": float32["metrics"],
        "protocol": measured["protocol"],
        "headline": task.headline(measured["metrics"]),
        "published": datetime.date.today().isoformat(),
        **({"checkpoint": best_checkpoint_note(run_dir)} if runs.best_of_run(run) else {}),
        "ganzoo": ganzoo.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
    }
    entry_file = zoo_dir / "entries" / f"{name}.json"
    entry_file.parent.mkdir(parents=True, exist_ok=True)
    write_entry(entry_file, entry)
    write_card(zoo_dir, entry, copy if stored == "float16" else model, recipe, **measure_options)
    if readme is not None:
        update_readme(Path(readme), zoo_dir)
    return entry_file


def best_checkpoint_note(run_dir: Path) -> str:
    """What a run's best/ is, for an entry published from it: the recipe's evaluation kept it. Its
    value is left out: measured on the recipe's smaller protocol (and maybe an older classifier),
    it is not comparable with the entry's own figures."""
    best = runs.best_record(run_dir)
    if best is None:
        return "best/: kept by the recipe's evaluation"
    return f"best/: kept by the recipe's evaluation for its {best['metric']}, at step {best['step']}"


def _plain(value):
    """JSON for what model configs hold besides plain types (tuples are lists already)."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to a zoo entry")


def write_card(zoo_dir: Path, entry: dict, model, recipe, **options) -> Path:
    """cards/NAME.md (+ NAME.png, a sample grid of `model`, the weights as stored): intended use,
    limitations, data licence, metrics with their protocol; `ganzoo export zoo:NAME` puts it
    beside the SavedModel. `options` as for the task's `measure` (sr_sets, ...)."""
    cards = zoo_dir / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    images, columns = task_of(model).card_samples(model, recipe, **options)
    atomic_write_bytes(cards / f"{entry['name']}.png", encode_png(make_grid(to_uint8(images), columns)))
    path = cards / f"{entry['name']}.md"
    atomic_write_bytes(path, card_text(entry, model, recipe).encode())
    return path


def card_text(entry: dict, model, recipe) -> str:
    """The model card's Markdown: all of it from the entry, but for what the model's task adds."""
    wall = f"{entry['wall_time_s'] / 60:.0f} minutes" if entry["wall_time_s"] else "wall time not recorded"
    if entry.get("cpu_time_s"):  # the work done, where the wall clock also counts waiting for the CPU
        wall += f" ({entry['cpu_time_s'] / 60:.0f} CPU-minutes of the training process, all threads)"
    checkpoint = f" (the run's {entry['checkpoint']})" if entry.get("checkpoint") else ""
    lines = [
        f"# {entry['name']}: {entry['model']} ({entry['preset']})", "",
        recipe.description or "", "",
        "## Intended use",
        f"Research, teaching and demos of {entry['model']} ({entry['task'].replace('_', ' ')}): {task_of(model).use}, exporting to TF "
        "Serving and TFLite, and as a starting point for fine-tuning with a freshly trained discriminator.", "",
        "## Limitations",
        f"Trained on {entry['data']['description']} only; outputs resemble that data and carry its biases. Not for "
        "identifying people or making decisions about them. Only the generator side is shipped. "
        f"{task_of(model).limitations(model)}".rstrip(), "",
        "## Data", f"`{entry['data']['source']}`; licence: {entry['data']['licence']}.", "",
        "## Training",
        f"{entry['steps']} steps{checkpoint} on {entry['hardware']['devices']} ({entry['hardware']['host']}), {wall}; "
        f"XLA {entry['hardware']['xla']}, precision {entry['hardware']['precision']}. The recipe is in the entry "
        f"(`ganzoo/zoo/entries/{entry['name']}.json`).", "",
        "## Metrics", "", "| metric | value |", "|---|---:|",
        *[f"| {k} | {v:.5g} |" for k, v in entry["metrics"].items()], "",
        "Protocol: " + ", ".join(f"{k}={v}" for k, v in entry["protocol"].items()), "",
        f"Weights: {entry['weights']['dtype']}, {entry['weights']['size_bytes'] / 2**20:.2f} MiB, sha256 "
        f"{entry['weights']['sha256']}. {entry['weights']['storage_note']}".rstrip(), "",
        "## Samples", "", f"![samples]({entry['name']}.png)", "",
    ]
    return "\n".join(lines)


def write_entry(entry_file: Path, entry: dict) -> None:
    """An entry as its JSON file, atomically; without the notes load_entry adds ("_dir")."""
    stored = {key: value for key, value in entry.items() if not key.startswith("_")}
    atomic_write_bytes(entry_file, (json.dumps(stored, indent=1, default=_plain) + "\n").encode())


def refresh_cards(names: list[str] | None = None, zoo_dir: str | Path | None = None, images: bool = False,
                  readme: Path | None = None, **options) -> list[Path]:
    """Rewrites the card text and headline of entries `names` (default: all) from their entries'
    measurements, measuring nothing and leaving the weights as they are (after the card's template
    or a task's headline changed); with `images`, their sample grids too, from the shipped weights
    (`options` as for `measure`); with `readme`, its zoo table."""
    from ganzoo.models import get_model_class
    from ganzoo.tasks import get_task

    entries = Path(zoo_dir or zoo.zoo_dir()) / "entries"
    known = sorted(p.stem for p in entries.glob("*.json"))
    written = []
    for name in names or known:
        if name not in known:
            raise GanzooError(f"no zoo entry {name!r} in {entries.parent}; it has: {', '.join(known) or 'nothing yet'}")
        entry_file = entries / f"{name}.json"
        entry = zoo.load_entry(entry_file)
        headline = get_task(entry["task"]).headline(entry["metrics"])
        if entry["headline"] != headline:
            entry["headline"] = headline
            write_entry(entry_file, entry)
            written.append(entry_file)
        recipe = zoo.entry_recipe(entry)
        if images:
            written.append(write_card(entries.parent, entry, zoo.from_pretrained(entry_file), recipe, **options))
        else:  # the model's kind only, for what its task adds to the text
            model = get_model_class(entry["model"]).from_config(entry["config"])
            written.append(entries.parent / "cards" / f"{name}.md")
            atomic_write_bytes(written[-1], card_text(entry, model, recipe).encode())
    if readme is not None:
        update_readme(Path(readme), zoo_dir)
        written.append(Path(readme))
    return written


def zoo_table(zoo_dir: str | Path | None = None) -> str:
    """The README's zoo table, from the entries."""
    entries_dir = Path(zoo_dir or zoo.zoo_dir()) / "entries"
    rows = ["| entry | model | data | steps | measured | weights |", "|---|---|---|---:|---|---:|"]
    for path in sorted(entries_dir.glob("*.json")):
        e = json.loads(path.read_text())
        rows.append(f"| `{e['name']}` | {e['model']} ({e['preset']}) | `{e['data']['source']}` | {e['steps']} | "
                    f"{e['headline']} | {e['weights']['size_bytes'] / 2**20:.1f} MiB {e['weights']['dtype']} |")
    return "\n".join(rows)


def update_readme(readme: Path, zoo_dir: str | Path | None = None) -> None:
    text = readme.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        raise GanzooError(f"{readme} has no {TABLE_START} ... {TABLE_END} markers for the zoo table")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    atomic_write_bytes(readme, f"{head}{TABLE_START}\n{zoo_table(zoo_dir)}\n{TABLE_END}{tail}".encode())
