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
LOWER, HIGHER = "lower", "higher"
# metric -> {result key a checkpoint can be ranked by (keep_best): which way is better}; the
# metric's other result keys are spreads, counts and floors.
RANKS: dict[str, dict[str, str]] = {}


def register_metric(name: str, ranks: dict[str, str]):
    def decorator(fn: MetricFn) -> MetricFn:
        METRICS[name], RANKS[name] = fn, ranks
        return fn

    return decorator


@register_metric("fid", {"fid": LOWER})
def _fid(real: Features, fake: Features) -> dict[str, float]:
    return {"fid": stats.fid(real.features, fake.features)}


@register_metric("kid", {"kid": LOWER})
def _kid(real: Features, fake: Features) -> dict[str, float]:
    mean, std = stats.kid(real.features, fake.features)
    return {"kid": mean, "kid_std": std}


@register_metric("is", {"is": HIGHER})
def _inception_score(real: Features, fake: Features) -> dict[str, float]:
    mean, std = stats.inception_score(fake.probabilities)
    return {"is": mean, "is_std": std}


@register_metric("pr", {"precision": HIGHER, "recall": HIGHER})
def _precision_recall(real: Features, fake: Features) -> dict[str, float]:
    precision, recall = stats.precision_recall(real.features, fake.features, k=3)
    return {"precision": precision, "recall": recall}


@register_metric("coverage", {"coverage": HIGHER})
def _coverage(real: Features, fake: Features) -> dict[str, float]:
    found, classes = stats.class_coverage(fake.probabilities)
    return {"coverage_classes": float(found), "coverage": found / classes}


@register_metric("nna", {"nna": LOWER, "nn_coverage": HIGHER, "nn_mmd": LOWER})
def _nearest_neighbours(real: Features, fake: Features) -> dict[str, float]:
    if real.samples is None or fake.samples is None:  # kinds.REFUSED_METRICS names who cannot
        raise ValueError("nna compares binary samples; these features carry none")
    return stats.nearest_neighbour_stats(real.samples, fake.samples[: len(real.samples)])


@register_metric("fragments", {"fragments": LOWER, "fragment_share": LOWER})
def _fragments(real: Features, fake: Features) -> dict[str, float]:
    if fake.samples is None:  # kinds.REFUSED_METRICS names who cannot
        raise ValueError("fragments counts pieces of binary samples; these features carry none")
    return stats.fragments(fake.samples)  # real's own count is the floor (VolumeMetricSession)


def ranking_keys(names: list[str] | None = None) -> list[str]:
    """The result keys that metrics `names` (default: all) give and a checkpoint can be ranked by."""
    return [key for name in (METRICS if names is None else names) for key in RANKS[name]]


def lower_is_better(key: str) -> bool:
    return next(ranks[key] for ranks in RANKS.values() if key in ranks) == LOWER


def parse_metrics(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise GanzooError(f"unknown metric {unknown[0] if unknown else text!r}; metrics: {', '.join(METRICS)}")
    return names
