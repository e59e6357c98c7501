"""3D-GAN: voxel data (procedural shapes, binvox, npy/npz, meshes), the adaptive discriminator
update, training through a recipe with evaluation and resume, export with occupancy gates,
meshes and renders out, and no mesh library on the train / export / serve path."""

from __future__ import annotations

import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.data.voxels import (
    SHAPE_CLASSES,
    fit_grid,
    load_volumes,
    procedural_shapes,
    read_binvox,
)
from ganzoo.errors import DataError


# ------------------------------------------------------------------------------------ data
def test_procedural_shapes_are_deterministic_labelled_and_split():
    shapes = procedural_shapes(10, 16)
    again = procedural_shapes(10, 16)
    np.testing.assert_array_equal(shapes.volumes, again.volumes)
    np.testing.assert_array_equal(procedural_shapes(4, 16, start=6).volumes, shapes.volumes[6:])  # shape i is shape i
    assert shapes.volumes.shape == (10, 16, 16, 16, 1) and shapes.volumes.dtype == np.uint8
    assert list(shapes.labels) == [i % len(SHAPE_CLASSES) for i in range(10)]
    assert not np.array_equal(procedural_shapes(10, 16, "test").volumes, shapes.volumes)
    fill = shapes.volumes.reshape(10, -1).mean(axis=1)
    assert (fill > 0.01).all() and (fill < 0.6).all(), fill  # every shape has voxels, none is a block
    # Upright: a chair's seat level is occupied, its floor has only legs; a lamp's base is the widest below its shade.
    chair = shapes.volumes[0, ..., 0]
    assert chair[:, -1, :].sum() < chair.sum() * 0.1


def binvox_bytes(grid_xzy: np.ndarray) -> bytes:
    """A .binvox file of a bool grid stored in binvox's own order ([x, z, y], y fastest)."""
    flat = grid_xzy.astype(np.uint8).ravel()
    runs, start = [], 0
    while start < len(flat):
        end = start
        while end < len(flat) and flat[end] == flat[start] and end - start < 255:
            end += 1
        runs += [flat[start], end - start]
        start = end
    n = grid_xzy.shape[0]
    return f"#binvox 1\ndim {n} {n} {n}\ntranslate 0 0 0\nscale 1\ndata\n".encode() + bytes(runs)


def test_binvox_reads_in_ganzoo_axes_and_bad_files_are_one_error():
    grid = np.zeros((6, 6, 6), bool)  # [x, z, y], y up
    grid[1, 2, 0] = True  # x = 1, z = 2, on the floor (y = 0)
    volume = read_binvox(binvox_bytes(grid))
    assert volume.shape == (6, 6, 6) and volume.sum() == 1
    assert volume[2, 5, 1]  # [depth = z, height from the top = 5 - y, width = x]
    with pytest.raises(DataError, match="not a valid .binvox"):
        read_binvox(b"#binvox 1\ndim 4 4 4\ndata\n\x01\x05")  # 5 voxels for 64
    assert fit_grid(np.ones((30, 30, 30)), 32)[1:31, 1:31, 1:31].all()  # ModelNet's 30^3 centred in 32^3
    assert fit_grid(np.ones((64, 64, 64)), 32).all()


def test_folders_of_binvox_npy_and_meshes_load_labelled_by_subfolder(tmp_path):
    import trimesh

    (tmp_path / "boxes").mkdir()
    (tmp_path / "cubes").mkdir()
    trimesh.creation.box((1.0, 0.5, 0.25)).export(tmp_path / "boxes" / "a.off")
    trimesh.creation.box((1.0, 1.0, 1.0)).export(tmp_path / "boxes" / "b.obj")
    np.save(tmp_path / "cubes" / "c.npy", np.ones((8, 8, 8), np.uint8))
    (tmp_path / "cubes" / "d.binvox").write_bytes(binvox_bytes(np.ones((4, 4, 4), bool)))
    (tmp_path / "cubes" / "notes.txt").write_text("ignored")
    data = load_volumes(f"folder:{tmp_path}", 16)
    assert data.volumes.shape == (4, 16, 16, 16, 1) and list(data.labels) == [0, 0, 1, 1]
    assert data.class_names == ("boxes", "cubes")
    flat_box, cube = data.volumes[0, ..., 0], data.volumes[1, ..., 0]
    assert 0.9 < cube.mean() <= 1.0  # a solid unit cube fills the grid
    # The 1 x 0.5 x 0.25 box (z up in the file): full width, half as deep, a quarter as high.
    extent = [np.flatnonzero(flat_box.any(axis=tuple(a for a in range(3) if a != axis))).size for axis in range(3)]
    assert extent[2] >= 15 and 7 <= extent[0] <= 9 and 3 <= extent[1] <= 5, extent  # [depth, height, width]
    with pytest.raises(DataError, match="shapes:N takes a number"):
        load_volumes("shapes:many", 16)
    with pytest.raises(DataError, match="holds 3D volumes, not images"):
        ganzoo.data.load_images("shapes:10", (28, 28, 1))
    (tmp_path / "boxes" / "none").mkdir()
    with pytest.raises(DataError, match="holds no"):
        load_volumes(f"folder:{tmp_path / 'boxes' / 'none'}", 16)


# ----------------------------------------------------------------------------------- model
def test_adaptive_discriminator_update_skips_d_when_it_is_accurate_enough():
    """D's bias pushed well positive: every real logit is right and every fake one wrong, so its
    accuracy is exactly 0.5. A threshold below skips D's update (weights and optimizer state
    stay), one above updates it; G learns either way."""
    real = procedural_shapes(8, 8).volumes.astype("float32")
    for threshold, updated in ((0.4, False), (0.6, True)):
        keras.utils.set_random_seed(0)
        model = ganzoo.create_model("gan3d", "tiny", adaptive_d_threshold=threshold)
        model.compile()
        logit = model.discriminator.get_layer("logit")
        logit.bias.assign([10.0])
        d_before = [v.numpy().copy() for v in model.discriminator.trainable_variables + model.d_optimizer.variables]
        g_before = [v.numpy().copy() for v in model.generator.trainable_variables]
        logs = model.train_step(tf.constant(real))
        d_after = [v.numpy() for v in model.discriminator.trainable_variables + model.d_optimizer.variables]
        assert float(logs["d_accuracy"]) == 0.5 and float(logs["d_updated"]) == float(updated)
        assert all(np.array_equal(a, b) for a, b in zip(d_before, d_after)) == (not updated)
        assert not all(np.array_equal(a, v.numpy()) for a, v in zip(g_before, model.generator.trainable_variables))
    with pytest.raises(ValueError, match="adaptive_d_threshold"):
        ganzoo.create_model("gan3d", "tiny", adaptive_d_threshold=1.5)


def test_r1_adds_the_squared_gradient_norm_on_real_grids_to_the_discriminator_loss():
    """gamma / 2 * ||dD/dx(real)||^2 per example, against a tape written here; logged as r1_penalty;
    a config round trip keeps gamma."""
    real = tf.constant(procedural_shapes(4, 8).volumes.astype("float32"))
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("gan3d", "tiny", r1_gamma=3.0)
    model.compile()
    fake = model.generate_fake(model.draw_latents(4, 0))
    with_r1, _, _ = model.discriminator_loss(real, fake)
    model.r1_gamma = 0.0
    without, _, _ = model.discriminator_loss(real, fake)
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = model.discriminator(real, training=True)
    squared_norm = tf.reduce_sum(tf.square(tape.gradient(logits, real)), axis=[1, 2, 3, 4])
    assert float(tf.reduce_min(squared_norm)) > 0
    np.testing.assert_allclose(with_r1 - without, 1.5 * squared_norm, rtol=1e-4)
    model.r1_gamma = 3.0
    assert float(model.train_step(real)["r1_penalty"]) > 0
    assert type(model).from_config(model.get_config()).r1_gamma == 3.0
    with pytest.raises(ValueError, match="r1_gamma"):
        ganzoo.create_model("gan3d", "tiny", r1_gamma=float("nan"))


def test_minibatch_std_lets_the_discriminator_see_a_collapsed_batch():
    """With minibatch_std_group, D's logit for a shape depends on the other shapes of its group (a
    batch of one repeated shape scores differently from the same shape among others); without,
    it does not."""
    shapes = procedural_shapes(4, 8).volumes.astype("float32")
    collapsed = np.repeat(shapes[:1], 4, axis=0)
    for group, sees_variety in ((0, False), (4, True)):
        keras.utils.set_random_seed(0)
        # Unit-scale weights make the std feature's share of the logit large (at 0.02 it is ~1e-4).
        model = ganzoo.create_model("gan3d", "tiny", minibatch_std_group=group, init_std=1.0)
        d = model.discriminator
        varied_logit = d(shapes, training=False).numpy()[0, 0]
        collapsed_logit = d(collapsed, training=False).numpy()[0, 0]
        difference = abs(varied_logit - collapsed_logit)
        assert (difference > 1e-3 * abs(varied_logit) + 0.1) == sees_variety, (group, varied_logit, collapsed_logit)
        assert ("mbstd" in [layer.name for layer in d.layers]) == sees_variety
    assert model.get_config()["minibatch_std_group"] == 4
    with pytest.raises(ValueError, match="minibatch_std_group"):
        ganzoo.create_model("gan3d", "tiny", minibatch_std_group=-1)


def test_presets_build_the_papers_shapes():
    paper = ganzoo.models.preset_config("gan3d", "64")
    assert paper["latent_dim"] == 200 and paper["volume_size"] == 64 and paper["adaptive_d_threshold"] == 0.8
    model = ganzoo.create_model("gan3d", "32")
    assert model.generator.output_shape == (None, 32, 32, 32, 1) and model.image_shape == (32, 32, 32, 1)
    assert model.discriminator.output_shape == (None, 1)


# --------------------------------------------------------------------- recipe, evaluate, resume
RECIPE = """
[model]
name = "gan3d"
preset = "tiny"
overrides = {{ "adaptive_d_threshold" = 0.8 }}

[data]
source = "shapes:200"

[train]
steps = {steps}
batch_size = 16
steps_per_epoch = 5
seed = 1
jit_compile = false

[optimizer.generator]
learning_rate = 2e-3
options = {{ beta_1 = 0.5 }}

[optimizer.discriminator]
learning_rate = 2e-4
options = {{ beta_1 = 0.5 }}

[logging]
log_every_steps = 5
sample_grid = 8

[evaluation]
every_epochs = 2
metrics = "fid,coverage"
num = 50
"""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny run trained 10 of 20 steps (the rest by resume), with evaluation every 2 epochs."""
    from ganzoo.recipes import load_recipe
    from ganzoo.training import resume, train

    root = tmp_path_factory.mktemp("gan3d")
    # The volume classifier is trained into a private cache; the worker's own (CI sets one) comes
    # back after the module.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("GANZOO_CACHE", str(root / "cache"))
        (root / "r.toml").write_text(RECIPE.format(steps=20))
        run = train(load_recipe(root / "r.toml"), out=root / "runs", max_steps=10, verbose=0)
        (run / "recipe.toml").write_text((run / "recipe.toml").read_text().replace("steps = 10", "steps = 20"))
        resume(run, verbose=0)
        yield run


def test_a_recipe_trains_resumes_evaluates_and_renders(trained_run):
    import json

    from ganzoo.training import load_trained_model

    model = load_trained_model(trained_run)
    assert int(model.g_optimizer.iterations) == 20
    history = [json.loads(line) for line in (trained_run / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [5, 10, 15, 20] and {"d_accuracy", "d_updated"} <= history[-1].keys()
    results = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in results] == [10, 20]
    metrics = results[-1]["metrics"]
    assert metrics["fid"] > metrics["fid_real_vs_real"] >= 0 and 1 <= metrics["coverage_classes"] <= 5
    assert results[-1]["protocol"]["classifier_test_accuracy"] > 0.5  # 5 classes told apart (chance 0.2) at 8^3 from 200 shapes
    tags = set()
    for event_file in (trained_run / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags |= {value.tag for value in event.summary.value}
    assert {"samples", "train/d_accuracy", "train/d_updated"} <= tags  # renders in TensorBoard each epoch
    sheet = tf.io.decode_png(tf.io.read_file(str(trained_run / "samples.png"))).numpy()
    assert sheet.shape[0] > 16 * 8  # renders (2x the grid) of the 64 samples, not raw slices
    result = CliRunner().invoke(main, ["evaluate", str(trained_run), "--num", "50"])  # the volume kind's default metrics
    assert result.exit_code == 0, result.output
    assert "fid_real_vs_real" in result.output and "volume_classifier:shapes:200" in result.output
    assert "precision" in result.output and "coverage" in result.output and "kid" not in result.output


def test_the_volume_distance_pools_five_draws_per_real_grid(trained_run):
    """One draw as large as the real set gave a Frechet distance that moved by +-15 between
    sampling seeds (on the version-1 features; ~+-15% on version 2); the protocol pools five
    disjoint draws (seed s: draws 5s .. 5s + 4)."""
    from ganzoo.data.voxels import load_volumes
    from ganzoo.metrics import stats
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.volumes import VolumeExtractor
    from ganzoo.training import load_trained_model

    result = evaluate(trained_run, ["fid", "coverage"], num=50, seed=1)
    assert result["protocol"]["num_generated"] == 250 and result["protocol"]["num_real"] == 50
    model = load_trained_model(trained_run)
    extractor = VolumeExtractor("shapes:200", 8)
    real = extractor(load_volumes("shapes:200", 8, "test", max_examples=50).volumes)
    draws = [extractor(model.generate(50, seed=s)) for s in range(5, 10)]  # a draw at a time, as measured
    features = np.concatenate([d.features for d in draws])
    assert result["metrics"]["fid"] == pytest.approx(stats.fid(real.features, features), rel=1e-4)
    assert result["metrics"]["coverage_classes"] == stats.class_coverage(np.concatenate([d.probabilities for d in draws]))[0]


def test_the_volume_features_all_vary_and_no_direction_dominates(trained_run):
    """Version 1's ReLU features had units that never fired on real shapes (24-34 of 128 here at
    8^3) and at 32^3 one direction with 74% of the variance, which made the distance noisy. A
    classifier that an older ganzoo cached under the unversioned name is not reused."""
    import os
    from pathlib import Path

    from ganzoo.data.voxels import load_volumes
    from ganzoo.metrics.volumes import (
        CLASSIFIER_VERSION,
        VolumeExtractor,
        volume_classifier_path,
    )

    stale = Path(os.environ["GANZOO_CACHE"]) / "classifiers" / "volumes-shapes_200-8.keras"
    stale.write_bytes(b"a version-1 classifier")
    assert volume_classifier_path("shapes:200", 8).name == f"volumes-v{CLASSIFIER_VERSION}-shapes_200-8.keras"
    features = VolumeExtractor("shapes:200", 8)(load_volumes("shapes:200", 8, "test").volumes).features.astype(np.float64)
    assert (features.std(axis=0) > 1e-3).all()
    variances = np.linalg.eigvalsh(np.cov(features, rowvar=False))
    assert variances.max() / variances.sum() < 0.6


def test_nna_compares_the_grids_themselves_beside_two_real_splits(trained_run, tmp_path):
    from ganzoo.data.voxels import load_volumes
    from ganzoo.metrics import stats
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.training import load_trained_model

    result = evaluate(trained_run, ["nna"], num=50, seed=1)
    real = load_volumes("shapes:200", 8, "test", max_examples=50).volumes
    expected = stats.nearest_neighbour_stats(real, load_trained_model(trained_run).generate(50, seed=5) > 0.5)
    floor = stats.nearest_neighbour_stats(real, load_volumes("shapes:200", 8, "train", max_examples=50).volumes)
    for key in ("nna", "nn_coverage", "nn_mmd"):
        assert result["metrics"][key] == pytest.approx(expected[key])
        assert result["metrics"][f"{key}_real_vs_real"] == pytest.approx(floor[key])
    assert "fid" not in result["metrics"]
    # The distance's floor takes as many train grids as FD's generated side has (5 x 30), or all
    # the split has (200 < 5 x 50); 1-NNA's floor stays 50 against 50 (above).
    from ganzoo.metrics.volumes import VolumeExtractor

    extractor = VolumeExtractor("shapes:200", 8)
    for num, num_floor in ((30, 150), (50, 200)):
        result = evaluate(trained_run, ["fid", "nna"], num=num)
        test = extractor(load_volumes("shapes:200", 8, "test", max_examples=num).volumes).features
        train = extractor(load_volumes("shapes:200", 8, "train", max_examples=num_floor).volumes).features
        assert result["protocol"]["num_real_floor"] == num_floor
        assert result["metrics"]["fid_real_vs_real"] == pytest.approx(stats.fid(test, train), rel=1e-6)
    assert result["metrics"]["nna_real_vs_real"] == pytest.approx(floor["nna"])
    result = evaluate(trained_run, ["fragments"], num=50, seed=1)  # pieces of the first draw, and of real grids
    assert result["metrics"]["fragments"] == stats.fragments(load_trained_model(trained_run).generate(50, seed=5) > 0.5)["fragments"]
    assert result["metrics"]["fragments_real_vs_real"] == stats.fragments(load_volumes("shapes:200", 8, "train", max_examples=50).volumes)["fragments"]
    output = CliRunner().invoke(main, ["evaluate", str(trained_run), "--num", "50"]).output
    assert "nna" in output and "fragments" in output and "fid" in output and "precision" in output  # the kind's default metrics
    dcgan = tmp_path / "dcgan.keras"
    ganzoo.create_model("dcgan", "tiny").save(dcgan)
    result = CliRunner().invoke(main, ["evaluate", str(dcgan), "--metrics", "fid,nna"])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "nna does not measure generation models" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(dcgan), "--metrics", "fragments"])
    assert result.exit_code == 1 and "fragments does not measure generation models" in result.output, result.output


def test_kid_is_refused_for_volumes_by_the_cli_the_library_and_a_recipe(trained_run, tmp_path):
    from ganzoo.errors import GanzooError, RecipeError
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.recipes import check_recipe_keys, load_recipe
    from ganzoo.training import train

    # KID on the volume classifier's features cannot tell real grids (-0.008 against real ones)
    # from a trained generator's (0.005-0.014); version 1's gave -12936. Refused, not reported.
    result = CliRunner().invoke(main, ["evaluate", str(trained_run), "--metrics", "fid,kid"])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "kid does not measure volume models" in result.output
    with pytest.raises(GanzooError, match="kid does not measure volume models"):
        evaluate(trained_run, ["kid"], num=50)
    with pytest.MonkeyPatch.context() as patch:  # the run's recipe names the kind: no model is loaded to refuse
        patch.setattr("ganzoo.metrics.evaluate.load_trained_model", lambda run: pytest.fail("loaded the model"))
        with pytest.raises(GanzooError, match="kid does not measure volume models"):
            evaluate(trained_run, ["fid", "kid"], num=50)
    (tmp_path / "r.toml").write_text(RECIPE.format(steps=20).replace('metrics = "fid,coverage"', 'metrics = "fid,kid"'))
    with pytest.raises(RecipeError, match="evaluation.metrics: kid does not measure volume models"):
        check_recipe_keys(tmp_path / "r.toml")  # the CLI's check before TensorFlow loads
    with pytest.raises(RecipeError, match="evaluation.metrics: kid does not measure volume models"):
        train(load_recipe(tmp_path / "r.toml"), out=tmp_path / "runs", verbose=0)
    assert not list((tmp_path / "runs").glob("0*"))  # refused before the first step: no run left behind
    # A run recorded before KID was refused (its recipe asks for it) is still read: evaluated,
    # with the kind's default metrics.
    old_run = shutil.copytree(trained_run, tmp_path / "old_run")
    (old_run / "recipe.toml").write_text((old_run / "recipe.toml").read_text().replace('"fid,coverage"', '"fid,kid"'))
    metrics = evaluate(old_run, num=50)["metrics"]
    assert "fid" in metrics and "kid" not in metrics


def test_time_to_quality_curves_a_volume_recipe_without_kid(trained_run, tmp_path):
    import csv

    (tmp_path / "r.toml").write_text(RECIPE.format(steps=10**6))
    result = CliRunner().invoke(main, ["bench", "time-to-quality", str(tmp_path / "r.toml"), "--minutes", "0.05",
                                       "--every", "1", "--num", "50", "--out", str(tmp_path / "curves")])
    assert result.exit_code == 0, result.output
    points = list(csv.DictReader((tmp_path / "curves" / "00000-curves" / "time_to_quality.csv").open()))
    assert points and all(float(p["fid"]) > 0 and 1 <= int(p["classes"]) <= 5 for p in points), points
    assert all(p["kid"] == "nan" for p in points)  # refused for volumes (kinds.REFUSED_METRICS), not measured
    assert "on 250 generated vs 50 real test samples" in result.output.splitlines()[0]  # five draws per real grid
    assert "FD" in result.output.splitlines()[1].split() and "FID" not in result.output  # not on Inception's features


def test_render_shows_a_shape_upright_and_an_empty_grid_as_background():
    from ganzoo.volumes import render_numpy

    volumes = procedural_shapes(2, 16).volumes
    empty = np.zeros_like(volumes[:1])
    images = render_numpy(np.concatenate([volumes, empty]).astype("float32"))
    assert images.shape == (3, 32, 32, 1) and images.min() >= -1 and images.max() <= 1
    assert (images[2] == -1).all() and (images[:2] > -1).mean(axis=(1, 2, 3)).min() > 0.05
    table = images[1, ..., 0] > -1  # a table: its top is wider than its legs
    rows = np.flatnonzero(table.any(axis=1))
    assert table[rows[0] : rows[0] + 4].sum(axis=1).max() > table[rows[-1] - 2 : rows[-1] + 1].sum(axis=1).max()


# ----------------------------------------------------------------------------------- export
def confident(model):
    """Scales the final layer so occupancy lies far from 0.5 (pre-sigmoid spread ~10, as a trained
    model's is): IoU gates need decisive voxels to mean anything. An initialised model's
    occupancy is 0.5 +- 0.002."""
    probabilities = np.clip(model.generate(8, seed=0), 1e-6, 1 - 1e-6)
    scale = 10.0 / float(np.log(probabilities / (1 - probabilities)).std())
    for generator in {id(g): g for g in (model.generator, model.sampling_generator)}.values():
        layer = generator.get_layer("to_volume")
        layer.kernel.assign(layer.kernel * scale)
        layer.bias.assign(layer.bias * scale)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from ganzoo.export import export_saved_model

    keras.utils.set_random_seed(0)
    model = confident(ganzoo.create_model("gan3d", "tiny"))
    base = tmp_path_factory.mktemp("export3d")
    return model, export_saved_model(model, base, "gan3d", ["float32", "float16", "dynamic", "int8"])


def test_signatures_serve_occupancy_and_every_format_verifies(exported):
    from ganzoo.export.verify import format_checks, verify_export

    model, version_dir = exported
    probabilities = model.generate(3, seed=5)
    assert 0.1 < (probabilities > 0.5).mean() < 0.9 and (np.abs(probabilities - 0.5) > 0.25).mean() > 0.8
    signatures = tf.saved_model.load(str(version_dir)).signatures
    served = signatures["serving_default"](latent=tf.constant(model.sample_latents(3, 5)))["volumes"].numpy()
    assert served.dtype == np.uint8 and served.shape == (3, 8, 8, 8, 1)
    assert np.abs(served.astype(int) - np.round(probabilities * 255)).max() <= 1
    sampled = signatures["sample"](seed=tf.constant(5, tf.int64), num_samples=tf.constant(3))["volumes"].numpy()
    np.testing.assert_array_equal(sampled, served)  # the same seed, the same shapes
    with pytest.raises(tf.errors.InvalidArgumentError, match="latent"):
        signatures["generate"](latent=tf.zeros([2, model.latent_dim + 1]))
    checks = verify_export(version_dir)
    table = format_checks(checks)
    assert len(checks) == 7 and all(c.passed for c in checks), table
    assert all(c.iou is not None for c in checks) and "IoU" in table
    assert min(c.iou for c in checks if "int8" not in c.artifact) >= 0.99


def test_verify_export_fails_an_occupancy_that_moved(exported, tmp_path):
    import shutil

    from ganzoo.export.gates import iou
    from ganzoo.export.verify import verify_export

    _, version_dir = exported
    broken = tmp_path / "1"
    shutil.copytree(version_dir, broken)
    reference = broken / "assets.extra" / "ganzoo_reference.npz"
    values = dict(np.load(reference))
    values["volumes"] = values["volumes"][:, ::-1]  # upside down
    np.savez(reference, **values)
    failed = [c for c in verify_export(broken) if not c.passed]
    assert {c.artifact for c in failed} >= {"saved_model", "tflite float32", "tflite int8"}
    assert iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0 and iou(np.eye(2), 1 - np.eye(2)) == 0.0


# ------------------------------------------------------------------------- files people open
def test_sample_writes_meshes_renders_and_grids(tmp_path):
    import trimesh

    keras.utils.set_random_seed(0)
    confident(ganzoo.create_model("gan3d", "tiny")).save(tmp_path / "g.keras")
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g.keras"), "--num", "3", "--seed", "4", "--out", str(tmp_path / "shapes")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "shapes").iterdir())
    assert {"samples.png", "volumes.npz", "shape_000000.obj", "shape_000000.glb"} <= set(names)
    grids = np.load(tmp_path / "shapes" / "volumes.npz")["volumes"]
    model = keras.saving.load_model(tmp_path / "g.keras")
    assert grids.shape == (3, 8, 8, 8, 1) and np.abs(grids.astype(int) - np.round(model.generate(3, seed=4) * 255)).max() <= 1
    mesh = trimesh.load(tmp_path / "shapes" / "shape_000000.obj", force="mesh")
    glb = trimesh.load(tmp_path / "shapes" / "shape_000000.glb", force="mesh")
    assert len(mesh.faces) > 10 and len(glb.vertices) == len(mesh.vertices)
    # The mesh encloses what the grid holds: its volume is the solid voxels' to within the surface's rounding.
    solid = (grids[0] > 127).sum()
    assert 0.5 * solid < abs(mesh.volume) < 1.5 * solid + 8
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g.keras"), "--num", "2", "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 1 and "written to a folder" in result.output and len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["interpolate", str(tmp_path / "g.keras"), "--seeds", "1,2,3", "--steps", "4",
                                       "--out", str(tmp_path / "strip.png")])
    assert result.exit_code == 0, result.output
    assert tf.io.decode_png(tf.io.read_file(str(tmp_path / "strip.png"))).shape[0] > 2 * 16  # two rows of renders


def test_a_procedural_chair_meshes_to_its_voxel_volume():
    from ganzoo.volumes import mesh_of

    chair = procedural_shapes(1, 32).volumes[0]
    mesh = mesh_of(chair.astype("float32"))
    assert mesh.is_watertight
    assert abs(abs(mesh.volume) / chair.sum() - 1) < 0.25  # marching cubes rounds corners off
    assert mesh_of(np.zeros((8, 8, 8, 1))) is None


def test_training_export_and_serving_import_no_mesh_library(tmp_path):
    """trimesh and scikit-image are for files people open; the paths a server runs never import them."""
    script = f"""
import sys, keras, numpy as np, tensorflow as tf, ganzoo
from ganzoo.data import training_dataset
from ganzoo.data.voxels import procedural_shapes
from ganzoo.tasks.volume import occupancy_float
from ganzoo.export import export_saved_model
model = ganzoo.create_model("gan3d", "tiny", adaptive_d_threshold=0.8)
model.compile()
model.fit(training_dataset(procedural_shapes(32, 8).volumes, 8, 0, to_float=occupancy_float), epochs=1, steps_per_epoch=2, verbose=0)
version = export_saved_model(model, {str(tmp_path)!r}, "g", ["float32"])
tf.saved_model.load(str(version)).signatures["sample"](seed=tf.constant(1, tf.int64), num_samples=tf.constant(2))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("trimesh", "skimage")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[-2] == "[]", out[-5:]
