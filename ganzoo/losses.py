"""Adversarial losses and regularizers as pure functions of discriminator outputs.

Every function returns a per-example value (shape [batch]); the model averages it over the
*global* batch with `global_batch_mean`, which is what makes gradients and metrics right when a
`tf.distribute` strategy runs the step on several replicas (Keras' optimizer sums gradients
across replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from keras import ops


def per_example(outputs):
    """Mean over every axis but the batch axis: [b], [b, 1] and PatchGAN [b, h, w, 1] alike."""
    outputs = ops.cast(outputs, "float32")
    if len(outputs.shape) == 1:
        return outputs
    return ops.mean(ops.reshape(outputs, (ops.shape(outputs)[0], -1)), axis=1)


def global_batch_mean(per_example_values, global_batch_size):
    """sum(values) / global batch: the loss one replica contributes to the global mean."""
    return ops.sum(per_example_values) / ops.cast(global_batch_size, per_example_values.dtype)


# Discriminator losses take (real_logits, fake_logits); generator losses take fake_logits.

def bce_discriminator(real_logits, fake_logits):
    return per_example(ops.softplus(-real_logits)) + per_example(ops.softplus(fake_logits))


def non_saturating_generator(fake_logits):
    """-log D(G(z)) (Goodfellow 2014, section 3): strong gradients early in training."""
    return per_example(ops.softplus(-fake_logits))


def minimax_generator(fake_logits):
    """log(1 - D(G(z))): the original minimax objective; saturates when D wins."""
    return per_example(-ops.softplus(fake_logits))


def lsgan_discriminator(real_logits, fake_logits):
    return 0.5 * (per_example(ops.square(real_logits - 1.0)) + per_example(ops.square(fake_logits)))


def lsgan_generator(fake_logits):
    return 0.5 * per_example(ops.square(fake_logits - 1.0))


def least_squares_generator(fake_logits):
    """CycleGAN's generator loss: mean (D(G(x)) - 1)^2 (twice `lsgan_generator`, as the paper's
    code weighs it against the cycle loss)."""
    return per_example(ops.square(fake_logits - 1.0))


def mean_absolute_error(target, output):
    """Per-example L1 distance (CycleGAN's cycle-consistency and identity losses)."""
    return per_example(ops.abs(target - output))


def hinge_discriminator(real_logits, fake_logits):
    return per_example(ops.relu(1.0 - real_logits)) + per_example(ops.relu(1.0 + fake_logits))


def wasserstein_discriminator(real_logits, fake_logits):
    return per_example(fake_logits) - per_example(real_logits)


def wasserstein_generator(fake_logits):
    return per_example(-fake_logits)


def gradient_penalty(critic: Callable, real, fake, alpha):
    """WGAN-GP (Gulrajani 2017): (||grad critic(x_hat)||_2 - 1)^2 per example.

    `alpha` is one uniform draw per example, shape [batch]; x_hat = real + alpha (fake - real).
    """
    import tensorflow as tf  # GradientTape is TF's; the math stays in keras.ops

    alpha = ops.reshape(ops.cast(alpha, real.dtype), (-1,) + (1,) * (len(real.shape) - 1))
    interpolated = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = critic(interpolated)
    grads = tape.gradient(scores, interpolated)
    norms = ops.sqrt(ops.sum(ops.square(ops.reshape(grads, (ops.shape(grads)[0], -1))), axis=1) + 1e-12)
    return ops.square(norms - 1.0)


def r1_penalty(critic: Callable, real):
    """R1 (Mescheder 2018): ||grad critic(real)||^2 per example (multiply by gamma / 2)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = critic(real)
    grads = tape.gradient(scores, real)  # the gradient of a vector target is that of its sum
    return ops.sum(ops.square(ops.reshape(grads, (ops.shape(grads)[0], -1))), axis=1)


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    discriminator: Callable
    generator: Callable
    needs_gradient_penalty: bool = False


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    "non_saturating": AdversarialLoss("non_saturating", bce_discriminator, non_saturating_generator),
    "minimax": AdversarialLoss("minimax", bce_discriminator, minimax_generator),
    "lsgan": AdversarialLoss("lsgan", lsgan_discriminator, lsgan_generator),
    "hinge": AdversarialLoss("hinge", hinge_discriminator, wasserstein_generator),
    "wgan_gp": AdversarialLoss(
        "wgan_gp", wasserstein_discriminator, wasserstein_generator, needs_gradient_penalty=True
    ),
}


def get_adversarial_loss(name: str) -> AdversarialLoss:
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown loss {name!r}; known: {', '.join(ADVERSARIAL_LOSSES)}"
        ) from None


__all__ = [name for name in dir() if not name.startswith("_") and name not in {"keras", "ops"}]
