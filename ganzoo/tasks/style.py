"""Style-based generation (stylegan_lite): the generation task's data, with truncation, style
mixing and the mapping / synthesis halves in the export. Every signature uses the EMA generator
with its constant noise maps (so the same inputs give the same images on any server):

- `serving_default`: `latent` float32 [batch, latent_dim], `truncation_psi` float32 scalar ->
  `images` uint8 [batch, H, W, C]
- `generate`: the same inputs -> `images` float32 in [-1, 1]
- `sample`: `seed` int64, `num_samples` int32, `truncation_psi` float32 scalars -> `images` uint8
  (the latents of `model.generate(num_samples, seed=seed)`)
- `sample_png`: like `sample` -> `png_bytes`
- `mapping`: `latent`, `truncation_psi` -> `w` float32 [batch, w_dim] (truncated toward the tracked
  average w)
- `synthesis`: `ws` float32 [batch, num_ws, w_dim] (one w per layer) -> `images` uint8: a client
  mixes styles by taking layers < k from one mapping output and the rest from another.
TFLite: `latent` [batch, latent_dim], `truncation_psi` scalar -> `images` float32, builtin ops at
any batch size (the modulated convolutions are in input-modulation form).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ganzoo.export.gates import GATES, compare
from ganzoo.export.signatures import (
    checked,
    checked_count,
    checked_latent,
    dims,
    encode_pngs,
)
from ganzoo.images import to_signed, to_uint8, to_uint8_tensor
from ganzoo.tasks.base import TFLiteNetwork
from ganzoo.tasks.generation import CALIBRATION_SAMPLES, EXAMPLE_SEED, GenerationTask

EXAMPLE_PSI = 0.7
STYLE_SCALE_FLOOR = 1e-2  # of a layer's largest scale: a style that is ~0 everywhere keeps a finite one


def checked_psi(truncation_psi):
    import tensorflow as tf

    message = "truncation_psi must be a finite float32 scalar"
    return checked(truncation_psi, 0, message, [lambda p: tf.math.is_finite(p)])


def style_pipeline(model):
    """Graph functions (latent, psi) -> w, ws -> images in [-1, 1] and w -> ws, shared by the
    SavedModel and TFLite, all from the EMA generator with its constant noise maps."""
    import tensorflow as tf

    mapping, synthesis, noise_layers = model.parts(model.sampling_generator)
    noises, w_avg = [layer.noise for layer in noise_layers], model.w_average.w_avg

    def to_w(latent, psi):
        w = mapping(latent, training=False)
        return w_avg + psi * (w - w_avg)

    def to_images(ws):
        batch = tf.shape(ws)[0]
        maps = [tf.repeat(noise, batch, axis=0) for noise in noises]
        return tf.clip_by_value(tf.cast(synthesis([ws, *maps], training=False), tf.float32), -1.0, 1.0)

    def broadcast(w):
        return tf.repeat(w[:, None, :], model.num_ws, axis=1)

    return to_w, to_images, broadcast


@contextmanager
def int8_form(model, latents, truncation_psi):
    """While open, each modulated convolution of the EMA generator divides its styles by their RMS
    over `latents` (truncated by `truncation_psi`, one per latent) and multiplies its kernel's input
    channels by it, and the noise injections' sqrt 2 activation gain moves into the constants of
    the modulated convolutions that read them (one int8 rescale less per layer): the same function
    to float rounding. Full-int8 TFLite of a 1500-step model measured 27.0 dB with the style scales
    instead of 24.9 dB (its styles span channels of very different size); of the 20000-step zoo
    model, 24.6-25.2 dB without the gain move and 25.2-25.8 dB with it (32 latents, psi 0.5-1)."""
    from keras import ops

    from ganzoo.layers.style import SQRT2, ModulatedConv2D, NoiseInjection

    mapping, synthesis, _ = model.parts(model.sampling_generator)
    w = model.w_average(mapping(np.asarray(latents, np.float32), training=False),
                        truncation_psi=np.asarray(truncation_psi, np.float32))
    layers = [layer for layer in synthesis.layers if isinstance(layer, ModulatedConv2D)]
    noise_layers = [layer for layer in synthesis.layers if isinstance(layer, NoiseInjection)]
    try:  # set inside the try: a failure half-way leaves no layer changed
        for layer in layers:
            rms = np.sqrt(np.mean(np.square(ops.convert_to_numpy(layer.affine(w))), axis=0))
            layer.style_scale = np.maximum(rms, STYLE_SCALE_FLOOR * rms.max()).astype(np.float32)
            if layer.w_index > 0:  # every modulated conv but the first reads a noise injection's output
                layer.input_gain = SQRT2
        for layer in noise_layers:
            layer.gain = 1.0
        yield
    finally:
        for layer in layers:
            layer.style_scale = layer.input_gain = None
        for layer in noise_layers:
            vars(layer).pop("gain", None)  # back to the class's


class StyleTask(GenerationTask):
    name = "style"

    def panels(self, model, preview, count: int, seed: int) -> dict:
        """Samples, a style-mixing grid and a latent interpolation strip."""
        seeds = [seed + i for i in range(1, 9)]
        return {"samples": (model.generate(count, seed=seed), None),
                "style_mixing": model.style_mix(seeds[:4], seeds[4:8], crossover=min(3, model.num_ws - 1)),
                "interpolation": model.interpolation_strip(seeds[:3], steps=8)}

    # --------------------------------------------------------------------------- export
    def serving_layers(self, model) -> list:
        return [model.sampling_generator, model.w_average]

    def serving_functions(self, model, limits=None) -> dict:  # latents bound nothing (num_samples is capped)
        import tensorflow as tf

        from ganzoo.models.base import latents_for_seed

        to_w, to_images, broadcast = style_pipeline(model)
        latent_dim, num_ws, w_dim = model.latent_dim, model.num_ws, model.w_dim

        def from_latent(latent, truncation_psi):
            return to_images(broadcast(to_w(checked_latent(latent, latent_dim), checked_psi(truncation_psi))))

        def from_seed(seed, num_samples, truncation_psi):
            seed = checked(seed, 0, "seed must be an int64 scalar")
            latents = latents_for_seed(checked_count(num_samples), latent_dim, seed)
            return to_images(broadcast(to_w(latents, checked_psi(truncation_psi))))

        def mapping(latent, truncation_psi):
            return {"w": to_w(checked_latent(latent, latent_dim), checked_psi(truncation_psi))}

        def synthesis(ws):
            message = f"ws must be a float32 tensor of shape [batch, {num_ws}, {w_dim}]"
            ws = checked(ws, 3, message, [lambda x: tf.equal(dims(x, 1, 2), [num_ws, w_dim])], shape=[None, num_ws, w_dim])
            return {"images": to_uint8_tensor(to_images(ws))}

        latent_specs = [tf.TensorSpec([None, latent_dim], tf.float32, name="latent"),
                        tf.TensorSpec([], tf.float32, name="truncation_psi")]
        sample_specs = [tf.TensorSpec([], tf.int64, name="seed"), tf.TensorSpec([], tf.int32, name="num_samples"),
                        tf.TensorSpec([], tf.float32, name="truncation_psi")]

        def endpoint(function, specs, outputs=None):
            wrapped = function if outputs is None else (lambda *inputs: outputs(function(*inputs)))
            return tf.function(wrapped, input_signature=specs)

        return {
            "serving_default": endpoint(from_latent, latent_specs, lambda x: {"images": to_uint8_tensor(x)}),
            "generate": endpoint(from_latent, latent_specs, lambda x: {"images": x}),
            "sample": endpoint(from_seed, sample_specs, lambda x: {"images": to_uint8_tensor(x)}),
            "sample_png": endpoint(from_seed, sample_specs, lambda x: {"png_bytes": encode_pngs(x)}),
            "mapping": endpoint(mapping, latent_specs),
            "synthesis": endpoint(synthesis, [tf.TensorSpec([None, num_ws, w_dim], tf.float32, name="ws")]),
        }

    def example_inputs(self, model, count: int = 4, seed: int = EXAMPLE_SEED) -> dict:
        from ganzoo.models.base import latents_for_seed

        psi = np.array(EXAMPLE_PSI, np.float32)
        latent = {"latent": latents_for_seed(count, model.latent_dim, seed).numpy(), "truncation_psi": psi}
        sample = {"seed": np.array(seed, np.int64), "num_samples": np.array(count, np.int32), "truncation_psi": psi}
        return {"serving_default": latent, "generate": latent, "sample": sample, "sample_png": sample, "mapping": latent}

    def warmup_inputs(self, model) -> dict:
        return self.example_inputs(model, count=2)

    def reference(self, model) -> dict:
        """Keras' outputs for the example inputs, including a style-mixed ws for `synthesis`."""
        from keras import ops

        from ganzoo.models.stylegan_lite import mix_styles

        inputs = self.example_inputs(model)
        latent, psi = inputs["generate"]["latent"], float(EXAMPLE_PSI)
        w = ops.convert_to_numpy(model.mapped(latent, psi))
        crossover = model.num_ws // 2
        ws = ops.convert_to_numpy(mix_styles(w, np.roll(w, 1, axis=0), np.full([len(w)], crossover), model.num_ws))
        return {
            "style_latent": latent, "style_psi": np.asarray(psi, np.float32),
            "style_images": model.generate(latent, truncation_psi=psi),
            "style_w": w, "style_ws": ws, "style_mixed_images": model.synthesize(ws),
            "style_sample_seed": inputs["sample"]["seed"], "style_sample_num": inputs["sample"]["num_samples"],
            "style_sample_images": model.generate(int(inputs["sample"]["num_samples"]), seed=int(inputs["sample"]["seed"]),
                                                  truncation_psi=psi),
        }

    def tflite_networks(self, model) -> dict:
        import tensorflow as tf

        to_w, to_images, broadcast = style_pipeline(model)
        specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent"),
                 tf.TensorSpec([], tf.float32, name="truncation_psi")]
        function = tf.function(lambda latent, psi: {"images": to_images(broadcast(to_w(latent, psi)))}, input_signature=specs)
        return {"": TFLiteNetwork(function, self.serving_layers(model))}

    def calibration_inputs(self, model) -> list:
        samples = super().calibration_inputs(model)
        for i, sample in enumerate(samples):  # truncation from 0.5 to 1, the range people sample with
            sample["truncation_psi"] = np.array(0.5 + 0.5 * i / (CALIBRATION_SAMPLES - 1), np.float32)
        return samples

    def tflite_form(self, model, mode: str):
        """Full int8 converts with normalised styles, calibrated on the calibration inputs. Not the
        other modes: per-channel weight quantization (dynamic) loses 2.5 dB when the kernels' input
        channels are rescaled."""
        if mode != "int8":
            return super().tflite_form(model, mode)
        samples = self.calibration_inputs(model)
        return int8_form(model, np.concatenate([s["latent"] for s in samples]),
                                 np.array([s["truncation_psi"] for s in samples]))

    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite) -> list:
        """Every signature (mapping and a style-mixed synthesis too) and each TFLite mode."""
        import tensorflow as tf

        latent = {"latent": tf.constant(reference["style_latent"]), "truncation_psi": tf.constant(reference["style_psi"])}
        sample = {"seed": tf.constant(reference["style_sample_seed"]), "num_samples": tf.constant(reference["style_sample_num"]),
                  "truncation_psi": tf.constant(reference["style_psi"])}
        images, sample_images = reference["style_images"], reference["style_sample_images"]
        served = lambda x: to_signed(to_uint8(x))  # noqa: E731
        uint8_gate = GATES["saved_model_uint8"]
        checks = [
            compare("generate", "saved_model", signatures["generate"](**latent)["images"], images, GATES["saved_model"]),
            compare("serving_default", "saved_model", to_signed(signatures["serving_default"](**latent)["images"]),
                    served(images), uint8_gate),
            compare("sample", "saved_model", to_signed(signatures["sample"](**sample)["images"]), served(sample_images), uint8_gate),
            compare("mapping", "saved_model", signatures["mapping"](**latent)["w"], reference["style_w"], GATES["saved_model"]),
            compare("synthesis", "saved_model", to_signed(signatures["synthesis"](ws=tf.constant(reference["style_ws"]))["images"]),
                    served(reference["style_mixed_images"]), uint8_gate),
        ]
        pngs = signatures["sample_png"](**sample)["png_bytes"].numpy()
        decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
        checks.append(compare("sample_png", "saved_model", to_signed(decoded), served(sample_images), uint8_gate))
        inputs = {"latent": reference["style_latent"], "truncation_psi": reference["style_psi"]}
        for path in tflite_files:
            mode = path.name.rsplit(".", 2)[-2]
            checks.append(compare("serving_default", f"tflite {mode}", run_tflite(path, inputs)["images"], images, GATES[mode]))
        return checks

    def bench_serve_inputs(self, reference: dict, batch: int):
        latent = np.random.default_rng(0).standard_normal((batch, reference["style_latent"].shape[-1])).astype("float32")
        inputs = {"latent": latent, "truncation_psi": np.asarray(reference["style_psi"], np.float32)}
        return "generate", inputs, inputs


