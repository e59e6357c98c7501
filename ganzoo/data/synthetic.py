"""Synthetic labelled datasets from a conditional GAN, for data augmentation.

`write_synthetic_dataset` writes <out>/synthetic.npz (uint8 `images` [N, H, W, C] and int32
`labels` [N]); `load_images("npz:<out>/synthetic.npz", ...)` or plain
`tf.data.Dataset.from_tensor_slices(dict(np.load(path)))` reads it back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError, Unconditional
from ganzoo.images import NpzWriter, to_uint8

SYNTHETIC_FILE = "synthetic.npz"


def check_synthesis(model, per_class: int, source: str | None = None) -> None:
    """A one-line error unless `model` (loaded from `source`, where known) has classes and
    `per_class` is positive."""
    if not getattr(model, "num_classes", 0):  # image-to-image models have no classes
        raise Unconditional("synthesize", source, model.registry_name)
    if per_class < 1:
        raise GanzooError(f"images per class must be at least 1, got {per_class}")


def synthetic_chunks(model, per_class: int, seed: int = 0):
    """(uint8 images, int32 labels) of `per_class` images of every class, classes in blocks, a
    latent chunk at a time (the images of `model.generate(N, seed, labels=<the blocks>)`)."""
    check_synthesis(model, per_class)
    for start, latents in model.latent_chunks(model.num_classes * per_class, seed):
        labels = ((start + np.arange(len(latents))) // per_class).astype(np.int32)
        yield to_uint8(model.generate(latents, labels=labels)), labels


def synthesize(model, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All of `synthetic_chunks` in memory: (uint8 images, int32 labels)."""
    images, labels = zip(*synthetic_chunks(model, per_class, seed))
    return np.concatenate(images), np.concatenate(labels)


def write_synthetic_dataset(model, per_class: int, out_dir: str | Path, seed: int = 0, source: str | None = None) -> Path:
    check_synthesis(model, per_class, source)  # before the folder is made
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SYNTHETIC_FILE
    if path.exists():
        raise GanzooError(f"{path} exists; choose another folder (synthetic datasets are never overwritten)")
    count = model.num_classes * per_class
    with NpzWriter(path) as npz:  # memory bounded by a chunk whatever per_class is
        with npz.array("images", (count, *model.image_shape), np.uint8) as write:
            for images, _ in synthetic_chunks(model, per_class, seed):
                write(images)
        with npz.array("labels", (count,), np.int32) as write:
            for start in range(0, count, 1 << 20):
                write((np.arange(start, min(count, start + (1 << 20))) // per_class).astype(np.int32))
    return path
