"""`evaluate(run)`: a run (or `.keras` file) measured against its recipe's dataset, the result
appended to the run's metrics.jsonl and its model card refreshed.

    results = evaluate("runs/latest", ["fid", "kid", "pr", "coverage"], num=10000)
    results = evaluate("runs/latest")  # the model's kind's default metrics (Task.evaluation_metrics)
    results = evaluate("runs/latest/best")  # the checkpoint the recipe's evaluation kept (keep_best)

A result carries its protocol: extractor, weights hash, numbers of real and generated images,
real split, resize.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import kinds
from ganzoo.errors import GanzooError
from ganzoo.recipes import load_recipe
from ganzoo.training import load_trained_model, runs
from ganzoo.training.model_card import write_model_card


def evaluate(run: str | Path, metrics: list[str] | None = None, num: int = 10000, extractor: str | None = None, split: str = "test",
             seed: int = 0, inception_weights: str | None = None, data_source: str | None = None) -> dict:
    """Evaluates a run directory, a run's best/, a .keras file or zoo:NAME against its recipe's
    dataset; appends the result to the run's metrics.jsonl (marked `"checkpoint": "best"` for its
    best/) and refreshes its model card when RUN is a run directory or its best/."""
    from ganzoo import zoo
    from ganzoo.tasks import get_task, require_task

    run = Path(run) if zoo.entry_name(run) is not None else runs.check_model_location(run)
    entry = zoo.catalog_entry_at(run) if metrics else None
    if entry is not None:  # a metric the kind cannot give is refused before the model loads
        get_task(entry.task).check_metrics(metrics)
    model = load_trained_model(run)
    task = require_task(model, *kinds.EVALUATE, what=str(run))
    metrics = task.check_metrics(metrics) if metrics else list(task.evaluation_metrics)
    recipe = recipe_of(run)
    source = data_source or (recipe.data.source if recipe else None)
    if source is None:
        raise GanzooError(f"{run.name} has no recipe to read the real data's source from: give the data source")
    data_dir = (recipe.data.data_dir or None) if recipe else None
    session = task.metric_session(model, source, num, extractor, split, data_dir, inception_weights)
    result = session.measure(model, metrics, seed)
    if runs.best_of_run(run) is not None:
        result["checkpoint"] = runs.BEST_DIR  # beside the run's own results, told apart from them
    if run.is_dir():
        runs.append_result(runs.run_of(run), result)
        if recipe is not None:
            write_model_card(runs.run_of(run))
    return result


def recipe_of(run: Path):
    """The recipe that trained a run directory (or its best/) or zoo entry; None for a bare .keras file."""
    from ganzoo import zoo

    name = zoo.entry_name(run)
    if name is not None:
        return zoo.entry_recipe(zoo.load_entry(name))
    recipe_file = runs.run_of(run) / runs.RECIPE_FILE
    return load_recipe(recipe_file) if recipe_file.is_file() else None


def format_result(result: dict) -> str:
    lines = [f"{'metric':18s} {'value':>12s}"]
    lines += [f"{name:18s} {value:12.5g}" for name, value in result["metrics"].items()]
    protocol = ", ".join(f"{k}={v}" for k, v in result["protocol"].items())
    return "\n".join(lines + [f"protocol: {protocol}"])
