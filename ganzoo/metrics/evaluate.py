"""Metrics by name, real-data reference features (computed once, cached), and `evaluate`.

    results = evaluate("runs/latest", ["fid", "kid", "pr", "coverage"], num=10000)

Each metric maps real and generated `Features` to `dict[str, float]`. A result carries its
protocol: extractor, weights hash, numbers of real and generated images, real split, resize.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics import stats
from ganzoo.metrics.extractors import (
    Extractor,
    Features,
    cache_dir,
    get_extractor,
    slug,
)

MetricFn = Callable[[Features, Features], dict[str, float]]
METRICS: dict[str, MetricFn] = {}


def register_metric(name: str):
    def decorator(fn: MetricFn) -> MetricFn:
        METRICS[name] = fn
        return fn

    return decorator


@register_metric("fid")
def _fid(real: Features, fake: Features) -> dict[str, float]:
    return {"fid": stats.fid(real.features, fake.features)}


@register_metric("kid")
def _kid(real: Features, fake: Features) -> dict[str, float]:
    mean, std = stats.kid(real.features, fake.features)
    return {"kid": mean, "kid_std": std}


@register_metric("is")
def _inception_score(real: Features, fake: Features) -> dict[str, float]:
    mean, std = stats.inception_score(fake.probabilities)
    return {"is": mean, "is_std": std}


@register_metric("pr")
def _precision_recall(real: Features, fake: Features) -> dict[str, float]:
    precision, recall = stats.precision_recall(real.features, fake.features, k=3)
    return {"precision": precision, "recall": recall}


@register_metric("coverage")
def _coverage(real: Features, fake: Features) -> dict[str, float]:
    found, classes = stats.class_coverage(fake.probabilities)
    return {"coverage_classes": float(found), "coverage": found / classes}


# Result keys by direction, for keeping the best checkpoint.
LOWER_IS_BETTER = ("fid", "kid")
HIGHER_IS_BETTER = ("is", "precision", "recall", "coverage")


def parse_metrics(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise GanzooError(f"unknown metric {unknown[0] if unknown else text!r}; metrics: {', '.join(METRICS)}")
    return names


def reference_features(extractor: Extractor, source: str, split: str, image_shape, num: int,
                       data_dir: str | None = None) -> Features:
    """Features of the first `num` real images of (source, split) at the model's image shape,
    computed once per (dataset, split, shape, extractor and its weights, num) and cached."""
    from ganzoo.data import load_images
    from ganzoo.files import atomic_write_bytes

    shape = "x".join(str(d) for d in image_shape)
    path = cache_dir() / "reference" / f"{slug(source)}-{split}-{shape}-{slug(extractor.name)}-{extractor.weights_hash}-{num}.npz"
    if path.is_file():
        cached = np.load(path)
        return Features(cached["features"], cached["probabilities"])
    data = load_images(source, image_shape, split=split, data_dir=data_dir, download=False, max_examples=num)
    features = extractor(data.images)
    buffer = io.BytesIO()
    np.savez(buffer, features=features.features, probabilities=features.probabilities)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return features


def default_extractor(source: str) -> str:
    """Classifier features for the labelled MNIST-like sets (no ImageNet weights needed), else Inception."""
    return f"classifier:{source}" if source in ("tfds:mnist", "tfds:fashion_mnist") else "inception"


class MetricSession:
    """An extractor and the cached real features for one (dataset, split, image shape, count):
    measures any number of generators the same way."""

    def __init__(self, source: str, image_shape, num: int, extractor: str | None = None, split: str = "test",
                 inception_weights: str | None = None, data_dir: str | None = None, train_missing: bool = False):
        self.source, self.split, self.num = source, split, num
        extractor = extractor or default_extractor(source)
        if train_missing and extractor.startswith("classifier:"):
            from ganzoo.metrics.extractors import (
                classifier_path,
                train_metric_classifier,
            )

            labelled = extractor.split(":", 1)[1]
            if not classifier_path(labelled).is_file():
                print(f"ganzoo: training the metric classifier for {labelled} (once; cached in {classifier_path(labelled)})")
                train_metric_classifier(labelled, data_dir=data_dir)
        self.extractor = get_extractor(extractor, inception_weights)
        self.real = reference_features(self.extractor, source, split, image_shape, num, data_dir)

    def measure(self, model, metrics: list[str], seed: int = 0) -> dict:
        from ganzoo.images import to_uint8

        fake = self.extractor(to_uint8(model.generate(self.num, seed=seed)))
        values: dict[str, float] = {}
        for name in metrics:
            values.update(METRICS[name](self.real, fake))
        return {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "step": int(model.g_optimizer.iterations.numpy()) if getattr(model, "compiled", False) else None,
            "metrics": values,
            "protocol": {**self.extractor.protocol(), "real": f"{self.source} ({self.split})",
                         "num_real": len(self.real.features), "num_generated": self.num,
                         "generator": "EMA" if model.ema_generator is not None else "raw", "seed": seed},
        }


def append_result(run_dir: Path, result: dict) -> None:
    from ganzoo.training import runs

    with open(run_dir / runs.METRICS_FILE, "a") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())


def evaluate(run: str | Path, metrics: list[str], num: int = 10000, extractor: str | None = None, split: str = "test",
             seed: int = 0, inception_weights: str | None = None, data_source: str | None = None) -> dict:
    """Evaluates a run (or .keras file) against its recipe's dataset; appends the result to the
    run's metrics.jsonl and refreshes its model card when RUN is a run directory."""
    from ganzoo.recipes import load_recipe
    from ganzoo.training import load_trained_model, runs

    run = Path(run)
    recipe_file = run / runs.RECIPE_FILE
    recipe = load_recipe(recipe_file) if recipe_file.is_file() else None
    source = data_source or (recipe.data.source if recipe else None)
    if source is None:
        raise GanzooError("a .keras file has no recipe: give the real data with --data SOURCE")
    data_dir = (recipe.data.data_dir or None) if recipe else None
    model = load_trained_model(run)
    session = MetricSession(source, model.image_shape, num, extractor, split, inception_weights, data_dir)
    result = session.measure(model, metrics, seed)
    if run.is_dir():
        append_result(run, result)
        if recipe is not None:
            from ganzoo.training.model_card import write_model_card

            write_model_card(run)
    return result


def format_result(result: dict) -> str:
    lines = [f"{'metric':18s} {'value':>12s}"]
    lines += [f"{name:18s} {value:12.5g}" for name, value in result["metrics"].items()]
    protocol = ", ".join(f"{k}={v}" for k, v in result["protocol"].items())
    return "\n".join(lines + [f"protocol: {protocol}"])
