"""Sample-quality metrics (FID, KID, IS, precision/recall, class coverage) behind one registry,
pluggable feature extractors, cached real-data statistics, and `ganzoo.metrics.evaluate.evaluate`
of a run. Names resolve on first use (PEP 562)."""

from __future__ import annotations

from ganzoo.lazy import lazy_getattr

_PUBLIC = {
    "METRICS": "ganzoo.metrics.registry",
    "parse_metrics": "ganzoo.metrics.registry",
    "register_metric": "ganzoo.metrics.registry",
    "get_extractor": "ganzoo.metrics.extractors",
    "train_metric_classifier": "ganzoo.metrics.extractors",
    "MetricSession": "ganzoo.metrics.session",
    "format_result": "ganzoo.metrics.evaluate",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_getattr(__name__, _PUBLIC)
