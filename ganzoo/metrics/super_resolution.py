"""The super-resolution benchmark protocol (SRGAN paper, Table 2): full images, HR cropped to a
multiple of the scale, LR inputs from MATLAB's bicubic downscale, PSNR/SSIM on the Y channel with
`scale` border pixels shaved — and the bicubic upscaling row measured the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ganzoo.data.bicubic import imresize, mod_crop
from ganzoo.errors import DataError
from ganzoo.metrics.image_quality import y_psnr_ssim

Upscaler = Callable[[np.ndarray], np.ndarray]  # uint8 [h, w, 3] -> uint8 [scale h, scale w, 3]


@dataclass
class SRPair:
    name: str
    hr: np.ndarray  # uint8, mod-cropped
    lr: np.ndarray  # uint8


def read_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.array(image.convert("RGB"))
    except Image.DecompressionBombError as error:  # more pixels than PIL decodes (2 x 89.5 million)
        raise DataError(f"{path} is too large to read: {error}") from None
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"cannot read image {path}: {error}") from None


def load_sr_set(directory: str | Path, scale: int = 4) -> list[SRPair]:
    """DIR/HR/*.png with DIR/LR_bicubic_x{scale}/ (same names) when present, or the images of DIR
    itself; LR images that are not given are made here with the MATLAB-compatible bicubic downscale."""
    directory = Path(directory)
    hr_dir = directory / "HR" if (directory / "HR").is_dir() else directory
    hr_files = sorted(p for p in hr_dir.glob("*") if p.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg"))
    if not hr_files:
        raise DataError(f"{directory} has no images (expected DIR/*.png, or DIR/HR/*.png and optionally DIR/LR_bicubic_x{scale}/)")
    lr_dir = directory / f"LR_bicubic_x{scale}"
    pairs = []
    for hr_file in hr_files:
        hr = mod_crop(read_rgb(hr_file), scale)
        lr_file = next(iter(sorted(lr_dir.glob(hr_file.stem + ".*"))), None) if lr_dir.is_dir() else None
        lr = read_rgb(lr_file) if lr_file else imresize(hr, 1 / scale)
        if lr.shape[0] * scale != hr.shape[0] or lr.shape[1] * scale != hr.shape[1]:
            raise DataError(f"{lr_file}: {lr.shape[:2]} is not the x{scale} LR of {hr_file.name} {hr.shape[:2]}")
        pairs.append(SRPair(hr_file.stem, hr, lr))
    return pairs


def bicubic_upscaler(scale: int) -> Upscaler:
    return lambda lr: imresize(lr, scale)


def evaluate_upscaler(upscale: Upscaler, pairs: list[SRPair], scale: int) -> dict:
    """Mean Y-channel PSNR/SSIM over the set, and per image."""
    per_image = {}
    for pair in pairs:
        sr = upscale(pair.lr)
        if sr.shape != pair.hr.shape:
            raise ValueError(f"{pair.name}: the upscaler returned {sr.shape}, expected {pair.hr.shape}")
        per_image[pair.name] = y_psnr_ssim(pair.hr, sr, border=scale)
    values = np.array(list(per_image.values()))
    return {"psnr": float(values[:, 0].mean()), "ssim": float(values[:, 1].mean()), "per_image": per_image}


def format_sr_rows(set_name: str, rows: dict[str, dict]) -> str:
    lines = [f"{set_name}: Y-channel PSNR / SSIM, border shaved", f"{'method':24s} {'PSNR dB':>9s} {'SSIM':>8s}"]
    lines += [f"{method:24s} {r['psnr']:9.3f} {r['ssim']:8.4f}" for method, r in rows.items()]
    return "\n".join(lines)
