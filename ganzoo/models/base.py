"""The GAN contract every zoo model follows.

A `GAN` is a `keras.Model` that owns a generator and a discriminator built in `__init__` from
hyper-parameters, and overrides `train_step` with the adversarial update, so that training is
`model.compile(...)` + `model.fit(dataset)`. `LatentGAN` adds sampling from latent noise (the
models whose generator maps noise to images); models that map images to images (srgan, cyclegan)
subclass `GAN` and write their own `train_step`.

Design decisions (each fixes a trap of Keras 3.15 / TensorFlow 2.21 that we measured):
- Noise is stateless, drawn from (noise_seed, generator step, stream) for the *global* batch and
  sliced per replica: replicas get different latents (a Keras SeedGenerator gives every replica
  the same noise, and no save format keeps its state), and a resumed run replays nothing. The
  draws are the same numbers under XLA and in TensorFlow's graph (`stateless_draw`), so
  `jit_compile` (which "auto" sets per machine) does not change a run.
- Losses are per-example and averaged over the global batch (`losses.global_batch_mean`); trackers
  are updated with per-example values, so logs equal single-device logs under any strategy.
- Both optimizers are created and built in `compile()` (inside the strategy scope, before `fit`).
- `super().compile(optimizer=None)`: no phantom RMSprop.
"""

from __future__ import annotations

import inspect
from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganzoo import losses, schedules  # noqa: F401  (saved optimizers name the schedules by class)
from ganzoo.layers.random import stateless_draw

# Streams keep the random draws of one step apart (latents of each D step, GP weights, ...);
# a subclass's own stream ids are offset so that they never meet the base's.
_OWN_STREAM_OFFSET = 1 << 20
LATENT_STREAM = 0
PENALTY_STREAM = 32
# alternating: D is updated, then G learns from the updated D's opinion of the same fakes (the
# DCGAN paper, keras-io). simultaneous: both gradients come from one pass through D, taken before
# either update (TensorFlow's DCGAN tutorial); it saves a D pass over the fakes.
UPDATE_SCHEMES = ("alternating", "simultaneous")


def default_optimizer() -> keras.optimizers.Optimizer:
    """Adam(2e-4, beta_1=0.5): the DCGAN paper's setting, a sound default for most GANs."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


# Samples are drawn in chunks: the latents of samples [k * SAMPLE_CHUNK, (k + 1) * SAMPLE_CHUNK) of a
# seed come from the seed pair (seed, k), so any number of samples streams in bounded memory, and
# the first SAMPLE_CHUNK are what the exported `sample` signature (at most 1024 per request) draws.
SAMPLE_CHUNK = 1024


def latents_for_seed(num: int, latent_dim: int, seed: int, chunk: int = 0) -> tf.Tensor:
    """The first `num` (<= SAMPLE_CHUNK) latents of chunk `chunk` of `seed`: what `generate(num,
    seed=seed)` and the exported `sample` signature use (a stateless draw is a prefix of a longer
    one: 3 latents are the first 3 of 1024)."""
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(chunk, tf.int64)])
    return tf.random.stateless_normal([num, latent_dim], seed=seed_pair)


def check_noise_seed(seed: int) -> int:
    """Noise seeds lie in [0, 2^32): XLA keeps 32 bits of each seed element, TensorFlow's graph all
    64, so a larger seed would draw other noise with and without XLA."""
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"noise_seed must be between 0 and 2**32 - 1, got {seed}")
    return int(seed)


def with_loss_scaling(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=f"loss_scaled_{optimizer.name}")


class GAN(keras.Model):
    """Base class: subclasses set `self.generator` and `self.discriminator` in `__init__` (then
    call `self.finish_init()`), list their presets, name their task (ganzoo/tasks/) and write a
    `train_step` from the pieces below."""

    presets: dict[str, dict[str, Any]] = {}
    registry_name: str | None = None
    task: str = ""  # the kind of model, as ganzoo/tasks/ names it: what its data and exports are
    # How a step orders the D and G updates (UPDATE_SCHEMES); models with their own train_step
    # support "alternating" only.
    update_schemes: tuple[str, ...] = ("alternating",)
    # Why jit_compile = "auto" must not pick XLA on a CPU for this model ("": it may). XLA:CPU runs
    # convolutions inside tf.cond branches some 80x slower than outside (stylegan_lite's lazy
    # regularizers), and gan3d's step ~40x slower than TensorFlow's graph (benchmarks/RESULTS.md).
    xla_slow_on_cpu: str = ""

    def __init__(self, ema_decay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.ema_decay = float(ema_decay)
        self.ema_generator = None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.d_penalty_tracker = keras.metrics.Mean(name="d_penalty")
        self.adversarial = losses.get_adversarial_loss("non_saturating")
        self.d_steps = 1
        self.gp_weight = 10.0
        self.noise_seed = 0
        self.updates = "alternating"

    def finish_init(self) -> None:
        """Builds the EMA copy of the generator (when ema_decay > 0) and marks the wrapper built
        once its sub-networks are: under a strategy, fit() would otherwise try to build it
        symbolically by calling it on a data batch."""
        if self.ema_decay:
            self.ema_generator = keras.models.clone_model(self.generator)
            self.ema_generator.name = "ema_generator"
            self.ema_generator.set_weights(self.generator.get_weights())
            self.ema_generator.trainable = False
        self.built = True

    @property
    def sampling_generator(self) -> keras.Model:
        """What generate() and export use: the EMA generator when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def update_ema(self) -> None:
        """ema = d * ema + (1 - d) * w over all generator weights (batch-norm statistics too),
        with d warmed up as min(decay, (1 + t) / (10 + t)) so early samples are not stale."""
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * weight)

    # ----------------------------------------------------------------- config
    @classmethod
    def constructor_arguments(cls) -> list[str]:
        """The model's own arguments and the shared ones of the GAN base (ema_decay)."""
        names = []
        for klass in (cls, GAN):
            names += [n for n in inspect.signature(klass.__init__).parameters if n not in ("self", "kwargs") and n not in names]
        return names

    def get_config(self) -> dict[str, Any]:
        """Exactly the constructor arguments (each stored under its own name)."""
        config = {"name": self.name}
        for name in self.constructor_arguments():
            value = getattr(self, name)
            config[name] = list(value) if isinstance(value, tuple) else value
        return config

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.generator.output_shape[1:])

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        g_optimizer: Any = None,
        d_optimizer: Any = None,
        loss: str = "non_saturating",
        d_steps: int = 1,
        gp_weight: float = 10.0,
        noise_seed: int = 0,
        updates: str = "alternating",
        **kwargs: Any,
    ) -> None:
        """`loss` names an entry of `ganzoo.losses.ADVERSARIAL_LOSSES`; `d_steps` discriminator
        updates per generator update (5 is usual for wgan_gp); `noise_seed` seeds the
        stateless training noise; `updates` is "alternating" or "simultaneous" (UPDATE_SCHEMES).
        Other keyword arguments (jit_compile, steps_per_execution,
        ...) go to `keras.Model.compile`."""
        super().compile(optimizer=None, loss=None, **kwargs)
        self.g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer else default_optimizer()
        self.d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer else default_optimizer()
        if self.g_optimizer is self.d_optimizer:
            raise ValueError("g_optimizer and d_optimizer must be two different optimizer objects")
        if self.dtype_policy.name == "mixed_float16":
            # float16 gradients underflow without loss scaling; both updates need their own scale.
            self.g_optimizer = with_loss_scaling(self.g_optimizer)
            self.d_optimizer = with_loss_scaling(self.d_optimizer)
        self.adversarial = losses.get_adversarial_loss(loss)
        if not 1 <= int(d_steps) <= PENALTY_STREAM:
            # Each critic update draws from its own noise streams; more would reuse them.
            raise ValueError(f"d_steps must be between 1 and {PENALTY_STREAM}, got {d_steps}")
        self.d_steps = int(d_steps)
        self.gp_weight = float(gp_weight)
        self.noise_seed = check_noise_seed(noise_seed)
        self.updates = self.check_updates(updates)
        # Built here, in the caller's strategy scope: lazily built slots fail under a strategy.
        self.g_optimizer.build(self.generator_variables())
        self.d_optimizer.build(self.discriminator_variables())

    @classmethod
    def check_updates(cls, updates: str) -> str:
        if updates not in cls.update_schemes:
            raise ValueError(f"{cls.__name__} supports updates={' or '.join(cls.update_schemes)}, got {updates!r}")
        return updates

    def get_compile_config(self) -> dict[str, Any]:
        if not self.compiled:
            return {}  # an uncompiled model saves and reloads uncompiled
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "loss": self.adversarial.name,
            "d_steps": self.d_steps,
            "gp_weight": self.gp_weight,
            "noise_seed": self.noise_seed,
            "updates": self.updates,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        config = dict(config)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        self.compile(**config)

    def generator_variables(self) -> list:
        """What the generator optimizer updates (subclasses with extra G parts extend it)."""
        return self.generator.trainable_variables

    def discriminator_variables(self) -> list:
        """What the discriminator optimizer updates (models with two discriminators extend it)."""
        return self.discriminator.trainable_variables

    def seed_generator_states(self) -> dict[str, Any]:
        """The state variables of layers that draw their own randomness (Dropout): no Keras
        save format keeps them, so checkpoints hold them explicitly."""
        states = {}
        for network in (self.generator, self.discriminator):
            for layer in network.layers:
                seed_generator = getattr(layer, "seed_generator", None)
                if seed_generator is not None:
                    states[f"{network.name}.{layer.name}"] = seed_generator.state
        return states

    def checkpoint_objects(self) -> dict[str, Any]:
        """Everything a training checkpoint must hold to resume exactly. The RNG state is
        (noise_seed, optimizer step) for the noise, whose seed lives in the recipe and whose step
        in g_optimizer, plus the seed-generator states of layers such as Dropout."""
        objects = {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
        }
        if self.ema_generator is not None:
            objects["ema_generator"] = self.ema_generator
        rng_states = self.seed_generator_states()
        if rng_states:
            objects["rng_states"] = rng_states
        return objects

    @property
    def metrics(self) -> list:
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]
        if self.adversarial.needs_gradient_penalty:
            trackers.append(self.d_penalty_tracker)
        return trackers

    # ------------------------------------------------------------- randomness
    def _step_seed(self, stream: int, own_streams: bool = False):
        """[key of (noise_seed, stream), generator step]. Both stay in [0, 2^32): XLA turns larger or
        negative seeds into other bits than TensorFlow's graph does (it keeps 32 bits of each)."""
        stream_id = int(stream) + (_OWN_STREAM_OFFSET if own_streams else 0)
        key = tf.random.stateless_uniform([], seed=tf.constant([self.noise_seed, stream_id], tf.int64),
                                          minval=None, maxval=None, dtype=tf.uint32)
        return tf.stack([tf.cast(key, tf.int64), ops.cast(self.g_optimizer.iterations, "int64")])

    def _replica_slice(self, global_values, local_batch):
        replicas = self.distribute_strategy.num_replicas_in_sync
        if replicas == 1:
            return global_values
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        return global_values[replica_id * local_batch : (replica_id + 1) * local_batch]

    def _global_batch(self, local_batch):
        return local_batch * self.distribute_strategy.num_replicas_in_sync

    def draw(self, shape_tail, local_batch, stream: int, kind: str = "normal", own_streams: bool = False):
        """This replica's slice of a stateless draw [global batch, *shape_tail] for the current
        step from (noise_seed, step, stream): the same numbers on any number of replicas."""
        shape = [self._global_batch(local_batch), *shape_tail]
        return self._replica_slice(stateless_draw(shape, self._step_seed(stream, own_streams), kind), local_batch)

    def draw_uniform(self, local_batch, stream: int):
        return self.draw([], local_batch, stream, kind="uniform")

    # ------------------------------------------------------------- train step
    def call(self, inputs, training=False):
        """latents -> images (conditional models: [latents, labels] -> images)."""
        return self.sampling_generator(inputs, training=training)

    def generate_fake(self, latents, labels=None, training=True, generator=None):
        generator = generator or self.generator
        if labels is None:
            images = generator(latents, training=training)
        else:
            images = generator([ops.convert_to_tensor(latents, "float32"), ops.convert_to_tensor(labels, "int32")], training=training)
        return ops.cast(images, "float32")  # mixed precision computes in 16 bits; losses and mixing in 32

    def discriminate(self, images, labels=None, training=True, discriminator=None):
        discriminator = discriminator or self.discriminator
        if labels is None:
            logits = discriminator(images, training=training)
        else:
            logits = discriminator([ops.convert_to_tensor(images), ops.convert_to_tensor(labels, "int32")], training=training)
        return ops.cast(logits, "float32")

    def scale_loss(self, per_example, local_batch):
        return losses.global_batch_mean(per_example, self._global_batch(local_batch))

    def apply_gradients(self, tape, loss, variables, optimizer) -> None:
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    def critic_view(self, images, stream: int, fake: bool):
        """What the discriminator is shown of a batch: the images here; stylegan_lite augments."""
        return images

    def discriminator_regularizer(self, critic, real, local_batch):
        """Extra per-example discriminator loss on real images, or None: none here; stylegan_lite's
        lazy R1. `critic` maps images to logits as the real batch was judged."""

    def discriminator_loss(self, real, fake, labels=None, stream: int = 0):
        """Per-example discriminator loss (penalty and regularizer included) and the logits of
        the real and the generated batch; call it inside the discriminator's tape."""
        batch = ops.shape(real)[0]
        critic = lambda images: self.discriminate(self.critic_view(images, stream, fake=False), labels)
        real_logits = critic(real)
        fake_logits = self.discriminate(self.critic_view(fake, stream, fake=True), labels)
        per_example = self.adversarial.discriminator(real_logits, fake_logits)
        if self.adversarial.needs_gradient_penalty:
            alpha = self.draw_uniform(batch, PENALTY_STREAM + stream)
            penalty = losses.gradient_penalty(critic, real, fake, alpha)
            per_example = per_example + self.gp_weight * penalty
            self.d_penalty_tracker.update_state(penalty)
        regularizer = self.discriminator_regularizer(critic, real, batch)
        if regularizer is not None:
            per_example = per_example + regularizer
        return per_example, real_logits, fake_logits

    def track_discriminator(self, per_example, real_logits, fake_logits) -> None:
        self.d_loss_tracker.update_state(per_example)
        self.d_real_tracker.update_state(losses.per_example(real_logits))
        self.d_fake_tracker.update_state(losses.per_example(fake_logits))

    def discriminator_step(self, real, fake, labels=None, stream: int = 0):
        """One discriminator update on a real and a generated batch. Touches no G weight."""
        with tf.GradientTape() as tape:
            per_example, real_logits, fake_logits = self.discriminator_loss(real, fake, labels, stream)
            loss = self.d_optimizer.scale_loss(self.scale_loss(per_example, ops.shape(real)[0]))
        self.apply_gradients(tape, loss, self.discriminator_variables(), self.d_optimizer)
        self.track_discriminator(per_example, real_logits, fake_logits)

    def generator_loss(self, fake, batch, labels=None):
        """Per-example adversarial loss of generated images under the current discriminator,
        and its global-batch mean (compute both inside the generator's tape)."""
        return self.generator_loss_of_logits(self.discriminate(fake, labels), batch)

    def generator_loss_of_logits(self, fake_logits, batch):
        per_example = self.adversarial.generator(fake_logits)
        return per_example, self.g_optimizer.scale_loss(self.scale_loss(per_example, batch))

    def generator_update(self, tape, per_example, loss) -> None:
        self.apply_gradients(tape, loss, self.generator_variables(), self.g_optimizer)
        self.g_loss_tracker.update_state(per_example)

    def training_logs(self) -> dict[str, Any]:
        logs = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 MEAN-reduces logs over workers along axis 0, which fails for scalars.
            logs = {name: ops.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Everything is built in __init__/compile. Keras 3.15 would still reduce a data batch
        # here, which fails for per-replica tuples under MultiWorkerMirroredStrategy.
        if not all(layer.built for layer in self._flatten_layers()):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


class LatentGAN(GAN):
    """A GAN whose generator maps latent noise (and, for conditional models, a class label) to
    images: the noise-drawing `train_step` in either update order, and sampling (`generate`)."""

    task = "generation"
    update_schemes = UPDATE_SCHEMES
    num_classes: int = 0  # conditional models set it: data then yields (images, labels)
    latent_dim: int

    def draw_latents(self, local_batch, stream: int = LATENT_STREAM):
        """This replica's slice of the global batch of latents for the current step."""
        return self.draw([self.latent_dim], local_batch, stream)

    def split_batch(self, data):
        """(real images, labels or None) from a batch of images or (images, labels)."""
        if isinstance(data, (tuple, list)):
            real, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            real, labels = data, None
        if self.num_classes and labels is None:
            raise ValueError(f"{type(self).__name__} is conditional: the dataset must yield (images, labels)")
        return real, (labels if self.num_classes else None)

    def train_step(self, data):
        # Conditional models generate fakes for the real batch's labels, so D compares like with like.
        real, labels = self.split_batch(data)
        batch = ops.shape(real)[0]
        # Extra critic updates (d_steps > 1, as WGAN-GP trains) each see fresh latents.
        for extra in range(1, self.d_steps):
            self.discriminator_step(real, self.generate_fake(self.draw_latents(batch, extra), labels), labels, extra)
        latents = self.draw_latents(batch)
        if self.updates == "simultaneous":
            self.simultaneous_step(real, latents, labels)
        else:
            with tf.GradientTape() as g_tape:
                # One generator forward pass serves both updates (as in the PyTorch DCGAN recipe):
                # D learns from these fakes, then G learns from the updated D's opinion of them.
                fake = self.generate_fake(latents, labels)
                with g_tape.stop_recording():
                    self.discriminator_step(real, fake, labels)
                g_per_example, g_loss = self.generator_loss(fake, batch, labels)
            self.generator_update(g_tape, g_per_example, g_loss)
        if self.ema_generator is not None:
            self.update_ema()
        return self.training_logs()

    def simultaneous_step(self, real, latents, labels=None) -> None:
        """D and G updates from one pass: G's loss reads the logits D's loss reads, and both
        gradients are taken before either optimizer changes a weight."""
        batch = ops.shape(real)[0]
        with tf.GradientTape() as g_tape:
            fake = self.generate_fake(latents, labels)
            with tf.GradientTape() as d_tape:  # opened after G's pass: it records D's ops only
                d_per_example, real_logits, fake_logits = self.discriminator_loss(real, fake, labels)
                d_loss = self.d_optimizer.scale_loss(self.scale_loss(d_per_example, batch))
            g_per_example, g_loss = self.generator_loss_of_logits(fake_logits, batch)
        d_grads = d_tape.gradient(d_loss, self.discriminator_variables())
        g_grads = g_tape.gradient(g_loss, self.generator_variables())
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator_variables()))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator_variables()))
        self.track_discriminator(d_per_example, real_logits, fake_logits)
        self.g_loss_tracker.update_state(g_per_example)

    # ------------------------------------------------------------- inference
    def sample_latents(self, num: int, seed: int | None = None) -> np.ndarray:
        """`num` latents of `seed` (a random seed when None), chunk by chunk (SAMPLE_CHUNK)."""
        seed = random_seed() if seed is None else seed
        return np.concatenate([latents for _, latents in self.latent_chunks(num, seed)] or
                              [np.zeros((0, self.latent_dim), np.float32)])

    def latent_chunks(self, num: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
        """(offset, latents) for samples 0 .. num-1 of `seed`, SAMPLE_CHUNK at a time."""
        for start in range(0, num, SAMPLE_CHUNK):
            yield start, latents_for_seed(min(SAMPLE_CHUNK, num - start), self.latent_dim, seed, start // SAMPLE_CHUNK).numpy()

    def check_labels(self, labels, count: int, offset: int = 0) -> np.ndarray | None:
        """Labels for `count` samples (starting at sample `offset`): None for unconditional models;
        for conditional ones an int (every sample of that class), an array, or None (classes in turn:
        0, 1, ..., K-1, 0, ... from sample 0)."""
        if not self.num_classes:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional: it takes no labels")
            return None
        if labels is None:
            labels = ((offset + np.arange(count)) % self.num_classes).astype(np.int32)
        else:
            labels = np.asarray(labels, np.int32)
            labels = np.broadcast_to(labels, (count,)) if labels.ndim == 0 else labels[offset : offset + count]
        if len(labels) != count:
            raise ValueError(f"labels must be one class or one per sample ({offset + count}), got {len(labels) + offset}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must be in [0, {self.num_classes}), got {labels.min()}..{labels.max()}")
        return labels

    def latents_from(self, num_or_latents, seed: int | None = None) -> np.ndarray:
        """An int: that many latents drawn from `seed`; an array: the latents, checked [N, latent_dim]."""
        if isinstance(num_or_latents, (int, np.integer)):
            return self.sample_latents(int(num_or_latents), seed)
        latents = np.asarray(num_or_latents, dtype="float32")
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(f"latents must have shape [N, {self.latent_dim}], got {latents.shape}")
        return latents

    def generate(self, num_or_latents, seed: int | None = None, labels=None, batch_size: int = 256, **options) -> np.ndarray:
        """Images in [-1, 1], shape [N, H, W, C], from the EMA generator when there is one. An int
        draws that many latents from `seed` (the same seed gives the same images); an array is
        used as the latents. Conditional models take `labels` (see `check_labels`)."""
        chunks = list(self.iter_generate(num_or_latents, seed, labels, batch_size, **options))
        return np.concatenate(chunks).astype("float32") if chunks else np.zeros((0, *self.image_shape), np.float32)

    def iter_generate(self, num_or_latents, seed: int | None = None, labels=None, batch_size: int = 256,
                      **options) -> Iterator[np.ndarray]:
        """`generate` a batch at a time: memory stays bounded by a batch whatever the count."""
        if isinstance(num_or_latents, (int, np.integer)):
            seed = random_seed() if seed is None else seed
            chunks = self.latent_chunks(int(num_or_latents), seed)
        else:
            chunks = [(0, self.latents_from(num_or_latents))]
        self.check_labels(labels, 0)  # an unconditional model given labels fails before any work
        for start, latents in chunks:
            for i in range(0, len(latents), batch_size):
                batch = latents[i : i + batch_size]
                batch_labels = self.check_labels(labels, len(batch), start + i) if self.num_classes else None
                yield self.generate_batch(batch, batch_labels, start + i, seed, **options)

    def generate_batch(self, latents, labels, offset: int, seed: int | None, **options) -> np.ndarray:
        """One batch of images; `offset` is its first sample's index (models whose sampling draws
        more than latents seed those draws with it)."""
        if options:
            raise TypeError(f"{type(self).__name__}.generate takes no {', '.join(options)}")
        return ops.convert_to_numpy(self.generate_fake(latents, labels, False, self.sampling_generator)).astype("float32")


def random_seed() -> int:
    """A fresh seed in [0, 2^63) for `generate` without one."""
    return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
