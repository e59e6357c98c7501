"""Metrics by name: each maps real and generated `Features` to `dict[str, float]`.

    values = METRICS["fid"](real_features, fake_features)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ganzoo.errors import GanzooError
from ganzoo.metrics import stats

if TYPE_CHECKING:  # extractors import Keras; parsing metric names (the CLI, recipes) must not
    from ganzoo.metrics.extractors import Features

MetricFn = Callable[["Features", "Features"], dict[str, float]]
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


@register_metric("nna")
def _nearest_neighbours(real: Features, fake: Features) -> dict[str, float]:
    if real.samples is None or fake.samples is None:  # kinds.REFUSED_METRICS names who cannot
        raise ValueError("nna compares binary samples; these features carry none")
    return stats.nearest_neighbour_stats(real.samples, fake.samples[: len(real.samples)])


# Result keys by direction, for keeping the best checkpoint.
LOWER_IS_BETTER = ("fid", "kid", "nna", "nn_mmd")
HIGHER_IS_BETTER = ("is", "precision", "recall", "coverage", "nn_coverage")
# The ranking keys each metric's result holds (its other keys are spreads, counts and floors).
RANKING_KEYS = {"fid": ("fid",), "kid": ("kid",), "is": ("is",), "pr": ("precision", "recall"),
                "coverage": ("coverage",), "nna": ("nna", "nn_coverage", "nn_mmd")}


def ranking_keys(names: list[str]) -> list[str]:
    """The result keys that metrics `names` give and a checkpoint can be ranked by."""
    return [key for name in names for key in RANKING_KEYS[name]]


def parse_metrics(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise GanzooError(f"unknown metric {unknown[0] if unknown else text!r}; metrics: {', '.join(METRICS)}")
    return names
