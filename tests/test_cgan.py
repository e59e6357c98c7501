"""Conditional GAN: label conditioning, class grids, sampling per label, synthetic data."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import tiny_recipe_text

import ganzoo
from ganzoo.actions import sample, synthesize
from ganzoo.cli import main
from ganzoo.data import load_images
from ganzoo.data.synthetic import write_synthetic_dataset
from ganzoo.errors import DataError, GanzooError, NotAClass, Unconditional
from ganzoo.recipes import load_recipe
from ganzoo.training import train


def tiny_cgan(**overrides):
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("cgan", "tiny", **overrides)
    model.compile()
    return model


def test_the_label_changes_the_image_and_nothing_else_does():
    model = tiny_cgan()
    latents = np.repeat(model.sample_latents(1, seed=0), 2, axis=0)
    same = model.generate(latents, labels=[4, 4])
    np.testing.assert_array_equal(same[0], same[1])
    different = model.generate(latents, labels=[4, 5])
    assert not np.allclose(different[0], different[1])
    np.testing.assert_array_equal(model.generate(2, seed=3, labels=7), model.generate(2, seed=3, labels=[7, 7]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.generate(2, labels=10)
    with pytest.raises(ValueError, match="unconditional"):
        ganzoo.create_model("dcgan", "tiny").generate(2, labels=1)


def test_projection_logit_is_psi_plus_class_embedding_dot_features():
    model = tiny_cgan()
    discriminator = model.discriminator
    images = np.random.default_rng(0).uniform(-1, 1, (3,) + model.image_shape).astype("float32")
    labels = np.array([0, 4, 9], np.int32)
    features = keras.Model(discriminator.inputs, discriminator.get_layer("features_lrelu").output)([images, labels])
    head = discriminator.get_layer("logit")
    embedding = head.class_embedding.embeddings.numpy()[labels]
    expected = head.unconditional(features).numpy()[:, 0] + np.sum(embedding * features.numpy(), axis=1)
    np.testing.assert_allclose(model.discriminate(images, labels, training=False).numpy()[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_concat_conditioning_and_bad_options():
    model = tiny_cgan(conditioning="concat")
    assert "label_plane" in [layer.name for layer in model.discriminator.layers]
    images = np.zeros((2,) + model.image_shape, np.float32)
    logits = model.discriminate(images, np.array([0, 1]), training=False).numpy()
    assert logits.shape == (2, 1) and logits[0, 0] != logits[1, 0]  # the label reaches the logit
    with pytest.raises(ValueError, match="conditioning must be one of"):
        ganzoo.create_model("cgan", "tiny", conditioning="film")


def test_class_grid_preview_has_one_row_per_class():
    from ganzoo.tasks import task_of

    model = tiny_cgan()
    images, columns = task_of(model).panels(model, None, 20, seed=5)["samples"]
    assert columns == 2 and images.shape == (20,) + model.image_shape
    latents = model.sample_latents(2, seed=5)
    np.testing.assert_allclose(images[6:8], model.generate(latents, labels=3), atol=1e-6)  # row 3


@pytest.fixture
def cgan_run(tmp_path_factory, tfds_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    root = tmp_path_factory.mktemp("cgan")
    recipe = root / "tiny_cgan.toml"
    recipe.write_text(tiny_recipe_text("tfds:mnist", steps=6, steps_per_epoch=3).replace('name = "dcgan"', 'name = "cgan"'))
    return train(load_recipe(recipe), out=root / "runs", verbose=0)


def test_training_on_labelled_data_and_sampling_per_label(cgan_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["sample", str(cgan_run), "--label", "3", "--num", "4", "--seed", "1",
                                  "--out", str(tmp_path / "threes.npz")])
    assert result.exit_code == 0, result.output
    model = ganzoo.training.load_trained_model(cgan_run)
    expected = np.clip(np.round((model.generate(4, seed=1, labels=3) + 1) * 127.5), 0, 255)
    np.testing.assert_array_equal(np.load(tmp_path / "threes.npz")["images"], expected)
    result = runner.invoke(main, ["sample", str(cgan_run), "--label", "12", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and f"label: {cgan_run} has classes 0 to 9, got 12" in result.output  # from the recipe
    with pytest.raises(NotAClass, match="has classes 0 to 9, got -1"):  # the library's own check, on the loaded model
        sample(cgan_run, tmp_path / "x.png", 2, label=-1)


def test_synthesize_writes_a_labelled_dataset_that_tf_data_reads(cgan_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["synthesize", str(cgan_run), "--per-class", "3", "--out", str(tmp_path / "syn")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "syn" / "synthetic.npz"
    arrays = dict(np.load(path))
    assert arrays["images"].shape == (30, 16, 16, 1) and arrays["images"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(arrays["labels"]), [3] * 10)
    first = next(iter(tf.data.Dataset.from_tensor_slices(arrays).batch(30)))
    assert first["images"].shape == (30, 16, 16, 1)
    data = load_images(f"npz:{path}", (16, 16, 1))
    np.testing.assert_array_equal(data.labels, arrays["labels"])
    again = runner.invoke(main, ["synthesize", str(cgan_run), "--per-class", "3", "--out", str(tmp_path / "syn")])
    assert again.exit_code == 1 and "never overwritten" in again.output
    unconditional = tmp_path / "d.keras"
    ganzoo.create_model("dcgan", "tiny").save(unconditional)
    result = runner.invoke(main, ["synthesize", str(unconditional), "--per-class", "1", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "d.keras holds a dcgan, which is unconditional" in result.output
    # The CLI answers from the file's config before loading it; the library, from the loaded model,
    # before it makes the folder.
    with pytest.raises(Unconditional) as raised:
        synthesize(unconditional, tmp_path / "x", 1)
    assert result.output.strip() == f"Error: {raised.value}" and not (tmp_path / "x").exists()
    for name in ("dcgan", "srgan"):  # a generator without classes, an image-to-image model
        with pytest.raises(GanzooError, match="unconditional"):
            write_synthetic_dataset(ganzoo.create_model(name, "tiny"), 1, tmp_path / "y")
    assert not (tmp_path / "y").exists()
    labelled = runner.invoke(main, ["sample", str(unconditional), "--label", "3", "--out", str(tmp_path / "s.png")])
    with pytest.raises(Unconditional) as raised:
        sample(unconditional, tmp_path / "s.png", 4, label=3)
    assert labelled.exit_code == 1 and labelled.output.strip() == f"Error: {raised.value}"


def test_bench_augment_prints_both_accuracies(cgan_run):
    result = CliRunner().invoke(main, ["bench", "augment", str(cgan_run), "--per-class", "10", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[1].startswith("600 real images") and lines[2].startswith("600 real + 100 synthetic images")
    for line in lines[1:3]:
        assert 0.0 < float(line.split()[-1]) <= 1.0
    assert lines[3].startswith("synthetic data changes test accuracy by")


def test_conditional_model_refuses_unlabelled_data(tmp_path, monkeypatch):
    npz = tmp_path / "unlabelled.npz"
    np.savez(npz, images=np.zeros((32, 16, 16), np.uint8))
    recipe = tmp_path / "r.toml"
    recipe.write_text(tiny_recipe_text(f"npz:{npz}", steps=2).replace('name = "dcgan"', 'name = "cgan"'))
    with pytest.raises(DataError, match="is conditional but .* has no labels"):
        train(load_recipe(recipe), out=tmp_path / "runs", verbose=0)
