"""Synthetic labelled datasets from a conditional GAN, for data augmentation.

`write_synthetic_dataset` writes <out>/synthetic.npz (uint8 `images` [N, H, W, C] and int32
`labels` [N]); `load_images("npz:<out>/synthetic.npz", ...)` or plain
`tf.data.Dataset.from_tensor_slices(dict(np.load(path)))` reads it back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.files import atomic_path
from ganzoo.images import to_uint8

SYNTHETIC_FILE = "synthetic.npz"


def synthesize(model, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` images of every class: uint8 images and int32 labels, classes in blocks."""
    if not model.num_classes:
        raise GanzooError(f"{model.registry_name} is unconditional: synthesize needs a conditional model (cgan)")
    if per_class < 1:
        raise GanzooError(f"images per class must be at least 1, got {per_class}")
    labels = np.repeat(np.arange(model.num_classes, dtype=np.int32), per_class)
    images = model.generate(len(labels), seed=seed, labels=labels)
    return to_uint8(images), labels


def write_synthetic_dataset(model, per_class: int, out_dir: str | Path, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SYNTHETIC_FILE
    if path.exists():
        raise GanzooError(f"{path} exists; choose another folder (synthetic datasets are never overwritten)")
    images, labels = synthesize(model, per_class, seed)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, images=images, labels=labels)
    return path
