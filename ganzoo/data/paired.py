"""Super-resolution training pairs: random HR crops of a folder of images (or tfds div2k), each
with its LR made by the MATLAB-compatible bicubic downscale, flipped and rotated.

The crops are cut once into an in-memory bank (seeded), so the stream is, as for the generative
models, a pure function of (seed, step): a resumed run sees the batches an uninterrupted one would.
Flips and quarter turns commute with the bicubic downscale, so they are applied to both images
in the stream.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ganzoo.data.bicubic import imresize_batch
from ganzoo.data.sources import load_folder, resolve_source, tfds_split
from ganzoo.errors import DataError
from ganzoo.images import to_signed_tensor


def read_hr_images(source: str) -> list[np.ndarray]:
    """Every image of a folder source (all in memory: training sets such as T91 are small)."""
    kind, target = resolve_source(source)
    if kind != "folder":
        raise DataError(f"super-resolution data must be a folder or tfds source, got {source!r}")
    return load_folder(target, channels=3)[0]


def sr_patch_bank(source: str, hr_patch: int, scale: int, count: int, seed: int, data_dir: str | None = None,
                  download: bool = True) -> tuple[np.ndarray, np.ndarray, str]:
    """(LR, HR, description): `count` uint8 patch pairs of a folder or tfds source. A tfds set
    (div2k: 800 2K photos, ~5 GB decoded) is streamed, an equal share of crops from each image,
    so only the bank is ever in memory."""
    kind, target = resolve_source(source)
    if kind == "folder":
        images = read_hr_images(source)
        lr, hr = crop_bank(images, hr_patch, scale, count, seed)
        return lr, hr, f"{source} ({len(images)} images, {count} {hr_patch}px HR patches)"
    if kind != "tfds":
        raise DataError(f"super-resolution data must be a folder or tfds source, got {source!r}")
    import tensorflow_datasets as tfds

    dataset = tfds_split(target, "train", data_dir, download)
    per_image = -(-count // max(1, len(dataset)))
    rng = np.random.default_rng(seed)
    crops = []
    for example in tfds.as_numpy(dataset):
        image = example["hr"] if "hr" in example else example["image"]
        if min(image.shape[:2]) >= hr_patch:
            crops.append(crop_bank([image], hr_patch, scale, per_image, int(rng.integers(2**31)), with_lr=False)[1])
    if not crops:
        raise DataError(f"no image of {source} is at least {hr_patch}x{hr_patch} pixels")
    hr = np.concatenate(crops)[rng.permutation(sum(len(c) for c in crops))[:count]]
    lr = imresize_batch(hr, 1 / scale)
    return lr, hr, f"{source} ({len(dataset)} images, {len(hr)} {hr_patch}px HR patches)"


def crop_bank(images: list[np.ndarray], hr_patch: int, scale: int, count: int, seed: int,
              with_lr: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """`count` random (LR, HR) uint8 patch pairs from images at least `hr_patch` on each side
    (LR None when `with_lr` is false)."""
    usable = [image for image in images if min(image.shape[:2]) >= hr_patch]
    if not usable:
        raise DataError(f"no image is at least {hr_patch}x{hr_patch} pixels")
    rng = np.random.default_rng(seed)
    hr = np.empty((count, hr_patch, hr_patch, 3), np.uint8)
    for i in range(count):
        image = usable[rng.integers(len(usable))]
        top = rng.integers(image.shape[0] - hr_patch + 1)
        left = rng.integers(image.shape[1] - hr_patch + 1)
        hr[i] = image[top : top + hr_patch, left : left + hr_patch]
    return (imresize_batch(hr, 1 / scale) if with_lr else None), hr


def sr_training_dataset(lr: np.ndarray, hr: np.ndarray, batch_size: int, seed: int, start_step: int = 0) -> tf.data.Dataset:
    """Batches of (LR, HR) in [-1, 1] for steps start_step, start_step + 1, ...: a stateless
    per-epoch permutation of the bank, and a stateless flip/rotation per (epoch, position)."""
    count = len(hr)
    if count < batch_size:
        raise DataError(f"the patch bank has {count} pairs, fewer than the batch size {batch_size}")
    first_epoch, offset = divmod(start_step * batch_size, count)
    lr_values, hr_values = tf.constant(lr), tf.constant(hr)

    def epoch_order(epoch):
        keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        augment = tf.random.stateless_uniform([count, 2], seed=tf.stack([tf.cast(seed, tf.int64) + 1, epoch]), maxval=8,
                                              dtype=tf.int32)[:, 0]
        return tf.data.Dataset.from_tensor_slices((tf.argsort(keys), augment))

    def transform(image, code):
        image = tf.image.rot90(image, k=code % 4)
        return tf.cond(code >= 4, lambda: tf.image.flip_left_right(image), lambda: image)

    def pair(index, code):
        return transform(lr_values[index], code), transform(hr_values[index], code)

    def scale_batch(lr_batch, hr_batch):
        return to_signed_tensor(lr_batch), to_signed_tensor(hr_batch)

    return (
        tf.data.Dataset.range(first_epoch, 2**62)
        .flat_map(epoch_order)
        .skip(offset)
        .map(pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size, drop_remainder=True)
        .map(scale_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
