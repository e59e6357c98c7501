"""The training input pipeline: an endless, resumable stream of batches scaled to [-1, 1].

Epoch e visits the examples in a stateless permutation seeded by (seed, e), so the batch at
step s is a pure function of (seed, s). A resumed run starts the stream at its step and sees
exactly the batches that an uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ganzoo.errors import DataError
from ganzoo.images import to_signed_tensor

# A captured constant above this size would not fit in a serialized graph (2 GiB proto limit).
MAX_IN_MEMORY_BYTES = 1536 * 2**20


def training_dataset(
    images: np.ndarray,
    batch_size: int,
    seed: int,
    start_step: int = 0,
    labels: np.ndarray | None = None,
    to_float=to_signed_tensor,
) -> tf.data.Dataset:
    """Batches of images (or (images, labels)) for steps start_step, start_step + 1, ..., each
    made float by `to_float` (uint8 -> [-1, 1] for images; volumes pass occupancy through)."""
    count = len(images)
    if count < batch_size:
        raise DataError(f"the dataset has {count} images, fewer than the batch size {batch_size}")
    if images.nbytes > MAX_IN_MEMORY_BYTES:
        raise DataError(
            f"the dataset is {images.nbytes / 2**30:.1f} GiB at this image size, over the "
            f"{MAX_IN_MEMORY_BYTES / 2**30:.1f} GiB in-memory limit; set data.max_examples"
        )
    first_epoch, offset = divmod(start_step * batch_size, count)
    pixels = tf.constant(images)
    label_values = None if labels is None else tf.constant(labels, tf.int32)

    def epoch_order(epoch):
        keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys))

    def gather(indices):
        batch = to_float(tf.gather(pixels, indices))
        if label_values is None:
            return batch
        return batch, tf.gather(label_values, indices)

    return (
        tf.data.Dataset.range(first_epoch, 2**62)
        .flat_map(epoch_order)
        .skip(offset)
        .batch(batch_size, drop_remainder=True)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def image_batches(source: str, image_shape, batch_size: int, seed: int = 0, split: str = "train",
                  with_labels: bool = False, data_dir: str | None = None, max_examples: int = 0) -> tf.data.Dataset:
    """An endless stream of batches in [-1, 1] (with `with_labels`, (images, labels)) of a data
    source at `image_shape` — what `model.fit(..., steps_per_epoch=N)` takes:

        dataset = ganzoo.data.image_batches("tfds:mnist", model.image_shape, batch_size=64)
    """
    from ganzoo.data.sources import load_images

    data = load_images(source, image_shape, split=split, data_dir=data_dir, max_examples=max_examples)
    if with_labels and data.labels is None:
        raise DataError(f"{data.description} has no labels")
    return training_dataset(data.images, batch_size, seed, labels=data.labels if with_labels else None)
