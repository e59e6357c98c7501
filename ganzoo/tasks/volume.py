"""Volume: 3D occupancy grids from latent noise (gan3d).

Signatures (the generator's sigmoid occupancy p in [0, 1]; a voxel is solid where p > 0.5):
- `serving_default`: `latent` float32 [batch, latent_dim] -> `volumes` uint8 [batch, D, H, W, 1]
  (round(255 p): 128 and above is solid)
- `generate`: `latent` -> `volumes` float32 p
- `sample`: `seed` int64 scalar, `num_samples` int32 scalar -> `volumes` uint8, stateless: the
  same seed gives the same shapes on any server (and as `model.generate`)
TFLite: `latent` -> `volumes` float32 p, any batch size (CONV_3D / CONV_3D_TRANSPOSE builtins).
verify-export compares occupancy: the IoU of the grids thresholded at 0.5 besides max |diff|.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.export.gates import Gate, compare_occupancy
from ganzoo.export.signatures import checked, checked_count, checked_latent
from ganzoo.tasks.base import Task, TFLiteNetwork, TrainingData, classes

CALIBRATION_SAMPLES = 100
EXAMPLE_SEED = 2024
BENCH_SHAPES = 512
# Occupancy gates: the thresholded grids must agree (IoU) and the values be close: max |diff| of
# p where the computation is the same, PSNR (p on the [-1, 1] scale) where it is rounded. A
# quantized file moves a few voxels near 0.5 across it (trained gan3d/32: int8 max |diff| 0.62
# at IoU 0.964 and 34 dB), which a max |diff| gate would fail and a mesh does not show.
VOLUME_GATES = {
    "saved_model": Gate(max_abs_diff=1e-4, min_iou=0.99),
    "saved_model_uint8": Gate(max_abs_diff=1 / 255 + 1e-6, min_iou=0.99, label="<= 1 level, IoU >= 0.99"),
    "float32": Gate(max_abs_diff=1e-4, min_iou=0.99),
    "float16": Gate(min_psnr=40.0, min_iou=0.99),
    "dynamic": Gate(min_psnr=25.0, min_iou=0.9),
    "int8": Gate(min_psnr=25.0, min_iou=0.9),
}


def occupancy_float(volumes):
    """uint8 {0, 1} grids -> float32 occupancy, as the generator makes it."""
    import tensorflow as tf

    return tf.cast(volumes, tf.float32)


def occupancy_uint8(volumes):
    import tensorflow as tf

    return tf.cast(tf.round(tf.clip_by_value(volumes, 0.0, 1.0) * 255.0), tf.uint8)


class VolumeTask(Task):
    name = "volume"
    evaluation_metrics = ("fid", "pr", "coverage", "nna", "fragments")  # no kid: kinds.REFUSED_METRICS
    distance_name = "FD"  # a Frechet distance, but not on Inception features

    # ------------------------------------------------------------------------- training
    def training_data(self, recipe, model, step: int) -> TrainingData:
        from ganzoo.data import training_dataset
        from ganzoo.data.voxels import load_volumes

        data = load_volumes(recipe.data.source, model.volume_size, recipe.data.split, recipe.data.max_examples)
        dataset = training_dataset(data.volumes, recipe.train.batch_size, recipe.train.seed, start_step=step, to_float=occupancy_float)
        return TrainingData(dataset, data.description)

    def panels(self, model, preview, count: int, seed: int) -> dict:
        """Shaded renders of a fixed-latent batch."""
        from ganzoo.volumes import render_numpy

        return {"samples": (render_numpy(model.generate(count, seed=seed)), None)}

    def metric_session(self, model, source: str, num: int, extractor: str | None = None, split: str = "test",
                       data_dir: str | None = None, inception_weights: str | None = None, train_missing: bool = False):
        from ganzoo.metrics.volumes import VolumeMetricSession

        if extractor:
            raise GanzooError("volumes are measured with the volume classifier of their data; no other extractor")
        return VolumeMetricSession(source, model.volume_size, num, split)

    def measure(self, model, recipe, num: int = 2000, seed: int = 0, **options) -> dict:
        """Frechet distance on the volume classifier's features and class coverage of 5 x `num`
        samples against `num` real test grids, 1-NNA / coverage / MMD under IoU and fragments of
        `num` of them, with the real-vs-real floors (VolumeMetricSession.floor; no KID:
        kinds.REFUSED_METRICS)."""
        session = self.metric_session(model, recipe.data.source, num)
        return session.measure(model, ["fid", "coverage", "nna", "fragments"], seed)

    def headline(self, metrics: dict) -> str:
        floor = metrics.get("fid_real_vs_real")
        nna = f", 1-NNA {metrics['nna']:.3f}" if "nna" in metrics else ""
        return f"FD {metrics['fid']:.2f}" + (f" (real vs real {floor:.2f})" if floor is not None else "") + \
            f"{nna}, {classes(metrics['coverage_classes'])}"

    def bench_dataset(self, model, batch: int):
        from ganzoo.data import training_dataset
        from ganzoo.data.voxels import procedural_shapes

        data = procedural_shapes(BENCH_SHAPES, model.volume_size)
        return training_dataset(data.volumes, batch, seed=0, to_float=occupancy_float), data.description

    def write_samples(self, model, out: Path, num: int, seed: int, labels=None, **options) -> Path:
        """A folder: shape_XXXXXX.obj / .glb meshes, samples.png (renders, at most 64 shown) and
        volumes.npz (uint8 occupancy); or a `.npz` of the grids alone. A batch at a time."""
        from ganzoo.images import NpzWriter, write_images
        from ganzoo.volumes import render_numpy, to_uint8_occupancy, write_meshes

        out = Path(out)
        if options:
            raise GanzooError(f"{model.registry_name} takes no {', '.join(options)}")
        if out.suffix not in ("", ".npz"):
            raise GanzooError(f"shapes are written to a folder (meshes, renders and grids) or a .npz, not {out.name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        npz_path = out if out.suffix == ".npz" else out / "volumes.npz"
        if not out.suffix:
            out.mkdir(exist_ok=True)
        shown = []
        with NpzWriter(npz_path) as npz, npz.array("volumes", (num, *model.image_shape), np.uint8) as write:
            offset = 0
            for chunk in model.iter_generate(num, seed=seed):
                write(to_uint8_occupancy(chunk))
                if not out.suffix:
                    write_meshes(chunk, out, start=offset)
                    shown.append(render_numpy(chunk[: max(0, 64 - offset)]))
                offset += len(chunk)
        if not out.suffix:
            write_images(out / "samples.png", np.concatenate(shown))
        return out

    # --------------------------------------------------------------------------- export
    def serving_functions(self, model, limits=None) -> dict:  # latents bound nothing (num_samples is capped)
        import tensorflow as tf

        from ganzoo.models.base import latents_for_seed

        generator, latent_dim = model.sampling_generator, model.latent_dim

        def generate_volumes(latent):
            return generator(checked_latent(latent, latent_dim), training=False)

        def sampled(seed, num_samples):
            seed = checked(seed, 0, "seed must be an int64 scalar")
            return generator(latents_for_seed(checked_count(num_samples), latent_dim, seed), training=False)

        latent_specs = [tf.TensorSpec([None, latent_dim], tf.float32, name="latent")]
        sample_specs = [tf.TensorSpec([], tf.int64, name="seed"), tf.TensorSpec([], tf.int32, name="num_samples")]

        def endpoint(make, specs, outputs):
            return tf.function(lambda *inputs: outputs(make(*inputs)), input_signature=specs)

        return {
            "serving_default": endpoint(generate_volumes, latent_specs, lambda x: {"volumes": occupancy_uint8(x)}),
            "generate": endpoint(generate_volumes, latent_specs, lambda x: {"volumes": x}),
            "sample": endpoint(sampled, sample_specs, lambda x: {"volumes": occupancy_uint8(x)}),
        }

    def example_inputs(self, model, count: int = 4, seed: int = EXAMPLE_SEED) -> dict:
        from ganzoo.models.base import latents_for_seed

        latent = {"latent": latents_for_seed(count, model.latent_dim, seed).numpy()}
        sample = {"seed": np.array(seed, np.int64), "num_samples": np.array(count, np.int32)}
        return {"serving_default": latent, "generate": latent, "sample": sample}

    def warmup_inputs(self, model) -> dict:
        return self.example_inputs(model, count=2)

    def reference(self, model) -> dict:
        inputs = self.example_inputs(model)
        sample = inputs["sample"]
        return {
            **inputs["generate"],
            "volumes": model.generate(inputs["generate"]["latent"]),
            **{f"sample_{k}": v for k, v in sample.items()},
            "sample_volumes": model.generate(int(sample["num_samples"]), seed=int(sample["seed"])),
        }

    def tflite_networks(self, model) -> dict:
        import tensorflow as tf

        generator = model.sampling_generator
        function = tf.function(lambda latent: {"volumes": generator(latent, training=False)},
                               input_signature=[tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent")])
        return {"": TFLiteNetwork(function, [generator])}

    def calibration_inputs(self, model) -> list:
        from ganzoo.models.base import latents_for_seed

        latents = latents_for_seed(CALIBRATION_SAMPLES, model.latent_dim, seed=7).numpy()
        return [{"latent": latents[i : i + 1]} for i in range(CALIBRATION_SAMPLES)]

    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite) -> list:
        import tensorflow as tf

        volumes, sampled = reference["volumes"], reference["sample_volumes"]
        feed = {"latent": tf.constant(reference["latent"])}
        sample = {"seed": tf.constant(reference["sample_seed"]), "num_samples": tf.constant(reference["sample_num_samples"])}
        as_uint8 = lambda x: np.asarray(x, np.float32) / 255.0  # noqa: E731
        checks = [
            compare_occupancy("generate", "saved_model", signatures["generate"](**feed)["volumes"], volumes, VOLUME_GATES["saved_model"]),
            compare_occupancy("serving_default", "saved_model", as_uint8(signatures["serving_default"](**feed)["volumes"]),
                              volumes, VOLUME_GATES["saved_model_uint8"]),
            compare_occupancy("sample", "saved_model", as_uint8(signatures["sample"](**sample)["volumes"]), sampled,
                              VOLUME_GATES["saved_model_uint8"]),
        ]
        for path in tflite_files:
            mode = path.name.rsplit(".", 2)[-2]
            checks.append(compare_occupancy("serving_default", f"tflite {mode}", run_tflite(path, {"latent": reference["latent"]})["volumes"],
                                            volumes, VOLUME_GATES[mode]))
        return checks

    def bench_serve_inputs(self, reference: dict, batch: int):
        inputs = {"latent": np.random.default_rng(0).standard_normal((batch, reference["latent"].shape[-1])).astype("float32")}
        return "generate", inputs, inputs
