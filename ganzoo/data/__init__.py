"""Input pipelines: real images from tfds / an image folder / `.npz`, as resumable batches."""

from ganzoo.data.pipeline import to_signed_unit, training_dataset
from ganzoo.data.sources import ImageData, load_images, parse_source

__all__ = ["ImageData", "load_images", "parse_source", "to_signed_unit", "training_dataset"]
