"""SavedModel export in TF Serving's layout: saved_models/<name>/<version>/, tag `serve`.

Signatures (pre- and post-processing inside the graph, so clients never rescale):
- `serving_default`: `latent` float32 [batch, latent_dim] -> `images` uint8 [batch, H, W, C]
- `generate`: `latent` -> `images` float32 in [-1, 1] (the generator's raw output)
- `sample`: `seed` int64 scalar, `num_samples` int32 scalar -> `images` uint8, drawn with
  stateless RNG: the same seed gives the same images on any server (and as `model.generate`)
- `sample_png`: like `sample`, returns `png_bytes` (TF Serving's REST API base64-wraps string
  outputs whose name ends in `_bytes`)
Bad input fails inside the graph with an InvalidArgument error that names the input.
Super-resolution models (srgan) and translation models (cyclegan) get image-to-image signatures
instead (super_resolution.py, translation.py); style-based generators add truncation, mapping and
synthesis signatures (style.py).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganzoo.errors import GanzooError
from ganzoo.models.base import GAN, latents_for_seed

MAX_SAMPLES = 1024  # per `sample` request: bounds a server's memory for one call
REFERENCE_FILE = "ganzoo_reference.npz"  # Keras outputs for verify-export, in assets.extra/


def to_uint8_images(images):
    """[-1, 1] floats -> uint8, rounded the same way as `ganzoo.images.to_uint8`."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def checked(value, rank: int, message: str, extra=()):
    """`value` once its rank (and any `extra` conditions) hold at run time. Signature input
    specs have unknown rank on purpose: a loaded signature does not enforce declared shapes, and
    a static shape would let the graph fold these checks away."""
    checks = [tf.debugging.assert_equal(tf.rank(value), rank, message=message)]
    with tf.control_dependencies(checks):
        checks += [tf.debugging.assert_equal(condition(value), True, message=message) for condition in extra]
    with tf.control_dependencies(checks):
        return tf.identity(value)  # callers give it its static shape with tf.ensure_shape


def checked_latent(latent, latent_dim: int):
    message = f"latent must be a float32 tensor of shape [batch, {latent_dim}]"
    latent = checked(latent, 2, message, [lambda x: tf.equal(tf.shape(x)[1], latent_dim)])
    return tf.ensure_shape(latent, [None, latent_dim])


def checked_count(num_samples):
    message = f"num_samples must be an int32 scalar between 1 and {MAX_SAMPLES}"
    return tf.ensure_shape(checked(num_samples, 0, message, [lambda n: tf.logical_and(n >= 1, n <= MAX_SAMPLES)]), [])


def checked_labels(label, num_classes: int, batch):
    message = f"label must be an int32 tensor of shape [batch] with values in [0, {num_classes})"
    in_range = lambda y: tf.reduce_all((y >= 0) & (y < num_classes))
    label = checked(label, 1, message, [lambda y: tf.equal(tf.size(y), batch), in_range])
    return tf.ensure_shape(label, [None])


def checked_class(label, num_classes: int):
    message = f"label must be an int32 scalar in [0, {num_classes})"
    label = checked(label, 0, message, [lambda y: (y >= 0) & (y < num_classes)])
    return tf.ensure_shape(label, [])


def serving_functions(model: GAN) -> dict[str, tf.types.experimental.GenericFunction]:
    """The named signatures of a latent-to-image generator; conditional models (num_classes > 0)
    take a `label` in each: [batch] with `latent`, a scalar class with `seed`."""
    generator, latent_dim, classes = model.sampling_generator, model.latent_dim, model.num_classes

    def generate_images(latent, label=None):
        latent = checked_latent(latent, latent_dim)
        if not classes:
            return generator(latent, training=False)
        return generator([latent, checked_labels(label, classes, tf.shape(latent)[0])], training=False)

    def sampled(seed, num_samples, label=None):
        seed = tf.ensure_shape(checked(seed, 0, "seed must be an int64 scalar"), [])
        count = checked_count(num_samples)
        latents = latents_for_seed(count, latent_dim, seed)
        if not classes:
            return generator(latents, training=False)
        return generator([latents, tf.fill([count], checked_class(label, classes))], training=False)

    label_spec = [tf.TensorSpec(None, tf.int32, name="label")] if classes else []
    latent_specs = [tf.TensorSpec(None, tf.float32, name="latent")] + label_spec
    sample_specs = [tf.TensorSpec(None, tf.int64, name="seed"), tf.TensorSpec(None, tf.int32, name="num_samples")]
    sample_specs += label_spec
    encode_pngs = lambda images: tf.map_fn(tf.io.encode_png, to_uint8_images(images), fn_output_signature=tf.string)

    def endpoint(make_images, specs, outputs):
        return tf.function(lambda *inputs: outputs(make_images(*inputs)), input_signature=specs)

    return {
        "serving_default": endpoint(generate_images, latent_specs, lambda x: {"images": to_uint8_images(x)}),
        "generate": endpoint(generate_images, latent_specs, lambda x: {"images": x}),
        "sample": endpoint(sampled, sample_specs, lambda x: {"images": to_uint8_images(x)}),
        "sample_png": endpoint(sampled, sample_specs, lambda x: {"png_bytes": encode_pngs(x)}),
    }


def example_inputs(model: GAN, count: int = 8, seed: int = 2024) -> dict[str, dict[str, np.ndarray]]:
    """Inputs per signature that verification and the TF Serving warmup requests use."""
    latent = {"latent": latents_for_seed(count, model.latent_dim, seed).numpy()}
    sample = {"seed": np.array(seed, np.int64), "num_samples": np.array(count, np.int32)}
    if model.num_classes:
        latent["label"] = (np.arange(count) % model.num_classes).astype(np.int32)
        sample["label"] = np.array(count % model.num_classes, np.int32)
    return {"serving_default": latent, "generate": latent, "sample": sample, "sample_png": sample}


def next_version_dir(model_dir: Path) -> Path:
    versions = [int(p.name) for p in model_dir.iterdir() if re.fullmatch(r"\d+", p.name)] if model_dir.exists() else []
    return model_dir / str(max(versions, default=0) + 1)


def export_saved_model(
    model: GAN, base: str | Path = "saved_models", name: str | None = None, tflite_modes: list[str] = ()
) -> Path:
    """Writes saved_models/<name>/<next version>/ (plus tflite/<name>.<mode>.tflite per mode)
    and returns it. Everything is written to a hidden staging directory and renamed into place:
    TF Serving, which polls for new version numbers, never sees half an export, and an existing
    version is never touched."""
    name = name or model.registry_name
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise GanzooError(f"export name {name!r} may hold only letters, digits, '_', '.' and '-'")
    model_dir = Path(base) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    functions, warmup_inputs, reference = task_export(model)
    archive = keras.export.ExportArchive()
    for layer in model.serving_layers():
        archive.track(layer)
    for endpoint, function in functions.items():
        archive.add_endpoint(endpoint, function)
    archive.write_out(str(staging), verbose=False)
    (staging / "assets.extra").mkdir(parents=True, exist_ok=True)
    np.savez(staging / "assets.extra" / REFERENCE_FILE, **reference)
    from ganzoo.export.serving import write_warmup_requests

    write_warmup_requests(staging / "assets.extra", warmup_inputs)
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


def task_export(model: GAN) -> tuple[dict, dict, dict]:
    """(serving functions, warmup request inputs, Keras reference outputs) for the model's task."""
    if model.task == "super_resolution":
        from ganzoo.export.super_resolution import (
            sr_example_inputs,
            sr_reference,
            sr_serving_functions,
        )

        return sr_serving_functions(model), sr_example_inputs(model), sr_reference(model)
    if model.task == "translate":
        from ganzoo.export.translation import (
            translation_example_inputs,
            translation_reference,
            translation_serving_functions,
        )

        return translation_serving_functions(model), translation_example_inputs(model), translation_reference(model)
    if model.serving == "style":
        from ganzoo.export.style import style_example_inputs, style_reference, style_serving_functions

        return style_serving_functions(model), style_example_inputs(model, count=2), style_reference(model)
    return serving_functions(model), example_inputs(model, count=2), generation_reference(model)


def generation_reference(model: GAN) -> dict[str, np.ndarray]:
    """Keras' own outputs for the example inputs, so verify-export needs no Keras model."""
    inputs = example_inputs(model)
    generate, sample = inputs["generate"], inputs["sample"]
    reference = {
        **generate,
        "images": model.generate(generate["latent"], labels=generate.get("label")),
        **{f"sample_{k}": v for k, v in sample.items()},
        "sample_images": model.generate(int(sample["num_samples"]), seed=int(sample["seed"]), labels=sample.get("label")),
    }
    return reference
