"""Generation: images from latent noise (vanilla, dcgan, cgan; conditional models also take a
class label).

Signatures (pre- and post-processing inside the graph, so clients never rescale):
- `serving_default`: `latent` float32 [batch, latent_dim] -> `images` uint8 [batch, H, W, C]
- `generate`: `latent` -> `images` float32 in [-1, 1] (the generator's raw output)
- `sample`: `seed` int64 scalar, `num_samples` int32 scalar -> `images` uint8, drawn with
  stateless RNG: the same seed gives the same images on any server (and as `model.generate`)
- `sample_png`: like `sample`, returns `png_bytes` (TF Serving's REST API base64-wraps string
  outputs whose name ends in `_bytes`)
Conditional models take a `label` in each: [batch] beside `latent`, a scalar class beside `seed`.
Bad input fails inside the graph with an InvalidArgument error that names the input. TFLite:
`latent` [batch, latent_dim] (+ `label` [batch]) -> `images` float32, any batch size.
"""

from __future__ import annotations

import numpy as np

from ganzoo.export.gates import GATES, compare
from ganzoo.export.signatures import (
    checked,
    checked_class,
    checked_count,
    checked_labels,
    checked_latent,
    encode_pngs,
)
from ganzoo.images import to_signed, to_uint8, to_uint8_tensor
from ganzoo.tasks.base import (
    Task,
    TFLiteNetwork,
    TrainingData,
    classes,
    percent,
    resized,
)

CALIBRATION_SAMPLES = 200  # int8 calibration draws, from the model's own latent prior
EXAMPLE_SEED = 2024


class GenerationTask(Task):
    name = "generation"

    # ------------------------------------------------------------------------- training
    def training_data(self, recipe, model, step: int) -> TrainingData:
        from ganzoo.data import load_images, training_dataset
        from ganzoo.errors import DataError

        data = load_images(recipe.data.source, model.image_shape, split=recipe.data.split, data_dir=recipe.data.data_dir or None,
                           download=recipe.data.download, max_examples=recipe.data.max_examples)
        if model.num_classes and data.labels is None:
            raise DataError(f"{recipe.model.name} is conditional but {data.description} has no labels")
        if model.num_classes and data.num_classes > model.num_classes:
            raise DataError(f"{data.description} has {data.num_classes} classes; the model was built for {model.num_classes}")
        labels = data.labels if model.num_classes else None
        dataset = training_dataset(data.images, recipe.train.batch_size, recipe.train.seed, start_step=step, labels=labels)
        return TrainingData(dataset, data.description)

    def panels(self, model, preview, count: int, seed: int) -> dict:
        """A fixed-latent grid; conditional models: one row per class, the same latents in each."""
        if not model.num_classes:
            return {"samples": (model.generate(count, seed=seed), None)}
        columns = max(1, count // model.num_classes)
        latents = np.tile(model.sample_latents(columns, seed), (model.num_classes, 1))
        labels = np.repeat(np.arange(model.num_classes), columns)
        return {"samples": (model.generate(latents, labels=labels), columns)}

    def measure(self, model, recipe, num: int = 10000, seed: int = 0, **options) -> dict:
        """FID, KID, precision/recall and class coverage of `num` samples against `num` real test
        images, on the dataset's classifier features (Inception for other data); conditional
        models also: how often the classifier recognises the requested class."""
        from ganzoo.metrics.session import MetricSession

        session = MetricSession(recipe.data.source, model.image_shape, num, options.get("extractor"), "test",
                                data_dir=recipe.data.data_dir or None, train_missing=True)
        labels = model.check_labels(None, num)
        fake = session.features(model.generate(num, seed=seed, labels=labels))
        values = session.compare(fake, ["fid", "kid", "pr", "coverage"])
        if labels is not None:
            values["label_accuracy"] = float((fake.probabilities.argmax(axis=1) == labels).mean())
        return session.result(model, values, seed)

    def write_samples(self, model, out, num: int, seed: int, labels=None, **options):
        from ganzoo.images import write_image_stream

        return write_image_stream(out, model.iter_generate(num, seed=seed, labels=labels, **options), num, model.image_shape)

    def headline(self, metrics: dict) -> str:
        text = f"FID {metrics['fid']:.2f}, {classes(metrics['coverage_classes'])}"
        return text + (f", label recognised {percent(metrics['label_accuracy'])}" if "label_accuracy" in metrics else "")

    def bench_dataset(self, model, batch: int):
        from ganzoo.data import training_dataset
        from ganzoo.data.sources import benchmark_images

        images, description = benchmark_images(model.image_shape)
        labels = (np.arange(len(images)) % model.num_classes).astype(np.int32) if model.num_classes else None
        return training_dataset(images, batch, seed=0, labels=labels), description

    # --------------------------------------------------------------------------- export
    def serving_functions(self, model, limits=None) -> dict:  # latents bound nothing (num_samples is capped)
        import tensorflow as tf

        from ganzoo.models.base import latents_for_seed

        generator, latent_dim, classes = model.sampling_generator, model.latent_dim, model.num_classes

        def generate_images(latent, label=None):
            latent = checked_latent(latent, latent_dim)
            if not classes:
                return generator(latent, training=False)
            return generator([latent, checked_labels(label, classes, tf.shape(latent)[0])], training=False)

        def sampled(seed, num_samples, label=None):
            seed = checked(seed, 0, "seed must be an int64 scalar")
            count = checked_count(num_samples)
            latents = latents_for_seed(count, latent_dim, seed)
            if not classes:
                return generator(latents, training=False)
            return generator([latents, tf.fill([count], checked_class(label, classes))], training=False)

        label_spec = [tf.TensorSpec([None], tf.int32, name="label")] if classes else []
        latent_specs = [tf.TensorSpec([None, latent_dim], tf.float32, name="latent")] + label_spec
        sample_specs = [tf.TensorSpec([], tf.int64, name="seed"), tf.TensorSpec([], tf.int32, name="num_samples")]
        sample_specs += [tf.TensorSpec([], tf.int32, name="label")] if classes else []

        def endpoint(make_images, specs, outputs):
            return tf.function(lambda *inputs: outputs(make_images(*inputs)), input_signature=specs)

        return {
            "serving_default": endpoint(generate_images, latent_specs, lambda x: {"images": to_uint8_tensor(x)}),
            "generate": endpoint(generate_images, latent_specs, lambda x: {"images": x}),
            "sample": endpoint(sampled, sample_specs, lambda x: {"images": to_uint8_tensor(x)}),
            "sample_png": endpoint(sampled, sample_specs, lambda x: {"png_bytes": encode_pngs(x)}),
        }

    def example_inputs(self, model, count: int = 8, seed: int = EXAMPLE_SEED) -> dict[str, dict[str, np.ndarray]]:
        """Inputs per signature that verification and the TF Serving warmup requests use."""
        from ganzoo.models.base import latents_for_seed

        latent = {"latent": latents_for_seed(count, model.latent_dim, seed).numpy()}
        sample = {"seed": np.array(seed, np.int64), "num_samples": np.array(count, np.int32)}
        if model.num_classes:
            latent["label"] = (np.arange(count) % model.num_classes).astype(np.int32)
            sample["label"] = np.array(count % model.num_classes, np.int32)
        return {"serving_default": latent, "generate": latent, "sample": sample, "sample_png": sample}

    def warmup_inputs(self, model) -> dict:
        return self.example_inputs(model, count=2)

    def reference(self, model) -> dict[str, np.ndarray]:
        inputs = self.example_inputs(model)
        generate, sample = inputs["generate"], inputs["sample"]
        return {
            **generate,
            "images": model.generate(generate["latent"], labels=generate.get("label")),
            **{f"sample_{k}": v for k, v in sample.items()},
            "sample_images": model.generate(int(sample["num_samples"]), seed=int(sample["seed"]), labels=sample.get("label")),
        }

    def tflite_networks(self, model) -> dict:
        import tensorflow as tf

        generator = model.sampling_generator
        specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent")]
        if model.num_classes:
            specs.append(tf.TensorSpec([None], tf.int32, name="label"))
        function = tf.function(lambda *inputs: {"images": generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False)},
                               input_signature=specs)
        return {"": TFLiteNetwork(function, [generator])}

    def calibration_inputs(self, model) -> list:
        from ganzoo.models.base import latents_for_seed

        latents = latents_for_seed(CALIBRATION_SAMPLES, model.latent_dim, seed=7).numpy()
        samples = []
        for i in range(CALIBRATION_SAMPLES):
            sample = {"latent": latents[i : i + 1]}
            if model.num_classes:
                sample["label"] = np.array([i % model.num_classes], np.int32)
            samples.append(sample)
        return samples

    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite) -> list:
        import tensorflow as tf

        images = reference["images"]
        inputs = {k: reference[k] for k in ("latent", "label") if k in reference}
        sample = {k[len("sample_"):]: tf.constant(v) for k, v in reference.items() if k.startswith("sample_") and k != "sample_images"}
        feed = {k: tf.constant(v) for k, v in inputs.items()}
        as_served, sample_served = to_signed(to_uint8(images)), to_signed(to_uint8(reference["sample_images"]))
        uint8_gate = GATES["saved_model_uint8"]
        checks = [
            compare("generate", "saved_model", signatures["generate"](**feed)["images"], images, GATES["saved_model"]),
            compare("serving_default", "saved_model", to_signed(signatures["serving_default"](**feed)["images"]), as_served, uint8_gate),
            compare("sample", "saved_model", to_signed(signatures["sample"](**sample)["images"]), sample_served, uint8_gate),
        ]
        pngs = signatures["sample_png"](**sample)["png_bytes"].numpy()
        decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
        checks.append(compare("sample_png", "saved_model", to_signed(decoded), sample_served, uint8_gate))
        for path in tflite_files:
            mode = path.name.rsplit(".", 2)[-2]
            checks.append(compare("serving_default", f"tflite {mode}", run_tflite(path, inputs)["images"], images, GATES[mode]))
        return checks

    def bench_serve_inputs(self, reference: dict, batch: int):
        inputs = {"latent": np.random.default_rng(0).standard_normal((batch, reference["latent"].shape[-1])).astype("float32")}
        if "label" in reference:
            inputs["label"] = resized(reference["label"], batch).astype(np.int32)
        return "generate", inputs, inputs
