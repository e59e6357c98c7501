"""What verify-export accepts: a gate per artifact kind, and a check of one output against
Keras' own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganzoo.errors import GanzooError

UINT8_STEP = 1 / 127.5  # one uint8 level on the [-1, 1] scale


@dataclass(frozen=True)
class Gate:
    max_abs_diff: float | None = None
    min_psnr: float | None = None
    label: str = ""
    min_iou: float | None = None  # occupancy grids: IoU of the grids thresholded at 0.5

    def passes(self, diff: float, psnr: float, iou: float | None = None) -> bool:
        return (self.max_abs_diff is None or diff <= self.max_abs_diff) and (
            self.min_psnr is None or psnr >= self.min_psnr
        ) and (self.min_iou is None or (iou is not None and iou >= self.min_iou))

    def __str__(self) -> str:
        if self.label:
            return self.label
        parts = [f"diff <= {self.max_abs_diff:g}"] if self.max_abs_diff is not None else []
        parts += [f"PSNR >= {self.min_psnr:g} dB"] if self.min_psnr is not None else []
        parts += [f"IoU >= {self.min_iou:g}"] if self.min_iou is not None else []
        return ", ".join(parts)


GATES = {
    "saved_model": Gate(max_abs_diff=1e-4),
    # uint8 outputs may differ by one level where float noise crosses a rounding boundary.
    "saved_model_uint8": Gate(max_abs_diff=UINT8_STEP + 1e-6, label="<= 1 uint8 level"),
    "float32": Gate(max_abs_diff=1e-4),
    "float16": Gate(min_psnr=40.0),
    "dynamic": Gate(min_psnr=25.0),
    "int8": Gate(min_psnr=25.0),
}


@dataclass(frozen=True)
class Check:
    signature: str
    artifact: str
    max_abs_diff: float
    psnr: float
    gate: Gate
    iou: float | None = None

    @property
    def passed(self) -> bool:
        return self.gate.passes(self.max_abs_diff, self.psnr, self.iou)


def psnr(actual: np.ndarray, expected: np.ndarray) -> float:
    """PSNR on the [-1, 1] scale (peak-to-peak 2)."""
    mse = float(np.mean((np.asarray(actual, np.float64) - np.asarray(expected, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


def compare(signature: str, artifact: str, actual, expected, gate: Gate) -> Check:
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    if actual.shape != expected.shape:
        raise GanzooError(f"{artifact} {signature}: output shape {actual.shape} != Keras {expected.shape}")
    return Check(signature, artifact, float(np.abs(actual - expected).max()), psnr(actual, expected), gate)


def iou(actual: np.ndarray, expected: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of two occupancy grids thresholded at `threshold` (1 when both are empty)."""
    a, b = np.asarray(actual) > threshold, np.asarray(expected) > threshold
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare_occupancy(signature: str, artifact: str, actual, expected, gate: Gate) -> Check:
    """An occupancy output ([0, 1]) against Keras': max |diff|, PSNR on the [-1, 1] scale, IoU."""
    check = compare(signature, artifact, actual, expected, gate)
    return Check(check.signature, check.artifact, check.max_abs_diff, psnr(np.asarray(actual) * 2 - 1, np.asarray(expected) * 2 - 1),
                 gate, iou(actual, expected))
