"""Super-resolution (srgan): (LR, HR) patch pairs to train on; image-to-image signatures for LR
images of any size:

- `serving_default`: `image` uint8 [batch, h, w, 3] -> `images` uint8 [batch, s h, s w, 3]
- `upscale`: `image` float32 [batch, h, w, 3] in [-1, 1] -> `images` float32 (the raw output)
- `upscale_png`: `image_bytes` one encoded PNG/JPEG (string scalar) -> `png_bytes` (REST clients
  get it base64-wrapped)
A wrong rank or channel count fails with an InvalidArgument error that names the input. TFLite:
`image` float32 [batch, h, w, 3] in [-1, 1], any size, -> `images` float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.export.gates import GATES, compare
from ganzoo.export.signatures import checked, checked_pixels, dims, encoded_image_size
from ganzoo.images import to_signed, to_signed_tensor, to_uint8, to_uint8_tensor
from ganzoo.tasks.base import ServingLimits, Task, TFLiteNetwork, TrainingData, resized

PREVIEW_PATCHES = 16
CALIBRATION_SAMPLES = 200
CALIBRATION_SIZE = 24  # LR pixels: SRResNet's receptive field at the LR scale, about


def checked_image(image, dtype_name: str):
    import tensorflow as tf

    message = f"image must be a {dtype_name} tensor of shape [batch, height, width, 3]"
    return checked(image, 4, message, [lambda x: tf.equal(dims(x, 3, 1), 3)], shape=[None, None, None, 3])


def smooth_images(count: int, size: int, channels: int, seed: int) -> np.ndarray:
    """Photo-like (smooth) float images in [-1, 1]: bicubic-upsampled 4x4 noise."""
    import tensorflow as tf

    coarse = np.random.default_rng(seed).uniform(-1, 1, (count, 4, 4, channels)).astype("float32")
    return tf.image.resize(coarse, (size, size), method="bicubic").numpy().clip(-1, 1)


def photo_like_uint8(count: int, height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """Photo-like (smooth) uint8 images of any size, for verification and warmup requests: what an
    image model serves. Per-pixel noise is no such image, and full int8 is far from float on it
    (the zoo's srgan_x4: 18.7 dB on noise, 39.2 dB on Set14 crops, 41.4 dB on these)."""
    import tensorflow as tf

    coarse_shape = (count, max(2, height // 4), max(2, width // 4), channels)
    coarse = np.random.default_rng(seed).uniform(0, 255, coarse_shape).astype(np.float32)
    return np.clip(np.round(tf.image.resize(coarse, (height, width), method="bicubic").numpy()), 0, 255).astype(np.uint8)


class SuperResolutionTask(Task):
    name = "super_resolution"
    use = "upscaling images"

    # ------------------------------------------------------------------------- training
    def training_data(self, recipe, model, step: int) -> TrainingData:
        from ganzoo.data.paired import sr_patch_bank, sr_training_dataset

        count = recipe.data.max_examples or 4096
        lr, hr, description = sr_patch_bank(recipe.data.source, model.hr_patch, model.scale, count, recipe.train.seed,
                                            recipe.data.data_dir or None, recipe.data.download)
        dataset = sr_training_dataset(lr, hr, recipe.train.batch_size, recipe.train.seed, start_step=step)
        return TrainingData(dataset, description, preview=to_signed(lr[:PREVIEW_PATCHES]))

    def panels(self, model, preview, count: int, seed: int) -> dict:
        """The upscaled preview LR patches (the first of the training bank)."""
        from keras import ops

        if preview is None:
            size = model.hr_patch // model.scale
            preview = np.zeros((1, size, size, 3), np.float32)
        return {"samples": (ops.convert_to_numpy(model.sampling_generator(preview[:count], training=False)).clip(-1, 1), None)}

    def measure(self, model, recipe, sr_sets=(), **options) -> dict:
        """Y-channel PSNR / SSIM (border shaved, full images) on each benchmark set, beside bicubic."""
        from ganzoo.errors import GanzooError
        from ganzoo.metrics.super_resolution import (
            bicubic_upscaler,
            evaluate_upscaler,
            load_sr_set,
        )

        if not sr_sets:
            raise GanzooError("a super-resolution model is measured on benchmark sets: give their folders (e.g. Set5, Set14)")
        values = {}
        for set_dir in sr_sets:
            pairs, name = load_sr_set(set_dir, model.scale), Path(set_dir).name
            for method, upscale in (("", model.upscale), ("bicubic_", bicubic_upscaler(model.scale))):
                row = evaluate_upscaler(upscale, pairs, model.scale)
                values[f"{name}_{method}psnr"], values[f"{name}_{method}ssim"] = row["psnr"], row["ssim"]
        protocol = {"sets": ", ".join(f"{Path(d).name} ({len(load_sr_set(d, model.scale))} images)" for d in sr_sets),
                    "scale": model.scale, "measure": "PSNR/SSIM on the Y channel, border of `scale` pixels shaved, full images",
                    "generator": "EMA" if model.ema_generator is not None else "raw"}
        return {"metrics": values, "protocol": protocol}

    def card_samples(self, model, recipe, sr_sets=(), **options):
        """Rows of bicubic, the model and the original for the central crops of a benchmark set's
        first images (the first of `sr_sets`; the preview panel without one)."""
        from ganzoo.metrics.super_resolution import bicubic_upscaler, load_sr_set

        scale, lr_crop, tiles = model.scale, 32, []
        for pair in load_sr_set(sr_sets[0], scale)[:4] if sr_sets else []:
            top, left = (pair.lr.shape[0] - lr_crop) // 2, (pair.lr.shape[1] - lr_crop) // 2
            if min(top, left) >= 0:  # images smaller than the crop are left out
                lr = pair.lr[top : top + lr_crop, left : left + lr_crop]
                hr = pair.hr[top * scale : (top + lr_crop) * scale, left * scale : (left + lr_crop) * scale]
                tiles += [bicubic_upscaler(scale)(lr), model.upscale(lr), hr]
        return (to_signed(np.stack(tiles)), 3) if tiles else super().card_samples(model, recipe)

    def limitations(self, model) -> str:
        return (f"It learned to undo bicubic x{model.scale} downscaling: photos with noise, blur or compression "
                "artefacts of other kinds are outside what it was trained on.")

    def headline(self, metrics: dict) -> str:
        sets = [key[: -len("_psnr")] for key in metrics if key.endswith("_psnr") and "_bicubic_" not in key]
        return ", ".join(f"{s} {metrics[f'{s}_psnr']:.2f} dB (bicubic {metrics[f'{s}_bicubic_psnr']:.2f})" for s in sets)

    def bench_dataset(self, model, batch: int):
        from ganzoo.data.paired import sr_training_dataset
        from ganzoo.data.sources import benchmark_images

        hr, description = benchmark_images((model.hr_patch, model.hr_patch, 3), count=1024)
        lr = hr[:, :: model.scale, :: model.scale]  # any LR patch of the right size times the same
        return sr_training_dataset(np.ascontiguousarray(lr), hr, batch, seed=0), f"{description} as HR patches"

    # --------------------------------------------------------------------------- export
    def serving_functions(self, model, limits: ServingLimits = ServingLimits()) -> dict:
        """Every signature refuses images over `limits.max_pixels` before any decoding or network
        work, and upscales an allowed one tile by tile (`tiled_upscale`): a request's memory grows
        with the tile and the output, not with the network's features of the whole image."""
        import tensorflow as tf

        generator, margin, scale = model.sampling_generator, model.receptive_margin(), model.scale

        def upscale(lr):  # [batch, h, w, 3] float [-1, 1], size already checked
            return tf.map_fn(lambda one: tiled_upscale(generator, one, limits.tile, margin, scale), lr,
                             fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))

        def limited(image, dtype_name: str):
            image = checked_image(image, dtype_name)
            with tf.control_dependencies([checked_pixels(tf.shape(image)[1], tf.shape(image)[2], limits.max_pixels)]):
                return tf.identity(image)

        def upscale_uint8(image):
            return {"images": to_uint8_tensor(upscale(to_signed_tensor(limited(image, "uint8"))))}

        def upscale_float(image):
            return {"images": upscale(limited(image, "float32 [-1, 1]"))}

        def upscale_png(image_bytes):
            encoded = checked(image_bytes, 0, "image_bytes must be one encoded PNG or JPEG (a string scalar)")
            height, width = encoded_image_size(encoded)
            with tf.control_dependencies([checked_pixels(height, width, limits.max_pixels, "image_bytes")]):
                decoded = tf.io.decode_image(encoded, channels=3, expand_animations=False)
            return {"png_bytes": tf.io.encode_png(to_uint8_tensor(upscale(to_signed_tensor(decoded)[None]))[0])}

        image_spec = lambda dtype: [tf.TensorSpec([None, None, None, 3], dtype, name="image")]  # noqa: E731
        return {
            "serving_default": tf.function(upscale_uint8, input_signature=image_spec(tf.uint8)),
            "upscale": tf.function(upscale_float, input_signature=image_spec(tf.float32)),
            "upscale_png": tf.function(upscale_png, input_signature=[tf.TensorSpec([], tf.string, name="image_bytes")]),
        }

    def example_inputs(self, model, count: int = 2, seed: int = 2024) -> dict:
        """Odd-sized, photo-like LR images (any size must work) for verification and warmup requests."""
        import tensorflow as tf

        image = photo_like_uint8(count, 13, 11, 3, seed)
        return {
            "serving_default": {"image": image},
            "upscale": {"image": to_signed(image)},
            "upscale_png": {"image_bytes": np.array(tf.io.encode_png(image[0]).numpy(), dtype=object)},
        }

    def warmup_inputs(self, model) -> dict:
        return self.example_inputs(model)

    def reference(self, model) -> dict:
        inputs = self.example_inputs(model)
        lr = inputs["upscale"]["image"]
        return {"image": lr, "images": np.asarray(model.sampling_generator(lr, training=False)),
                "image_uint8": inputs["serving_default"]["image"]}

    def tflite_networks(self, model) -> dict:
        return {"": TFLiteNetwork(image_function(model.sampling_generator, 3), [model.sampling_generator])}

    def calibration_inputs(self, model) -> list:
        patches = smooth_images(CALIBRATION_SAMPLES, CALIBRATION_SIZE, 3, seed=7)
        return [{"image": patches[i : i + 1]} for i in range(CALIBRATION_SAMPLES)]

    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite) -> list:
        import tensorflow as tf

        lr, expected = reference["image"], reference["images"]
        as_served = to_signed(to_uint8(expected))
        uint8_gate = GATES["saved_model_uint8"]
        checks = [
            compare("upscale", "saved_model", signatures["upscale"](image=tf.constant(lr))["images"], expected, GATES["saved_model"]),
            compare("serving_default", "saved_model",
                    to_signed(signatures["serving_default"](image=tf.constant(reference["image_uint8"]))["images"]), as_served, uint8_gate),
        ]
        png = tf.io.encode_png(reference["image_uint8"][0])
        decoded = tf.io.decode_png(signatures["upscale_png"](image_bytes=png)["png_bytes"]).numpy()
        checks.append(compare("upscale_png", "saved_model", to_signed(decoded), as_served[0], uint8_gate))
        for path in tflite_files:
            mode = path.name.rsplit(".", 2)[-2]
            checks.append(compare("serving_default", f"tflite {mode}", run_tflite(path, {"image": lr})["images"], expected, GATES[mode]))
        return checks

    def bench_serve_inputs(self, reference: dict, batch: int):
        inputs = {"image": resized(reference["image"], batch)}
        return "upscale", inputs, inputs


def tiled_upscale(generator, lr, tile: int, margin: int, scale: int):
    """lr [h, w, 3] -> [scale h, scale w, 3] in graph, one `tile` x `tile` LR block at a time: each
    block is run with `margin` LR pixels of real context around it (clipped at the borders) and
    only its centre kept, so the result equals running the whole image (as SRGAN.upscale_tiled
    does in Python) while the network's features exist for one window at a time."""
    import tensorflow as tf

    height, width = tf.shape(lr)[0], tf.shape(lr)[1]
    rows, cols = (height + tile - 1) // tile, (width + tile - 1) // tile

    def block(row, col):
        top, left = row * tile, col * tile
        bottom, right = tf.minimum(top + tile, height), tf.minimum(left + tile, width)
        y0, x0 = tf.maximum(0, top - margin), tf.maximum(0, left - margin)
        y1, x1 = tf.minimum(height, bottom + margin), tf.minimum(width, right + margin)
        sr = tf.cast(generator(lr[None, y0:y1, x0:x1], training=False)[0], tf.float32)
        dy, dx = (top - y0) * scale, (left - x0) * scale
        return sr[dy : dy + (bottom - top) * scale, dx : dx + (right - left) * scale]

    def one_row(row, done):
        def next_block(col, strip):
            return col + 1, tf.concat([strip, block(row, col)], axis=1)

        height_here = (tf.minimum((row + 1) * tile, height) - row * tile) * scale
        _, strip = tf.while_loop(lambda col, _: col < cols, next_block, (0, tf.zeros([height_here, 0, 3])),
                                 shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, None, 3])))
        return row + 1, done.write(row, strip)

    strips = tf.TensorArray(tf.float32, size=rows, infer_shape=False, element_shape=tf.TensorShape([None, None, 3]))
    _, strips = tf.while_loop(lambda row, _: row < rows, one_row, (0, strips))
    return tf.reshape(strips.concat(), [height * scale, width * scale, 3])


def image_function(network, channels: int):
    """TFLite: `image` float32 [batch, h, w, channels] in [-1, 1], any size -> `images`."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, None, None, channels], tf.float32, name="image")
    return tf.function(lambda image: {"images": network(image, training=False)}, input_signature=[spec])
