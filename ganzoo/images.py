"""Pixels: the one place uint8 [0, 255] and the networks' float [-1, 1] convert into each other
(NumPy arrays, and TensorFlow tensors inside graphs), PNG grids and `.npz` dumps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ganzoo.files import atomic_path, atomic_write_bytes


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats -> uint8 [0, 255], rounded to nearest (as `to_uint8_tensor`)."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_signed(images) -> np.ndarray:
    """uint8 [0, 255] (or anything numeric on that scale) -> float32 [-1, 1]."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def to_uint8_tensor(images):
    """`to_uint8` as TensorFlow ops, for graphs (serving signatures)."""
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def to_signed_tensor(images):
    """`to_signed` as TensorFlow ops, for graphs (input pipelines, serving signatures)."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 [rows*(H+p)+p, cols*(W+p)+p, C] image."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels), np.uint8)
    for i, image in enumerate(images):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def encode_png(image: np.ndarray) -> bytes:
    import tensorflow as tf

    return tf.io.encode_png(image).numpy()


def write_images(path: str | Path, images: np.ndarray, columns: int | None = None) -> Path:
    """Images in [-1, 1] to a PNG grid (`.png`) or raw uint8 `.npz` (key `images`, [N,H,W,C])."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(images)
    if path.suffix == ".png":
        atomic_write_bytes(path, encode_png(make_grid(pixels, columns)))
    elif path.suffix == ".npz":
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, images=pixels)
    else:
        raise ValueError(f"output must end in .png or .npz, got {path.name}")
    return path
