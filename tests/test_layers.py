"""Reusable layers against reference computations."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo.layers import PixelShuffle


def reference_pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """Element by element: out[b, r*h + i, r*w + j, c] = x[b, h, w, (i*r + j) * C + c]."""
    batch, height, width, depth = x.shape
    channels = depth // (r * r)
    out = np.zeros((batch, height * r, width * r, channels), x.dtype)
    for h in range(height):
        for w in range(width):
            for i in range(r):
                for j in range(r):
                    out[:, h * r + i, w * r + j, :] = x[:, h, w, (i * r + j) * channels : (i * r + j + 1) * channels]
    return out


@pytest.mark.parametrize("scale, shape", [(2, (2, 3, 5, 12)), (3, (1, 4, 2, 18)), (4, (1, 1, 1, 16))])
def test_pixel_shuffle_matches_the_reference_rearrangement(scale, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    out = keras.ops.convert_to_numpy(PixelShuffle(scale)(x))
    np.testing.assert_array_equal(out, reference_pixel_shuffle(x, scale))


def test_pixel_shuffle_any_size_config_and_errors():
    layer = PixelShuffle(2)
    inputs = keras.Input((None, None, 8))
    model = keras.Model(inputs, layer(inputs))
    assert model.output_shape == (None, None, None, 2)
    assert model.predict(np.zeros((1, 7, 3, 8), "float32"), verbose=0).shape == (1, 14, 6, 2)
    assert PixelShuffle.from_config(layer.get_config()).scale == 2
    with pytest.raises(ValueError, match="divisible by 4"):
        layer(np.zeros((1, 2, 2, 6), "float32"))
    with pytest.raises(ValueError, match="at least 2"):
        PixelShuffle(1)


def test_stateless_dropout_drops_like_dropout_and_alike_under_xla():
    from ganzoo.layers import StatelessDropout

    x = tf.ones((64, 256))
    masks = {}
    for jit in (False, True):
        keras.utils.set_random_seed(4)
        layer = StatelessDropout(0.25)
        step = tf.function(lambda: layer(x, training=True), jit_compile=jit)
        masks[jit] = [step().numpy() for _ in range(2)]
    first, second = masks[False]
    assert set(np.unique(first)) == {0.0, np.float32(1 / 0.75)}
    assert abs((first == 0).mean() - 0.25) < 0.01  # ~16k draws
    assert not np.array_equal(first, second)  # a new mask per call: the seed generator advances
    for graph_mask, xla_mask in zip(masks[False], masks[True]):
        np.testing.assert_array_equal(graph_mask, xla_mask)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    restored = StatelessDropout.from_config(layer.get_config())
    assert type(restored) is StatelessDropout and restored.rate == 0.25
    # noise_shape as Keras means it: one mask value per row, the same along the broadcast axis.
    rows = StatelessDropout(0.5, noise_shape=(None, 1))
    for jit in (False, True):
        rows.seed_generator.state.assign(np.array([7, 0], rows.seed_generator.state.dtype))
        out = tf.function(lambda: rows(x, training=True), jit_compile=jit)().numpy()
        assert out.shape == x.shape and (out == out[:, :1]).all() and 0 < (out[:, 0] == 0).sum() < len(out)
        masks[("rows", jit)] = out
    np.testing.assert_array_equal(masks[("rows", False)], masks[("rows", True)])
