"""Full-reference image quality as super-resolution papers measure it: PSNR and SSIM on the
luma (Y) channel of MATLAB's rgb2ycbcr, with a border of `scale` pixels cropped."""

from __future__ import annotations

import numpy as np
from scipy import signal


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr's Y (range [16, 235]) of a uint8 RGB image, as float64; gray passes through."""
    image = np.asarray(image, np.float64)
    if image.ndim == 2 or image.shape[-1] == 1:
        return image.reshape(image.shape[:2])
    return 16.0 + (65.481 * image[..., 0] + 128.553 * image[..., 1] + 24.966 * image[..., 2]) / 255.0


def shave(image: np.ndarray, border: int) -> np.ndarray:
    return image[border:-border, border:-border] if border else image


def psnr(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    axis = np.arange(size) - (size - 1) / 2
    window = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * sigma**2))
    return window / window.sum()


def ssim(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM (Wang et al. 2004): 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, valid
    positions only — the MATLAB reference implementation."""
    x, y = np.asarray(reference, np.float64), np.asarray(test, np.float64)
    window = gaussian_window()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def filt(image):
        return signal.correlate2d(image, window, mode="valid")

    mu_x, mu_y = filt(x), filt(y)
    sigma_x = filt(x * x) - mu_x**2
    sigma_y = filt(y * y) - mu_y**2
    sigma_xy = filt(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sigma_x + sigma_y + c2))
    return float(ssim_map.mean())


def y_psnr_ssim(hr: np.ndarray, sr: np.ndarray, border: int) -> tuple[float, float]:
    """PSNR and SSIM on the Y channel of two uint8 images of equal size, `border` pixels shaved."""
    if hr.shape != sr.shape:
        raise ValueError(f"images differ in shape: {hr.shape} vs {sr.shape}")
    y_hr, y_sr = shave(rgb_to_y(hr), border), shave(rgb_to_y(sr), border)
    return psnr(y_hr, y_sr), ssim(y_hr, y_sr)
