"""`ganzoo bench quality`: the shipped recipes of several models trained on several datasets
with one budget (steps x batch), then FID, KID and class coverage with the datasets' cached
classifier features — measured in one process run."""

from __future__ import annotations

import time
from pathlib import Path

from ganzoo.errors import GanzooError


def recipes_dir() -> Path:
    """The checkout's recipes/ (ganzoo is installed from its source tree with `pip install -e`)."""
    import ganzoo

    return Path(ganzoo.__file__).resolve().parents[1] / "recipes"


def model_recipe(model: str, dataset: str = "mnist") -> Path | None:
    """The model's recipe for `dataset` when there is one (stylegan_lite trains 32 px
    Fashion-MNIST), else its MNIST recipe; None when it has neither."""
    for path in dict.fromkeys((recipes_dir() / f"{model}_{dataset}.toml", recipes_dir() / f"{model}_mnist.toml")):
        if path.is_file():
            return path
    return None


def bench_quality(models: list[str], datasets: list[str], steps: int, num: int, out: Path, batch: int = 64,
                  preset: str | None = None) -> list[dict]:
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.extractors import classifier_path, train_metric_classifier
    from ganzoo.recipes import load_recipe
    from ganzoo.training import train

    recipes = {}  # every run's recipe, found before a classifier or a model trains
    for dataset in datasets:
        for model in models:
            path = model_recipe(model, dataset)  # an MNIST recipe trains here with its source swapped
            if path is None:
                names = " or ".join(dict.fromkeys((f"{model}_{dataset}.toml", f"{model}_mnist.toml")))
                raise GanzooError(f"no recipe {names} in {recipes_dir()}")
            recipes[model, dataset] = path
    rows = []
    for dataset in datasets:
        source = f"tfds:{dataset}"
        if not classifier_path(source).is_file():
            train_metric_classifier(source)  # once per dataset; cached for every later run
        for model in models:
            path = recipes[model, dataset]
            overrides = [f"data.source={source}", f"train.batch_size={batch}", f'name="{model}_{dataset}_bench"',
                         "evaluation.every_epochs=0"]  # measured once, at the end
            if preset:
                overrides.append(f"model.preset={preset}")
            recipe = load_recipe(path, overrides)
            started = time.perf_counter()
            run_dir = train(recipe, out=out, max_steps=steps, verbose=0)
            train_s = time.perf_counter() - started
            result = evaluate(run_dir, ["fid", "kid", "coverage"], num=num)
            rows.append({"model": f"{model} ({recipe.model.preset})", "dataset": dataset, "steps": steps,
                         "images": steps * batch, "train_s": train_s, **result["metrics"],
                         "extractor": result["protocol"]["extractor"], "run": str(run_dir)})
    return rows


def format_quality(rows: list[dict]) -> str:
    lines = [f"{'model':20s} {'dataset':14s} {'images':>8s} {'train s':>8s} {'FID':>9s} {'KID':>9s} {'classes':>8s}"]
    for r in rows:
        lines.append(f"{r['model']:20s} {r['dataset']:14s} {r['images']:8d} {r['train_s']:8.0f} {r['fid']:9.3f} "
                     f"{r['kid']:9.4f} {int(r['coverage_classes']):8d}")
    return "\n".join(lines)
