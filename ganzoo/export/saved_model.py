"""SavedModel export in TF Serving's layout: saved_models/<name>/<version>/, tag `serve`.

The signatures, warmup requests and reference outputs come from the model's task
(ganzoo/tasks/); this module writes them: the archive, assets.extra/ (reference outputs for
verify-export, TF Serving's warmup file, and ganzoo_export.json naming the task), the TFLite files,
and the version directory, renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.files import atomic_write_bytes, check_name
from ganzoo.tasks import task_of
from ganzoo.tasks.base import ServingLimits

REFERENCE_FILE = "ganzoo_reference.npz"  # Keras outputs for verify-export, in assets.extra/
EXPORT_FILE = "ganzoo_export.json"  # what was exported: the task (how to verify it), model, version


def next_version_dir(model_dir: Path) -> Path:
    versions = [int(p.name) for p in model_dir.iterdir() if re.fullmatch(r"\d+", p.name)] if model_dir.exists() else []
    return model_dir / str(max(versions, default=0) + 1)


def export_saved_model(model, base: str | Path = "saved_models", name: str | None = None, tflite_modes: list[str] = (),
                       limits: ServingLimits = ServingLimits()) -> Path:
    """Writes saved_models/<name>/<next version>/ (plus tflite/<name>.<mode>.tflite per mode)
    and returns it. Everything is written to a hidden staging directory and renamed into place:
    TF Serving, which polls for new version numbers, never sees half an export, and an existing
    version is never touched."""
    import keras

    import ganzoo
    from ganzoo.export.serving import write_warmup_requests

    name = check_name("the export name", name or model.registry_name)
    task = task_of(model)
    model_dir = Path(base) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    archive = keras.export.ExportArchive()
    for layer in task.serving_layers(model):
        archive.track(layer)
    functions = task.serving_functions(model, limits)
    for endpoint, function in functions.items():
        archive.add_endpoint(endpoint, traced_without_shapes(function))
    archive.write_out(str(staging), verbose=False)
    advertise_shapes(staging, {name: function.input_signature for name, function in functions.items()})
    extra = staging / "assets.extra"
    extra.mkdir(parents=True, exist_ok=True)
    np.savez(extra / REFERENCE_FILE, **task.reference(model))
    (extra / EXPORT_FILE).write_text(json.dumps({"task": task.name, "model": model.registry_name, "ganzoo": ganzoo.__version__,
                                                 "max_pixels": limits.max_pixels, "tile": limits.tile}))
    write_warmup_requests(extra, task.warmup_inputs(model))
    if tflite_modes:
        from ganzoo.export.tflite import export_tflite

        export_tflite(model, staging, list(tflite_modes), name)
    while True:
        version_dir = next_version_dir(model_dir)
        try:
            os.rename(staging, version_dir)  # fails if another export took this number first
            return version_dir
        except OSError:
            if not version_dir.exists():
                raise


def traced_without_shapes(function):
    """`function` (a tf.function with a declared input signature) traced for inputs of any shape,
    so that its in-graph checks of rank and size stay in the graph (export/signatures.py)."""
    import tensorflow as tf

    relaxed = [tf.TensorSpec(None, spec.dtype, name=spec.name) for spec in function.input_signature]
    return tf.function(function.python_function, input_signature=relaxed)


def advertise_shapes(saved_model_dir: Path, specs: dict[str, list]) -> None:
    """Writes each signature's declared input shapes into saved_model.pb's signature_defs: what
    `saved_model_cli show` and TF Serving's metadata endpoint tell clients ([-1, latent_dim], [],
    [-1, -1, -1, 3], ...) instead of unknown_rank."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(saved_model_dir) / "saved_model.pb"
    saved_model = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    for meta_graph in saved_model.meta_graphs:
        for name, signature_specs in specs.items():
            inputs = meta_graph.signature_def[name].inputs
            for spec in signature_specs:
                inputs[spec.name].tensor_shape.CopyFrom(spec.shape.as_proto())
    atomic_write_bytes(path, saved_model.SerializeToString())


def check_export_dir(version_dir: str | Path) -> Path:
    """The export's assets.extra folder; a one-line error if VERSION_DIR is not a ganzoo export."""
    extra = Path(version_dir) / "assets.extra"
    if not (extra / REFERENCE_FILE).is_file() or not (extra / EXPORT_FILE).is_file():
        raise GanzooError(f"{version_dir} is not a ganzoo export (no assets.extra/{EXPORT_FILE} and {REFERENCE_FILE})")
    return extra


def read_export(version_dir: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(ganzoo_export.json, the reference outputs) of an export; a one-line error otherwise."""
    extra = check_export_dir(version_dir)
    return json.loads((extra / EXPORT_FILE).read_text()), dict(np.load(extra / REFERENCE_FILE, allow_pickle=False))
