"""Input pipelines: real images from tfds / an image folder / a zip / `.npz` / ganzoo's dataset
catalogue, as resumable batches. Names resolve on first use (PEP 562), so reading the catalogue
does not load TensorFlow."""

from __future__ import annotations

from ganzoo.lazy import lazy_getattr

_PUBLIC = {
    "ImageData": "ganzoo.data.sources",
    "image_batches": "ganzoo.data.pipeline",
    "load_images": "ganzoo.data.sources",
    "parse_source": "ganzoo.data.sources",
    "training_dataset": "ganzoo.data.pipeline",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_getattr(__name__, _PUBLIC)
