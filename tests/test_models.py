"""The GAN contract, checked for every registered model's `tiny` preset."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.models.base import LatentGAN
from ganzoo.registry import get_model_class
from ganzoo.training.runs import model_config_at, model_name_at

# The generative contract (latents in, images out); srgan has its own tests (test_srgan.py).
MODELS = [name for name in ganzoo.list_models() if issubclass(get_model_class(name), LatentGAN)]


def tiny(name: str, **compile_args):
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model(name, "tiny")
    model.compile(**compile_args)
    return model


def real_batch(model, batch=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch,) + model.image_shape).astype("float32")


def labels_for(model, batch=8):
    return np.arange(batch, dtype=np.int32) % model.num_classes if model.num_classes else None


def dataset_for(model, count, batch):
    """Random images (with labels for conditional models), batched."""
    images = real_batch(model, count)
    data = (images, labels_for(model, count)) if model.num_classes else images
    return tf.data.Dataset.from_tensor_slices(data).batch(batch)


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def test_registry_lists_the_zoo():
    assert {"vanilla", "dcgan", "cgan"} <= set(MODELS)
    assert ganzoo.list_models("dc*") == ["dcgan"]
    for name in MODELS:
        assert "tiny" in ganzoo.list_presets(name)


def test_the_catalog_read_from_source_agrees_with_the_registered_classes():
    """`ganzoo list` and the CLI's early checks (a recipe's model and preset, a model of the wrong
    kind or without classes) read the zoo from source, without TensorFlow: names, presets, summaries,
    class names and tasks, the inherited ones included."""
    from ganzoo.registry import builtin_catalog, builtin_preset_config, preset_config

    catalog = {entry.name: entry for entry in builtin_catalog()}
    assert sorted(catalog) == ganzoo.list_models()
    for name, entry in catalog.items():
        cls = get_model_class(name)
        assert (entry.class_name, entry.task, entry.presets) == (cls.__name__, cls.task, cls.presets), name
        assert entry.summary == cls.__doc__.strip().split("\n")[0], name
        assert entry.conditional == bool(getattr(ganzoo.create_model(name, "tiny"), "num_classes", 0)), name  # takes labels
        for preset in cls.presets:
            assert builtin_preset_config(name, preset) == preset_config(name, preset)
    for name, preset in (("dcgna", "mnist"), ("dcgan", "mnits")):  # the same one-line errors
        with pytest.raises(ganzoo.errors.ModelNotFound) as from_source:
            builtin_preset_config(name, preset)
        with pytest.raises(ganzoo.errors.ModelNotFound) as from_classes:
            preset_config(name, preset)
        assert str(from_source.value) == str(from_classes.value)


def test_create_model_rejects_unknown_names_and_arguments():
    with pytest.raises(ganzoo.errors.ModelNotFound, match="unknown model"):
        ganzoo.create_model("nope")
    with pytest.raises(ganzoo.errors.ModelNotFound, match="no preset"):
        ganzoo.create_model("dcgan", "nope")
    with pytest.raises(ganzoo.errors.ModelNotFound, match="no argument 'bogus'"):
        ganzoo.create_model("dcgan", "tiny", bogus=1)


@pytest.mark.parametrize("name", MODELS)
def test_generate_shape_range_and_seed(name):
    model = tiny(name)
    images = model.generate(5, seed=7)
    assert images.shape == (5,) + model.image_shape
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.generate(5, seed=7))
    assert not np.allclose(images, model.generate(5, seed=8))
    latents = model.sample_latents(5, seed=7)
    np.testing.assert_array_equal(model.generate(latents), images)
    with pytest.raises(ValueError, match="latents must have shape"):
        model.generate(np.zeros((2, model.latent_dim + 1)))


@pytest.mark.parametrize("name", MODELS)
def test_generate_streams_the_same_images_in_any_batch_size(name):
    """Samples come a batch at a time (and latents 1024 at a time): the batch size changes
    nothing, conditional models cycle through the classes from sample 0, and the first samples
    of a long draw are a short draw's."""
    model = tiny(name)
    images = model.generate(1100, seed=3, batch_size=300)
    # Kernels round batch-dependently (1.3e-6 here); another latent or label moves pixels by ~1.
    np.testing.assert_allclose(model.generate(1100, seed=3, batch_size=256), images, atol=1e-4)
    np.testing.assert_allclose(model.generate(5, seed=3), images[:5], atol=1e-4)
    if model.num_classes:
        labels = np.arange(1100) % model.num_classes
        np.testing.assert_allclose(model.generate(1100, seed=3, labels=labels, batch_size=300), images, atol=1e-6)
        with pytest.raises(ValueError, match="labels must be one class or one per sample"):
            model.generate(10, seed=3, labels=np.zeros(4, np.int32))


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trip(name):
    model = tiny(name)
    config = model.get_config()
    # get_config returns exactly the constructor arguments (the model's and the base's ema_decay).
    import inspect

    params = set(inspect.signature(type(model).__init__).parameters) - {"self", "kwargs"}
    assert set(config) == params | {"name", "ema_decay"}
    clone = type(model).from_config(config)
    clone.set_weights(model.get_weights())
    latents = model.sample_latents(4, seed=1)
    np.testing.assert_array_equal(clone.generate(latents), model.generate(latents))


@pytest.mark.parametrize("name", MODELS)
def test_keras_file_round_trip_keeps_weights_and_optimizers(name, tmp_path):
    model = tiny(name, g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.3), loss="hinge", noise_seed=5)
    model.fit(dataset_for(model, 16, 8), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is get_model_class(name)
    assert model_name_at(path) == name  # as the CLI tells it without TensorFlow
    config = model_config_at(path)
    assert set(config) == set(model.get_config()) and config.get("num_classes") == model.get_config().get("num_classes")
    latents = model.sample_latents(4, seed=2)
    np.testing.assert_array_equal(loaded.generate(latents), model.generate(latents))
    assert loaded.adversarial.name == "hinge" and loaded.noise_seed == 5
    assert loaded.g_optimizer.beta_1 == pytest.approx(0.3)
    assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 2
    for saved, restored in zip(model.d_optimizer.variables, loaded.d_optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())


# Every model with the most involved loss (WGAN-GP: gradient penalty, extra critic steps), and
# every other loss on DCGAN (the loss code is model-independent).
FIT_CASES = [(name, "wgan_gp") for name in MODELS] + [("dcgan", loss) for loss in ["non_saturating", "minimax", "lsgan", "hinge"]]


@pytest.mark.parametrize("name, loss", FIT_CASES)
def test_fit_gives_finite_losses(name, loss):
    model = tiny(name, loss=loss, d_steps=2 if loss == "wgan_gp" else 1)
    history = model.fit(dataset_for(model, 32, 8), epochs=2, verbose=0).history
    expected = {"d_loss", "g_loss", "d_real", "d_fake"} | ({"d_penalty"} if loss == "wgan_gp" else set())
    # Models log their own regularizers too (stylegan_lite: r1_penalty); every tracker is logged.
    assert expected <= set(history) == {m.name for m in model.metrics}
    for values in history.values():
        assert np.all(np.isfinite(values))
    # d_steps=2 updates D twice per G update.
    assert int(model.d_optimizer.iterations) == 8 * model.d_steps
    assert int(model.g_optimizer.iterations) == 8


@pytest.mark.parametrize("name", MODELS)
def test_discriminator_step_leaves_generator_unchanged(name):
    model = tiny(name)
    labels = labels_for(model)
    fake = model.generate_fake(model.sample_latents(8, seed=0), labels)
    g_before, d_before = snapshot(model.generator.weights), snapshot(model.discriminator.trainable_weights)
    model.discriminator_step(tf.constant(real_batch(model)), fake, labels)
    for before, after in zip(g_before, model.generator.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(d_before, model.discriminator.trainable_weights))


@pytest.mark.parametrize("name", MODELS)
def test_generator_update_leaves_discriminator_unchanged(name):
    model = tiny(name)
    d_before, g_before = snapshot(model.discriminator.trainable_weights), snapshot(model.generator.trainable_weights)
    labels = labels_for(model)
    with tf.GradientTape() as tape:
        fake = model.generate_fake(tf.constant(model.sample_latents(8, seed=0)), labels)
        per_example, loss = model.generator_loss(fake, 8, labels)
    model.generator_update(tape, per_example, loss)
    for before, after in zip(d_before, model.discriminator.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(g_before, model.generator.trainable_weights))


@pytest.mark.parametrize("name", MODELS)
def test_training_noise_is_a_function_of_seed_and_step(name):
    model = tiny(name, noise_seed=11)
    first = model.draw_latents(4).numpy()
    np.testing.assert_array_equal(first, model.draw_latents(4).numpy())
    model.g_optimizer.iterations.assign_add(1)
    assert not np.allclose(first, model.draw_latents(4).numpy())
    other = tiny(name, noise_seed=12)
    assert not np.allclose(first, other.draw_latents(4).numpy())


SIMULTANEOUS = [name for name in MODELS if "simultaneous" in get_model_class(name).update_schemes]


@pytest.mark.parametrize("name", SIMULTANEOUS)
def test_simultaneous_updates_take_both_gradients_from_one_pass(name):
    """One SGD step equals a hand-written step whose D and G gradients both come from the
    discriminator as it was before the step; the alternating order gives G another gradient."""
    sgd = lambda: keras.optimizers.SGD(0.5)
    model = tiny(name, g_optimizer=sgd(), d_optimizer=sgd(), updates="simultaneous")
    alternating = tiny(name, g_optimizer=sgd(), d_optimizer=sgd(), updates="alternating")
    reference = tiny(name)
    real, labels = tf.constant(real_batch(model)), labels_for(model)
    latents = reference.draw_latents(8)
    g_vars, d_vars = reference.generator.trainable_variables, reference.discriminator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fake = reference.generate_fake(latents, labels)
        real_logits = reference.discriminate(real, labels)  # in the model's order (dropout draws)
        fake_logits = reference.discriminate(fake, labels)
        d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))
        g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))  # non-saturating
    expected_g = [v.numpy() - 0.5 * tf.convert_to_tensor(g).numpy() for v, g in zip(g_vars, tape.gradient(g_loss, g_vars))]
    expected_d = [v.numpy() - 0.5 * tf.convert_to_tensor(g).numpy() for v, g in zip(d_vars, tape.gradient(d_loss, d_vars))]
    batch = (real, tf.constant(labels)) if model.num_classes else real
    logs = model.train_step(batch)
    alternating.train_step(batch)
    for want, got in zip(expected_d, model.discriminator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-5)
    for want, got in zip(expected_g, model.generator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-5)
    np.testing.assert_allclose(float(logs["d_loss"]), float(d_loss), rtol=1e-5)
    np.testing.assert_allclose(float(logs["g_loss"]), float(g_loss), rtol=1e-5)
    # Same D update; G's differs, as it learns from the updated D.
    for same, other in zip(model.discriminator.trainable_variables, alternating.discriminator.trainable_variables):
        np.testing.assert_allclose(same.numpy(), other.numpy(), atol=2e-5)
    assert max(np.abs(a.numpy() - b.numpy()).max() for a, b in
               zip(model.generator.trainable_variables, alternating.generator.trainable_variables)) > 1e-3


def test_simultaneous_updates_with_extra_critic_steps_penalty_saving_and_unsupported_models(tmp_path):
    model = tiny("dcgan", loss="wgan_gp", d_steps=2, updates="simultaneous")
    history = model.fit(dataset_for(model, 32, 8), epochs=2, verbose=0).history
    assert all(np.all(np.isfinite(values)) for values in history.values())
    assert int(model.d_optimizer.iterations) == 16 and int(model.g_optimizer.iterations) == 8
    model.save(tmp_path / "model.keras")
    assert keras.saving.load_model(tmp_path / "model.keras").updates == "simultaneous"
    assert tiny("dcgan").updates == "alternating"
    for name in ("stylegan_lite", "cyclegan", "srgan"):
        with pytest.raises(ValueError, match="supports updates=alternating, got 'simultaneous'"):
            ganzoo.create_model(name, "tiny").compile(updates="simultaneous")
    with pytest.raises(ValueError, match="got 'sideways'"):
        ganzoo.create_model("dcgan", "tiny").compile(updates="sideways")


def test_compile_rejects_unknown_loss_and_shared_optimizer():
    model = ganzoo.create_model("dcgan", "tiny")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(loss="nope")
    with pytest.raises(ValueError, match="d_steps must be between 1 and 32"):
        model.compile(d_steps=33)
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different optimizer"):
        model.compile(g_optimizer=shared, d_optimizer=shared)


def test_compile_makes_no_phantom_optimizer():
    model = tiny("dcgan")
    assert model.optimizer is None
    assert model.g_optimizer.built and model.d_optimizer.built


@pytest.mark.parametrize("name", MODELS)
def test_ema_generator_tracks_the_generator(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model(name, "tiny", ema_decay=0.9)
    model.compile()
    np.testing.assert_array_equal(model.ema_generator.get_weights()[0], model.generator.get_weights()[0])
    ema_before = [w.copy() for w in model.ema_generator.get_weights()]
    model.fit(dataset_for(model, 8, 8), epochs=1, verbose=0)  # one step: t = 0 when the EMA updates after it
    decay = min(0.9, (1 + 1) / (10 + 1))  # the step counter is already 1 at the update
    for before, weight, average in zip(ema_before, model.generator.get_weights(), model.ema_generator.get_weights()):
        np.testing.assert_allclose(average, decay * before + (1 - decay) * weight, rtol=1e-5, atol=1e-6)
    latents = model.sample_latents(3, seed=0)
    labels = labels_for(model, 3)
    ema_images = model.generate_fake(latents, labels, False, model.ema_generator)
    np.testing.assert_allclose(model.generate(latents), ema_images, atol=1e-6)
    assert not np.allclose(model.generate(latents), model.generate_fake(latents, labels, False))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.ema_decay == 0.9
    np.testing.assert_array_equal(loaded.generate(latents), model.generate(latents))
    assert "ema_generator" in model.checkpoint_objects()
    with pytest.raises(ValueError, match="ema_decay must be in"):
        ganzoo.create_model(name, "tiny", ema_decay=1.0)


@pytest.mark.parametrize("name", MODELS)
def test_an_uncompiled_model_saves_and_reloads(name, tmp_path):
    model = ganzoo.create_model(name, "tiny")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.generate(2, seed=1), model.generate(2, seed=1))


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_no_variable_is_int32(name):
    # TensorFlow keeps int32 variables in host memory, out of reach of an XLA step on a GPU
    # ("Trying to access resource ... located in device CPU:0 from device GPU:0"): CycleGAN's
    # history pool count failed so on an H100. Counters are int64 (as Keras' optimizer iterations).
    model = ganzoo.create_model(name, "tiny")
    model.compile()
    assert [v.path for v in model.variables if v.dtype == "int32"] == []
