"""Input pipelines: real images from tfds / an image folder / a zip / `.npz` / ganzoo's dataset
catalogue, as resumable batches. Names resolve on first use (PEP 562), so reading the catalogue
does not load TensorFlow."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ImageData": "ganzoo.data.sources",
    "image_batches": "ganzoo.data.pipeline",
    "load_images": "ganzoo.data.sources",
    "parse_source": "ganzoo.data.sources",
    "to_signed_unit": "ganzoo.data.pipeline",
    "training_dataset": "ganzoo.data.pipeline",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'ganzoo.data' has no attribute {name!r}")
