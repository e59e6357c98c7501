"""Sample-quality metrics (FID, KID, IS, precision/recall, class coverage) behind one registry,
pluggable feature extractors, cached real-data statistics, and `evaluate`."""

from ganzoo.metrics.evaluate import (
    METRICS,
    evaluate,
    format_result,
    parse_metrics,
    register_metric,
)
from ganzoo.metrics.extractors import get_extractor, train_metric_classifier

__all__ = ["METRICS", "evaluate", "format_result", "get_extractor", "parse_metrics", "register_metric", "train_metric_classifier"]
