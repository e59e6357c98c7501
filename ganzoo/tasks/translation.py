"""Unpaired image-to-image translation (cyclegan): (A, B) batches to train on, both directions in
one SavedModel:

- `a2b`, `b2a`: `image` uint8 [batch, h, w, C] -> `images` uint8 [batch, h, w, C]; h and w must be
  multiples of 4 (the generators' two stride-2 stages), anything else fails with an
  InvalidArgument error that names the input
- `serving_default`: the same as `a2b`
TFLite holds one file per direction (`<name>.a2b.<mode>.tflite`): float32 [batch, h, w, C] in
[-1, 1] in and out.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ganzoo.export.gates import GATES, compare
from ganzoo.export.signatures import checked, checked_pixels, dims
from ganzoo.images import to_signed, to_signed_tensor, to_uint8, to_uint8_tensor
from ganzoo.tasks.base import (
    ServingLimits,
    Task,
    TFLiteNetwork,
    TrainingData,
    percent,
    resized,
)
from ganzoo.tasks.super_resolution import (
    image_function,
    photo_like_uint8,
    smooth_images,
)

DIRECTIONS = ("a2b", "b2a")
PREVIEW_IMAGES = 8
CALIBRATION_SAMPLES = 200
CHANNEL_SCALE_FLOOR = 1e-3  # of a layer's largest scale: a channel that is ~0 everywhere keeps a finite one


def normalized_convolutions(generator) -> list:
    """(convolution, instance norm) pairs of `generator`: each norm that reads a biased convolution."""
    import keras

    from ganzoo.layers import InstanceNormalization

    pairs = []
    for layer in generator.layers:
        if isinstance(layer, InstanceNormalization):
            source = layer.input._keras_history.operation
            if isinstance(source, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)) and source.use_bias:
                pairs.append((source, layer))
    return pairs


@contextmanager
def int8_form(model, images: np.ndarray, batch: int = 25):
    """While open, every convolution that feeds an instance norm has its output channels centred
    and brought to one standard deviation over `images` (bias - m, then kernel and bias / t, per
    channel), and the norm's epsilon is epsilon / t^2: the norm removes any per-channel shift and
    scale, so this is the same function to float rounding. Full int8 quantizes each tensor with
    one scale, and a trained generator's channels differ ~50x in size (face2anime's first conv:
    standard deviations 0.04 to 2.1), so the small ones were rounded away before the norm blew
    them up again. Measured on the face2anime zoo model, 16 real test images: 19.3 -> 23.7 dB
    (a2b), 14.8 -> 18.9 dB (b2a)."""
    import keras
    from keras import ops

    pairs, scales = [], []
    for direction in DIRECTIONS:
        generator = model.translator(direction)
        found = normalized_convolutions(generator)
        pairs += found
        probe = keras.Model(generator.input, [conv.output for conv, _ in found])
        totals = [np.zeros((2, conv.filters)) for conv, _ in found]  # sums of per-image means, variances
        for start in range(0, len(images), batch):
            for total, out in zip(totals, probe(images[start : start + batch], training=False)):
                out = ops.convert_to_numpy(out).astype(np.float64)
                total += [out.mean(axis=(1, 2)).sum(axis=0), out.var(axis=(1, 2)).sum(axis=0)]
        for total in totals:
            mean, std = total[0] / len(images), np.sqrt(total[1] / len(images))
            scales.append((mean.astype(np.float32), np.maximum(std, CHANNEL_SCALE_FLOOR * std.max()).astype(np.float32)))
    saved = [(conv.kernel.numpy(), conv.bias.numpy()) for conv, _ in pairs]
    try:  # set inside the try: a failure half-way leaves no layer changed
        for (conv, norm), (kernel, bias), (mean, scale) in zip(pairs, saved, scales):
            per_output = scale[:, None] if isinstance(conv, keras.layers.Conv2DTranspose) else scale  # kernel (kh, kw, out, in) there
            conv.kernel.assign(kernel / per_output)
            conv.bias.assign((bias - mean) / scale)
            norm.int8_epsilon = norm.epsilon / np.square(scale)
        yield
    finally:
        for (conv, norm), (kernel, bias) in zip(pairs, saved):
            conv.kernel.assign(kernel)
            conv.bias.assign(bias)
            norm.int8_epsilon = None


def checked_translation_input(image, channels: int, multiple: int):
    import tensorflow as tf

    message = (f"image must be a uint8 tensor of shape [batch, height, width, {channels}] with height and width "
               f"multiples of {multiple}")
    sizes_ok = lambda x: tf.math.floormod(dims(x, 1, 2), multiple) == 0  # noqa: E731
    return checked(image, 4, message, [lambda x: tf.equal(dims(x, 3, 1), channels), sizes_ok], shape=[None, None, None, channels])


class TranslationTask(Task):
    name = "translation"
    use = "translating images between its two domains"

    # ------------------------------------------------------------------------- training
    def training_data(self, recipe, model, step: int) -> TrainingData:
        from ganzoo.data.unpaired import load_unpaired, unpaired_dataset

        a, b = load_unpaired(recipe.data.source, model.image_shape, recipe.data.split, recipe.data.data_dir or None,
                             recipe.data.download, recipe.data.max_examples)
        dataset = unpaired_dataset(a, b, recipe.train.batch_size, recipe.train.seed, start_step=step)
        # The fixed TensorBoard panel: the same first images of each domain every epoch.
        preview = (to_signed(a[:PREVIEW_IMAGES]), to_signed(b[:PREVIEW_IMAGES]))
        return TrainingData(dataset, f"{recipe.data.source} ({recipe.data.split}: {len(a)} A and {len(b)} B images)", preview)

    def panels(self, model, preview, count: int, seed: int) -> dict:
        """Rows of A, G(A), F(G(A)), B, F(B), G(F(B)) for the preview images of each domain."""
        from keras import ops

        if preview is None:
            blank = np.zeros((1, *model.image_shape), np.float32)
            preview = (blank, blank)
        a, b = preview
        rows = max(min(count // 6, len(a), len(b)), 1)
        a, b = a[:rows], b[:rows]
        run = lambda net, x: ops.convert_to_numpy(net(x, training=False))  # noqa: E731
        fake_b, fake_a = run(model.generator, a), run(model.generator_ba, b)
        columns = [a, fake_b, run(model.generator_ba, fake_b), b, fake_a, run(model.generator, fake_a)]
        return {"samples": (np.stack(columns, axis=1).reshape(-1, *a.shape[1:]).clip(-1, 1), 6)}

    def measure(self, model, recipe, classifier_epochs: int = 5, seed: int = 0, **options) -> dict:
        """On the test split: cycle PSNR both ways, and how often a domain classifier trained on the
        real training images calls the translations the target domain."""
        from ganzoo.data.unpaired import load_unpaired
        from ganzoo.metrics.translation import domain_classifier, evaluate_translation

        data = recipe.data
        train_a, train_b = load_unpaired(data.source, model.image_shape, "train", data.data_dir or None, data.download)
        test_a, test_b = load_unpaired(data.source, model.image_shape, "test", data.data_dir or None, data.download)
        classifier = domain_classifier(train_a, train_b, classifier_epochs, seed)
        protocol = {"test": f"{data.source} (test: {len(test_a)} A and {len(test_b)} B images)",
                    "classifier": f"small CNN, {classifier_epochs} epochs on {len(train_a)} + {len(train_b)} real training images",
                    "cycle_psnr": "mean per-image PSNR (uint8) of A -> B -> A and B -> A -> B"}
        return {"metrics": evaluate_translation(model, test_a, test_b, classifier), "protocol": protocol}

    def card_samples(self, model, recipe, **options):
        """Rows of the translation panel for the first test images of each domain."""
        from ganzoo.data.unpaired import load_unpaired

        data = recipe.data
        a, b = load_unpaired(data.source, model.image_shape, "test", data.data_dir or None, data.download)
        return self.panels(model, (to_signed(a[:6]), to_signed(b[:6])), 36, recipe.train.seed)["samples"]

    def limitations(self, model) -> str:
        height = model.image_shape[0]
        return (f"It learned its subjects at the scale of its {height} x {model.image_shape[1]} training images: translate "
                f"images at that scale (`ganzoo translate MODEL IMAGE --size {height}`); it has seen no other.")

    def headline(self, metrics: dict) -> str:
        return (f"cycle PSNR {metrics['cycle_psnr_a']:.2f} / {metrics['cycle_psnr_b']:.2f} dB, "
                f"called the target domain {percent(metrics['a2b_called_b'])} / {percent(metrics['b2a_called_a'])}")

    def bench_dataset(self, model, batch: int):
        from ganzoo.data.sources import benchmark_images
        from ganzoo.data.unpaired import unpaired_dataset

        images, description = benchmark_images(model.image_shape, count=1024)
        return unpaired_dataset(images, images[::-1].copy(), batch, seed=0), f"{description}, as domains A and B"

    # --------------------------------------------------------------------------- export
    def serving_layers(self, model) -> list:
        return [model.generator, model.generator_ba]

    def serving_functions(self, model, limits: ServingLimits = ServingLimits()) -> dict:
        """Both directions refuse images over `limits.max_pixels` before the network runs. (Not
        tiled: instance normalisation's statistics are the whole image's, which `ganzoo translate`
        builds up tile by tile in several passes, CycleGAN.translate_tiled.)"""
        import tensorflow as tf

        from ganzoo.models.cyclegan import DOWNSAMPLINGS

        def endpoint(direction: str):
            network = model.translator(direction)

            def translate(image):
                image = checked_translation_input(image, model.channels, 2**DOWNSAMPLINGS)
                with tf.control_dependencies([checked_pixels(tf.shape(image)[1], tf.shape(image)[2], limits.max_pixels)]):
                    x = to_signed_tensor(image)
                return {"images": to_uint8_tensor(network(x, training=False))}

            spec = tf.TensorSpec([None, None, None, model.channels], tf.uint8, name="image")
            return tf.function(translate, input_signature=[spec])

        functions = {direction: endpoint(direction) for direction in DIRECTIONS}
        return {"serving_default": functions["a2b"], **functions}

    def example_inputs(self, model, count: int = 2, seed: int = 2024) -> dict:
        """Photo-like images of a size other than the training size (any allowed size must work):
        full-int8 instance norm is far from float on per-pixel noise (measured: 24.9 dB)."""
        image = photo_like_uint8(count, 20, 12, model.channels, seed)
        return {name: {"image": image} for name in ("serving_default", *DIRECTIONS)}

    def warmup_inputs(self, model) -> dict:
        return self.example_inputs(model)

    def reference(self, model) -> dict:
        image = self.example_inputs(model)["a2b"]["image"]
        x = to_signed(image)
        reference = {"translate_uint8": image, "translate_input": x}
        for direction in DIRECTIONS:
            reference[f"{direction}_images"] = np.asarray(model.translator(direction)(x, training=False))
        return reference

    def tflite_networks(self, model) -> dict:
        return {f".{direction}": TFLiteNetwork(image_function(model.translator(direction), model.channels),
                                               [model.translator(direction)]) for direction in DIRECTIONS}

    def calibration_inputs(self, model) -> list:
        patches = smooth_images(CALIBRATION_SAMPLES, model.image_shape[0], model.image_shape[-1], seed=7)
        return [{"image": patches[i : i + 1]} for i in range(CALIBRATION_SAMPLES)]

    def tflite_form(self, model, mode: str):
        """Full int8 converts with channel-equalised convolutions (int8_form), calibrated on the
        calibration inputs; the float modes convert the layers as they are."""
        if mode != "int8":
            return super().tflite_form(model, mode)
        return int8_form(model, np.concatenate([sample["image"] for sample in self.calibration_inputs(model)]))

    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite) -> list:
        """Each direction's signature (and serving_default = a2b) and each
        `<name>.<direction>.<mode>.tflite` against the Keras generators."""
        import tensorflow as tf

        image, x = tf.constant(reference["translate_uint8"]), reference["translate_input"]
        checks = []
        for signature, direction in (("a2b", "a2b"), ("b2a", "b2a"), ("serving_default", "a2b")):
            served = to_signed(signatures[signature](image=image)["images"])
            expected = to_signed(to_uint8(reference[f"{direction}_images"]))
            checks.append(compare(signature, "saved_model", served, expected, GATES["saved_model_uint8"]))
        for path in tflite_files:
            direction, mode = path.name.rsplit(".", 3)[-3:-1]
            outputs = run_tflite(path, {"image": x})
            checks.append(compare(direction, f"tflite {mode}", outputs["images"], reference[f"{direction}_images"], GATES[mode]))
        return checks

    def bench_serve_inputs(self, reference: dict, batch: int):
        return "a2b", {"image": resized(reference["translate_uint8"], batch)}, {"image": resized(reference["translate_input"], batch)}
