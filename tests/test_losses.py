"""Losses and regularizers against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from ganzoo import losses

REAL = np.array([[2.0], [-1.0]], np.float32)
FAKE = np.array([[0.5], [-3.0]], np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected, np.float32), rtol=1e-5, atol=1e-6)


def test_bce_and_generator_losses():
    close(losses.bce_discriminator(REAL, FAKE), softplus(-REAL[:, 0]) + softplus(FAKE[:, 0]))
    # -log(sigmoid(f)) == softplus(-f); log(1 - sigmoid(f)) == -softplus(f)
    close(losses.non_saturating_generator(FAKE), [-math.log(1 / (1 + math.exp(-f))) for f in FAKE[:, 0]])
    close(losses.minimax_generator(FAKE), [math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE[:, 0]])


def test_lsgan_hinge_wasserstein():
    close(losses.lsgan_discriminator(REAL, FAKE), [0.5 * (1 + 0.25), 0.5 * (4 + 9)])
    close(losses.lsgan_generator(FAKE), [0.5 * 0.25, 0.5 * 16])
    close(losses.hinge_discriminator(REAL, FAKE), [0 + 1.5, 2 + 0])
    close(losses.wasserstein_discriminator(REAL, FAKE), [0.5 - 2, -3 + 1])
    close(losses.wasserstein_generator(FAKE), [-0.5, 3])


def test_patch_outputs_are_averaged_per_example():
    patches = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    close(losses.per_example(patches), [1.5, 5.5])


def test_global_batch_mean_divides_by_the_global_batch():
    # One replica of two holds 2 of the 4 examples: it contributes sum / 4, not mean.
    close(losses.global_batch_mean(tf.constant([1.0, 3.0]), 4), 1.0)


def test_gradient_penalty_of_a_linear_critic():
    weights = tf.constant(np.full((1, 2, 2, 1), 0.25, np.float32))  # ||w|| = 0.5
    critic = lambda x: tf.reduce_sum(x * weights, axis=[1, 2, 3])  # noqa: E731
    real, fake = tf.ones((3, 2, 2, 1)), tf.zeros((3, 2, 2, 1))
    close(losses.gradient_penalty(critic, real, fake, tf.constant([0.1, 0.5, 0.9])), [0.25] * 3)


def test_gradient_penalty_uses_each_interpolation_weight():
    # critic(x) = 0.5 ||x||^2 has gradient x_hat = real + alpha (fake - real).
    critic = lambda x: 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3])  # noqa: E731
    real, fake = tf.fill((2, 1, 1, 4), 1.0), tf.fill((2, 1, 1, 4), 3.0)
    alpha = np.array([0.0, 0.5], np.float32)
    norms = np.sqrt(4) * (1 + 2 * alpha)  # |x_hat| per pixel is 1 + 2 alpha, 4 pixels
    close(losses.gradient_penalty(critic, real, fake, alpha), (norms - 1) ** 2)


def test_r1_penalty():
    critic = lambda x: 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3])  # noqa: E731
    real = tf.constant(np.array([1.0, 2.0], np.float32).reshape(2, 1, 1, 1))
    close(losses.r1_penalty(critic, real), [1.0, 4.0])


def test_unknown_loss():
    with pytest.raises(ValueError, match="known: non_saturating"):
        losses.get_adversarial_loss("bogus")
