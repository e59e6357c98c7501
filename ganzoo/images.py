"""Pixels: the one place uint8 [0, 255] and the networks' float [-1, 1] convert into each other
(NumPy arrays, and TensorFlow tensors inside graphs), PNG grids and `.npz` dumps."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
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


MAX_GRID = 4096  # images in one PNG grid; more go to a .npz or a folder of PNGs


class NpzWriter:
    """A `.npz` written array by array, each in chunks, so that memory stays bounded by a chunk
    whatever the array's size: `with NpzWriter(path) as npz: with npz.array("images", shape,
    np.uint8) as write: write(chunk); ...`. np.load reads it like any `.npz`; the file appears
    whole or not at all (atomic_path)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __enter__(self) -> "NpzWriter":
        import zipfile

        self._atomic = atomic_path(self.path)
        self._zip = zipfile.ZipFile(self._atomic.__enter__(), "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        return self

    def __exit__(self, *exc) -> None:
        self._zip.close()
        self._atomic.__exit__(*exc)

    @contextlib.contextmanager
    def array(self, name: str, shape: tuple, dtype):
        dtype = np.dtype(dtype)
        written = 0
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
            np.lib.format.write_array_header_2_0(member, header)

            def write(chunk: np.ndarray) -> None:
                nonlocal written
                chunk = np.ascontiguousarray(chunk, dtype)
                member.write(chunk.tobytes())
                written += len(chunk)

            yield write
        if written != shape[0]:
            raise ValueError(f"{name}: {written} rows written, the header says {shape[0]}")


def write_image_stream(path: str | Path, chunks, count: int, image_shape, columns: int | None = None) -> Path:
    """Images in [-1, 1] arriving in chunks (`count` in all) to a `.png` grid (at most MAX_GRID),
    a `.npz` (uint8 `images` [count, H, W, C]), or a folder of PNGs (`path` without a suffix):
    memory stays bounded by a chunk for the last two."""
    path = Path(path)
    if path.suffix == ".png":
        if count > MAX_GRID:
            raise GanzooError(f"a PNG grid holds at most {MAX_GRID} images, not {count}: write a .npz or a folder")
        return write_images(path, np.concatenate(list(chunks)), columns)
    if path.suffix not in ("", ".npz"):
        raise GanzooError(f"the output must be a .png grid, a .npz file or a folder, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npz":
        with NpzWriter(path) as npz, npz.array("images", (count, *image_shape), np.uint8) as write:
            for chunk in chunks:
                write(to_uint8(chunk))
        return path
    path.mkdir(exist_ok=True)
    digits, index = max(6, len(str(count - 1))), 0
    for chunk in chunks:
        for image in to_uint8(chunk):
            atomic_write_bytes(path / f"{index:0{digits}d}.png", encode_png(image))
            index += 1
    return path


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
