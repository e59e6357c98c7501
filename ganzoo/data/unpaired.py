"""Unpaired two-domain data (CycleGAN): domain A and domain B images of one split, drawn
independently, as the layout of the CycleGAN datasets has them: trainA/, trainB/, testA/, testB/.

Sources: `tfds:cycle_gan/<pair>` (splits trainA, trainB, testA, testB), `zip:FILE` (those folders
anywhere inside the archive), `folder:DIR` (DIR/trainA, DIR/trainB, ...) or `fetch:NAME` (one of
those, from ganzoo's dataset catalogue).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from ganzoo.data.pipeline import training_dataset
from ganzoo.data.sources import (
    load_folder,
    load_tfds,
    load_zip,
    resolve_source,
)
from ganzoo.errors import DataError


def load_domain(source: str, folder: str, image_shape, data_dir: str | None = None, download: bool = True,
                max_examples: int = 0) -> np.ndarray:
    """uint8 [N, H, W, C] images of one domain folder ('trainA', 'testB', ...) at `image_shape`."""
    kind, target = resolve_source(source)
    if kind == "tfds":
        images = load_tfds(target, folder, data_dir, download, image_shape, max_examples)[0]
    elif kind == "zip":
        images = load_zip(target, image_shape[-1], inside=folder, image_shape=image_shape, max_examples=max_examples)
    elif kind == "folder":
        directory = Path(target) / folder
        images = load_folder(str(directory), image_shape[-1], image_shape, max_examples)[0] if directory.is_dir() else []
    else:
        raise DataError(f"unpaired data source {source!r} must be 'tfds:cycle_gan/PAIR', 'zip:FILE' or 'folder:DIR'")
    if not len(images):
        raise DataError(f"{source} has no images in a {folder}/ folder (expected trainA/, trainB/, testA/, testB/)")
    return images


def load_unpaired(source: str, image_shape, split: str = "train", data_dir: str | None = None, download: bool = True,
                  max_examples: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(domain A, domain B) images of `split` ('train' or 'test')."""
    return tuple(load_domain(source, f"{split}{domain}", image_shape, data_dir, download, max_examples) for domain in "AB")


def unpaired_dataset(a: np.ndarray, b: np.ndarray, batch_size: int, seed: int, start_step: int = 0,
                     flip: bool = True) -> tf.data.Dataset:
    """(A batch, B batch) in [-1, 1] for steps start_step, start_step + 1, ...: each domain in its
    own stateless order (so A and B pair up differently every epoch), with stateless random
    horizontal flips seeded by the step, so a resumed run sees the same batches."""
    stream_a = training_dataset(a, batch_size, seed, start_step)
    stream_b = training_dataset(b, batch_size, seed + 1, start_step)
    steps = tf.data.Dataset.range(start_step, 2**62)

    def augment(step, batch_a, batch_b):
        if not flip:
            return batch_a, batch_b
        seed_a = tf.stack([tf.cast(seed, tf.int64), 2 * step])
        seed_b = tf.stack([tf.cast(seed, tf.int64), 2 * step + 1])
        return (tf.image.stateless_random_flip_left_right(batch_a, seed_a),
                tf.image.stateless_random_flip_left_right(batch_b, seed_b))

    dataset = tf.data.Dataset.zip((steps, stream_a, stream_b))
    return dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
