"""verify-export: every exported format against the Keras model's own outputs.

The Keras outputs for fixed inputs are stored at export time (assets.extra/ganzoo_reference.npz),
so verification loads each artifact on its own, the way a server or a phone would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.export.saved_model import REFERENCE_FILE
from ganzoo.export.tflite import TFLITE_DIR, run_tflite
from ganzoo.images import to_uint8

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


def from_uint8(images) -> np.ndarray:
    return np.asarray(images, np.float32) / 127.5 - 1.0


def verify_export(version_dir: str | Path, threads: int = 2) -> list[Check]:
    import tensorflow as tf

    version_dir = Path(version_dir)
    reference_path = version_dir / "assets.extra" / REFERENCE_FILE
    if not reference_path.is_file():
        raise GanzooError(f"{version_dir} is not a ganzoo export (no assets.extra/{REFERENCE_FILE})")
    reference = dict(np.load(reference_path))
    if "image" in reference:
        return verify_super_resolution(version_dir, reference, threads)
    if "translate_input" in reference:
        return verify_translation(version_dir, reference, threads)
    if "style_latent" in reference:
        return verify_style(version_dir, reference, threads)
    images = reference["images"]
    inputs = {k: reference[k] for k in ("latent", "label") if k in reference}
    sample = {k[len("sample_"):]: tf.constant(v) for k, v in reference.items() if k.startswith("sample_") and k != "sample_images"}
    feed = {k: tf.constant(v) for k, v in inputs.items()}
    as_served = from_uint8(to_uint8(images))
    sample_served = from_uint8(to_uint8(reference["sample_images"]))

    signatures = tf.saved_model.load(str(version_dir)).signatures
    checks = [
        compare("generate", "saved_model", signatures["generate"](**feed)["images"], images,
                GATES["saved_model"]),
        compare("serving_default", "saved_model", from_uint8(signatures["serving_default"](**feed)["images"]),
                as_served, GATES["saved_model_uint8"]),
        compare("sample", "saved_model", from_uint8(signatures["sample"](**sample)["images"]), sample_served,
                GATES["saved_model_uint8"]),
    ]
    pngs = signatures["sample_png"](**sample)["png_bytes"].numpy()
    decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
    checks.append(compare("sample_png", "saved_model", from_uint8(decoded), sample_served, GATES["saved_model_uint8"]))
    for path in sorted((version_dir / TFLITE_DIR).glob("*.tflite")):
        mode = path.name.rsplit(".", 2)[-2]
        outputs = run_tflite(path, inputs, threads=threads)
        checks.append(compare("serving_default", f"tflite {mode}", outputs["images"], images, GATES[mode]))
    return checks


def verify_super_resolution(version_dir: Path, reference: dict, threads: int) -> list[Check]:
    import tensorflow as tf

    lr, expected = reference["image"], reference["images"]
    as_served = from_uint8(to_uint8(expected))
    signatures = tf.saved_model.load(str(version_dir)).signatures
    checks = [
        compare("upscale", "saved_model", signatures["upscale"](image=tf.constant(lr))["images"], expected, GATES["saved_model"]),
        compare("serving_default", "saved_model",
                from_uint8(signatures["serving_default"](image=tf.constant(reference["image_uint8"]))["images"]),
                as_served, GATES["saved_model_uint8"]),
    ]
    png = tf.io.encode_png(reference["image_uint8"][0])
    decoded = tf.io.decode_png(signatures["upscale_png"](image_bytes=png)["png_bytes"]).numpy()
    checks.append(compare("upscale_png", "saved_model", from_uint8(decoded), as_served[0], GATES["saved_model_uint8"]))
    for path in sorted((version_dir / TFLITE_DIR).glob("*.tflite")):
        mode = path.name.rsplit(".", 2)[-2]
        outputs = run_tflite(path, {"image": lr}, threads=threads)
        checks.append(compare("serving_default", f"tflite {mode}", outputs["images"], expected, GATES[mode]))
    return checks


def verify_translation(version_dir: Path, reference: dict, threads: int) -> list[Check]:
    """Each direction's SavedModel signature (and serving_default = a2b) and each
    `<name>.<direction>.<mode>.tflite` against the Keras generators."""
    import tensorflow as tf

    image, x = tf.constant(reference["translate_uint8"]), reference["translate_input"]
    signatures = tf.saved_model.load(str(version_dir)).signatures
    checks = []
    for signature, direction in (("a2b", "a2b"), ("b2a", "b2a"), ("serving_default", "a2b")):
        served = from_uint8(signatures[signature](image=image)["images"])
        expected = from_uint8(to_uint8(reference[f"{direction}_images"]))
        checks.append(compare(signature, "saved_model", served, expected, GATES["saved_model_uint8"]))
    for path in sorted((version_dir / TFLITE_DIR).glob("*.tflite")):
        direction, mode = path.name.rsplit(".", 3)[-3:-1]
        outputs = run_tflite(path, {"image": x}, threads=threads)
        checks.append(compare(direction, f"tflite {mode}", outputs["images"], reference[f"{direction}_images"], GATES[mode]))
    return checks


def verify_style(version_dir: Path, reference: dict, threads: int) -> list[Check]:
    """stylegan_lite: every signature (mapping and a style-mixed synthesis too) and each TFLite mode."""
    import tensorflow as tf

    latent = {"latent": tf.constant(reference["style_latent"]), "truncation_psi": tf.constant(reference["style_psi"])}
    sample = {"seed": tf.constant(reference["style_sample_seed"]), "num_samples": tf.constant(reference["style_sample_num"]),
              "truncation_psi": tf.constant(reference["style_psi"])}
    images, sample_images = reference["style_images"], reference["style_sample_images"]
    served = lambda x: from_uint8(to_uint8(x))  # noqa: E731
    signatures = tf.saved_model.load(str(version_dir)).signatures
    uint8_gate = GATES["saved_model_uint8"]
    checks = [
        compare("generate", "saved_model", signatures["generate"](**latent)["images"], images, GATES["saved_model"]),
        compare("serving_default", "saved_model", from_uint8(signatures["serving_default"](**latent)["images"]),
                served(images), uint8_gate),
        compare("sample", "saved_model", from_uint8(signatures["sample"](**sample)["images"]), served(sample_images), uint8_gate),
        compare("mapping", "saved_model", signatures["mapping"](**latent)["w"], reference["style_w"], GATES["saved_model"]),
        compare("synthesis", "saved_model", from_uint8(signatures["synthesis"](ws=tf.constant(reference["style_ws"]))["images"]),
                served(reference["style_mixed_images"]), uint8_gate),
    ]
    pngs = signatures["sample_png"](**sample)["png_bytes"].numpy()
    decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
    checks.append(compare("sample_png", "saved_model", from_uint8(decoded), served(sample_images), uint8_gate))
    inputs = {"latent": reference["style_latent"], "truncation_psi": reference["style_psi"]}
    for path in sorted((version_dir / TFLITE_DIR).glob("*.tflite")):
        mode = path.name.rsplit(".", 2)[-2]
        outputs = run_tflite(path, inputs, threads=threads)
        checks.append(compare("serving_default", f"tflite {mode}", outputs["images"], images, GATES[mode]))
    return checks


def format_checks(checks: list[Check]) -> str:
    lines = [f"{'artifact':16s} {'signature':16s} {'max |diff|':>12s} {'PSNR dB':>9s}  gate              result"]
    for c in checks:
        lines.append(
            f"{c.artifact:16s} {c.signature:16s} {c.max_abs_diff:12.3g} {c.psnr:9.2f}  {str(c.gate):17s} "
            f"{'ok' if c.passed else 'FAIL'}"
        )
    return "\n".join(lines)
