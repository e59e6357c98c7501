"""TFLite / LiteRT conversion: float32, float16, dynamic-range and full-integer int8.

Converted with TFLite builtin ops only: a model with Flex (select TF) ops converts and then fails
at load in LiteRT's interpreter. Random ops do not convert either, so the TFLite signature takes
the latent noise as an input. Quantized modes keep float32 inputs and outputs (quantize and
dequantize inside the model) so every mode is a drop-in replacement for the float32 file.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from ganzoo.errors import GanzooError
from ganzoo.files import atomic_write_bytes
from ganzoo.models.base import GAN, latents_for_seed

TFLITE_MODES = ("float32", "float16", "dynamic", "int8")
TFLITE_DIR = "tflite"
REPRESENTATIVE_SAMPLES = 200  # int8 calibration draws, from the model's own latent prior


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in TFLITE_MODES]
    if unknown or not modes:
        raise GanzooError(f"unknown TFLite mode {unknown[0] if unknown else text!r}; modes: {', '.join(TFLITE_MODES)}")
    return modes


def tflite_function(model: GAN, generator=None):
    """latent float32 [batch, latent_dim] (+ label int32 [batch]) -> images float32 [-1, 1],
    batch size free. Image-to-image models: image float32 [batch, h, w, C] in [-1, 1], any size."""
    generator = generator or model.sampling_generator
    if model.serving == "style":
        from ganzoo.export.style import style_tflite_function

        return style_tflite_function(model)
    if model.task in ("super_resolution", "translate"):
        channels = model.image_shape[-1]
        spec = tf.TensorSpec([None, None, None, channels], tf.float32, name="image")
        return tf.function(lambda image: {"images": generator(image, training=False)}, input_signature=[spec])
    specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent")]
    if model.num_classes:
        specs.append(tf.TensorSpec([None], tf.int32, name="label"))
    return tf.function(lambda *inputs: {"images": generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False)},
                       input_signature=specs)


def representative_inputs(model: GAN) -> list[dict[str, np.ndarray]]:
    """int8 calibration: latents from the model's own prior (and every class in turn); for
    super-resolution, LR patches of smooth random images (no training data at export time)."""
    if model.task in ("super_resolution", "translate"):
        rng = np.random.default_rng(7)
        size = 24 if model.task == "super_resolution" else model.image_shape[0]
        coarse = rng.uniform(-1, 1, (REPRESENTATIVE_SAMPLES, 4, 4, model.image_shape[-1])).astype("float32")
        patches = tf.image.resize(coarse, (size, size), method="bicubic").numpy().clip(-1, 1)
        return [{"image": patches[i : i + 1]} for i in range(REPRESENTATIVE_SAMPLES)]
    latents = latents_for_seed(REPRESENTATIVE_SAMPLES, model.latent_dim, seed=7).numpy()
    samples = []
    for i in range(REPRESENTATIVE_SAMPLES):
        sample = {"latent": latents[i : i + 1]}
        if model.serving == "style":  # truncation from 0.5 to 1, the range people sample with
            sample["truncation_psi"] = np.array(0.5 + 0.5 * i / (REPRESENTATIVE_SAMPLES - 1), np.float32)
        if model.num_classes:
            sample["label"] = np.array([i % model.num_classes], np.int32)
        samples.append(sample)
    return samples


def convert(model: GAN, mode: str, generator=None) -> bytes:
    # Converting from a SavedModel freezes the weights into constants (from concrete
    # functions they stay resource variables, which int8 calibration cannot read).
    import keras

    generator = generator or model.sampling_generator
    with tempfile.TemporaryDirectory() as staging, _export_form(model, mode):
        archive = keras.export.ExportArchive()
        for layer in [generator, *(layer for layer in model.serving_layers() if layer is not generator)]:
            archive.track(layer)
        archive.add_endpoint("serving_default", tflite_function(model, generator))
        archive.write_out(staging, verbose=False)
        return _convert_saved_model(staging, model, mode)


def _export_form(model: GAN, mode: str):
    """Full int8 of a style model converts with normalised styles (export/style.py), calibrated on
    the representative inputs. Not the other modes: per-channel weight quantization (dynamic)
    loses 2.5 dB when the kernels' input channels are rescaled."""
    if model.serving != "style" or mode != "int8":
        return contextlib.nullcontext()
    from ganzoo.export.style import normalized_styles

    samples = representative_inputs(model)
    return normalized_styles(model, np.concatenate([s["latent"] for s in samples]),
                             np.array([s["truncation_psi"] for s in samples]))


def _convert_saved_model(saved_model_dir: str, model: GAN, mode: str) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        samples = representative_inputs(model)
        converter.representative_dataset = lambda: iter(samples)
    try:
        with warnings.catch_warnings():
            # int8 calibration runs TensorFlow's own, deprecated tf.lite.Interpreter, which warns.
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
            return converter.convert()
    except Exception as error:  # the converter raises ConverterError and friends
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GanzooError(f"TFLite {mode} conversion failed: {first}") from None


def export_tflite(model: GAN, directory: Path, modes: list[str], name: str | None = None) -> list[Path]:
    """One `<name>.<mode>.tflite` per mode under <directory>/tflite/; translation models, one
    `<name>.<direction>.<mode>.tflite` per direction and mode."""
    out = Path(directory) / TFLITE_DIR
    out.mkdir(parents=True, exist_ok=True)
    networks = {"": model.sampling_generator}
    if model.task == "translate":
        networks = {f".{direction}": model.translator(direction) for direction in ("a2b", "b2a")}
    paths = []
    for suffix, network in networks.items():
        for mode in modes:
            path = out / f"{name or model.registry_name}{suffix}.{mode}.tflite"
            atomic_write_bytes(path, convert(model, mode, network))
            paths.append(path)
    return paths


def litert_interpreter(path: str | Path, threads: int = 2):
    """ai-edge-litert's interpreter for a .tflite file (XNNPACK delegate, `threads` threads)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise GanzooError("running TFLite files needs ai-edge-litert: pip install 'ganzoo[tflite]'") from None
    return Interpreter(model_path=str(path), num_threads=threads)


def run_tflite(path: str | Path, inputs: dict[str, np.ndarray], threads: int = 2) -> dict[str, np.ndarray]:
    """Runs the file's default signature in ai-edge-litert's interpreter (XNNPACK delegate)."""
    runner = litert_interpreter(path, threads).get_signature_runner()  # resizes inputs to the given shapes per call
    return {k: np.asarray(v) for k, v in runner(**inputs).items()}
