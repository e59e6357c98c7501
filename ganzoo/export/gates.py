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

    def passes(self, diff: float, psnr: float) -> bool:
        return (self.max_abs_diff is None or diff <= self.max_abs_diff) and (
            self.min_psnr is None or psnr >= self.min_psnr
        )

    def __str__(self) -> str:
        if self.label:
            return self.label
        return f"diff <= {self.max_abs_diff:g}" if self.max_abs_diff is not None else f"PSNR >= {self.min_psnr:g} dB"


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

    @property
    def passed(self) -> bool:
        return self.gate.passes(self.max_abs_diff, self.psnr)


def psnr(actual: np.ndarray, expected: np.ndarray) -> float:
    """PSNR on the [-1, 1] scale (peak-to-peak 2)."""
    mse = float(np.mean((np.asarray(actual, np.float64) - np.asarray(expected, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


def compare(signature: str, artifact: str, actual, expected, gate: Gate) -> Check:
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    if actual.shape != expected.shape:
        raise GanzooError(f"{artifact} {signature}: output shape {actual.shape} != Keras {expected.shape}")
    return Check(signature, artifact, float(np.abs(actual - expected).max()), psnr(actual, expected), gate)
