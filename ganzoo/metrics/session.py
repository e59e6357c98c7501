"""Measuring generators the same way: an extractor and the real images' features for one
(dataset, split, image shape, count), computed once and cached under $GANZOO_CACHE."""

from __future__ import annotations

import datetime
import io

import numpy as np

from ganzoo.metrics.extractors import (
    Extractor,
    Features,
    cache_dir,
    get_extractor,
    slug,
)
from ganzoo.metrics.registry import METRICS


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

    @property
    def num_generated(self) -> int:
        """Samples measured per generator."""
        return self.num

    def features(self, images) -> Features:
        """The extractor's features of [-1, 1] images."""
        from ganzoo.images import to_uint8

        return self.extractor(to_uint8(images))

    def compare(self, fake: Features, metrics: list[str]) -> dict[str, float]:
        values: dict[str, float] = {}
        for name in metrics:
            values.update(METRICS[name](self.real, fake))
        return values

    def measure(self, model, metrics: list[str], seed: int = 0) -> dict:
        """`metrics` of `num` samples of `model.generate` (seeded), with the protocol."""
        values = self.compare(self.features(model.generate(self.num, seed=seed)), metrics)
        return self.result(model, values, seed)

    def result(self, model, values: dict[str, float], seed: int) -> dict:
        """Values with when, at which step and how they were measured."""
        return {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "step": int(model.g_optimizer.iterations.numpy()) if getattr(model, "compiled", False) else None,
            "metrics": values,
            "protocol": {**self.extractor.protocol(), "real": f"{self.source} ({self.split})",
                         "num_real": len(self.real.features), "num_generated": self.num_generated,
                         "generator": "EMA" if model.ema_generator is not None else "raw", "seed": seed},
        }
