"""verify-export: every exported format against the Keras model's own outputs.

The Keras outputs for fixed inputs are stored at export time (assets.extra/ganzoo_reference.npz),
so verification loads each artifact on its own, the way a server or a phone would; the export
says which task made it, and the task says what to compare.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo.export.gates import Check
from ganzoo.export.saved_model import read_export
from ganzoo.export.tflite import TFLITE_DIR, run_tflite
from ganzoo.tasks import get_task


def verify_export(version_dir: str | Path, threads: int = 2) -> list[Check]:
    import tensorflow as tf

    version_dir = Path(version_dir)
    metadata, reference = read_export(version_dir)
    signatures = tf.saved_model.load(str(version_dir)).signatures
    tflite_files = sorted((version_dir / TFLITE_DIR).glob("*.tflite"))
    return get_task(metadata["task"]).verify(signatures, reference, tflite_files,
                                             lambda path, inputs: run_tflite(path, inputs, threads=threads))


def format_checks(checks: list[Check]) -> str:
    with_iou = any(c.iou is not None for c in checks)  # occupancy grids
    iou_header = f" {'IoU':>7s}" if with_iou else ""
    lines = [f"{'artifact':16s} {'signature':16s} {'max |diff|':>12s} {'PSNR dB':>9s}{iou_header}  gate              result"]
    for c in checks:
        iou = (f" {c.iou:7.4f}" if c.iou is not None else f" {'-':>7s}") if with_iou else ""
        lines.append(
            f"{c.artifact:16s} {c.signature:16s} {c.max_abs_diff:12.3g} {c.psnr:9.2f}{iou}  {str(c.gate):17s} "
            f"{'ok' if c.passed else 'FAIL'}"
        )
    return "\n".join(lines)
