"""TFLite / LiteRT conversion: float32, float16, dynamic-range and full-integer int8.

What each file computes comes from the model's task (`Task.tflite_networks`); this module
converts. Converted with TFLite builtin ops only: a model with Flex (select TF) ops converts and
then fails at load in LiteRT's interpreter. Random ops do not convert either, so noise is an input
of every file. Quantized modes keep float32 inputs and outputs (quantize and dequantize inside the
model) so every mode is a drop-in replacement for the float32 file.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.files import atomic_write_bytes
from ganzoo.tasks import task_of

TFLITE_MODES = ("float32", "float16", "dynamic", "int8")
TFLITE_DIR = "tflite"


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in TFLITE_MODES]
    if unknown or not modes:
        raise GanzooError(f"unknown TFLite mode {unknown[0] if unknown else text!r}; modes: {', '.join(TFLITE_MODES)}")
    return modes


def convert(function, layers: list, mode: str, calibration: list | None = None) -> bytes:
    """One .tflite file of `function` (a tf.function reading `layers`) in `mode`. Converted from a
    SavedModel, which freezes the weights into constants (from concrete functions they stay
    resource variables, which int8 calibration cannot read)."""
    import keras
    import tensorflow as tf

    from ganzoo.tf_runtime import quiet_native_stderr

    with tempfile.TemporaryDirectory() as staging:
        archive = keras.export.ExportArchive()
        for layer in layers:
            archive.track(layer)
        archive.add_endpoint("serving_default", function)
        archive.write_out(staging, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(staging)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.representative_dataset = lambda: iter(calibration)
        try:
            with warnings.catch_warnings(), quiet_native_stderr():
                # int8 calibration runs TensorFlow's own, deprecated tf.lite.Interpreter, which warns.
                warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
                return converter.convert()
        except Exception as error:  # the converter raises ConverterError and friends
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise GanzooError(f"TFLite {mode} conversion failed: {first}") from None


def export_tflite(model, directory: Path, modes: list[str], name: str | None = None) -> list[Path]:
    """`<name><suffix>.<mode>.tflite` under <directory>/tflite/ for each of the task's networks
    (suffix "" for a single one; translation: ".a2b", ".b2a") and mode."""
    task = task_of(model)
    out = Path(directory) / TFLITE_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for mode in modes:
        calibration = task.calibration_inputs(model) if mode == "int8" else None
        with task.tflite_form(model, mode):
            for suffix, network in task.tflite_networks(model).items():
                path = out / f"{name or model.registry_name}{suffix}.{mode}.tflite"
                atomic_write_bytes(path, convert(network.function, network.layers, mode, calibration))
                paths.append(path)
    return paths


def litert_interpreter(path: str | Path, threads: int = 2):
    """ai-edge-litert's interpreter for a .tflite file (XNNPACK delegate, `threads` threads)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise GanzooError("running TFLite files needs ai-edge-litert: pip install 'ganzoo[tflite]'") from None
    return Interpreter(model_path=str(path), num_threads=threads)


def check_tflite_inputs(details: dict, inputs: dict[str, np.ndarray]) -> None:
    """The inputs against the file's declared shapes (-1: any size): LiteRT resizes its inputs to
    whatever it is given, so a latent of the wrong rank would run and give garbage."""
    for name, detail in details.items():
        declared = [int(d) for d in detail["shape_signature"]]
        shape = list(np.shape(inputs[name])) if name in inputs else None
        if shape is None or len(shape) != len(declared) or any(d not in (-1, s) for d, s in zip(declared, shape)):
            expected = "[" + ", ".join("batch" if i == 0 and d == -1 else ("any" if d == -1 else str(d))
                                       for i, d in enumerate(declared)) + "]"
            raise GanzooError(f"TFLite input {name} must have shape {expected}, got {shape}")


def run_tflite(path: str | Path, inputs: dict[str, np.ndarray], threads: int = 2) -> dict[str, np.ndarray]:
    """Runs the file's default signature in ai-edge-litert's interpreter (XNNPACK delegate), after
    checking the inputs against its declared shapes."""
    from ganzoo.tf_runtime import quiet_native_stderr

    runner = litert_interpreter(path, threads).get_signature_runner()  # resizes inputs to the given shapes per call
    check_tflite_inputs(runner.get_input_details(), inputs)
    # The first call applies the XNNPACK delegate, which LiteRT announces on stderr ("INFO: Created
    # TensorFlow Lite XNNPACK delegate for CPU."): hidden as the CLI's log level asks.
    with quiet_native_stderr():
        return {k: np.asarray(v) for k, v in runner(**inputs).items()}
