"""Recipes: shipped files load; bad keys, types and files give one clear error naming the key."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import REPO

from ganzoo.errors import RecipeError
from ganzoo.recipes import load_recipe, recipe_from_dict, recipe_to_toml

RECIPES = sorted((REPO / "recipes").glob("*.toml"))


def minimal(**sections):
    raw = {"model": {"name": "dcgan"}, "data": {"source": "tfds:mnist"}, "train": {"steps": 10}}
    for key, value in sections.items():
        raw.setdefault(key, {}).update(value)
    return raw


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_shipped_recipes_load_and_round_trip(path, tmp_path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    text = path.read_text().lower()  # every recipe says what its batch is and how its learning rate scales
    assert recipe.train.batch_size >= 1 and "global batch" in text and "scale" in text
    copy = tmp_path / "copy.toml"
    copy.write_text(recipe_to_toml(recipe))
    assert load_recipe(copy) == recipe


def test_recipe_names_are_one_safe_path_component(tmp_path):
    """A recipe's name names its run directories: '..' or a slash would put them elsewhere."""
    for bad in ("../../..", "a/b", ".hidden", "-x"):
        with pytest.raises(RecipeError, match="name: the recipe name .* must be one path component"):
            recipe_from_dict(dict(minimal(), name=bad), name="x")
    odd = tmp_path / "my recipe (v2).toml"
    odd.write_text(recipe_to_toml(recipe_from_dict(minimal(), name="x")).replace('name = "x"\n', ""))
    assert load_recipe(odd).name == "my_recipe_v2_"  # a file's stem, made safe


def test_required_recipes_ship():
    assert {"vanilla_mnist", "dcgan_mnist", "dcgan_fashion_mnist"} <= {p.stem for p in RECIPES}


def test_defaults_and_types():
    recipe = recipe_from_dict(minimal(train={"gp_weight": 5}), name="x")
    assert recipe.name == "x" and recipe.model.preset == "tiny"
    assert recipe.train.gp_weight == 5.0 and isinstance(recipe.train.gp_weight, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.train.steps = 3


@pytest.mark.parametrize(
    "raw, message",
    [
        (minimal(train={"batchsize": 3}), "unknown recipe key 'train.batchsize'"),
        (dict(minimal(), extra={"a": 1}), "unknown recipe key 'extra'"),
        (minimal(optimizer={"generator": {"lr": 1}}), "unknown recipe key 'optimizer.generator.lr'"),
        (minimal(train={"batch_size": "64"}), "'train.batch_size' must be int"),
        (minimal(train={"jit_compile": 1}), "'train.jit_compile' must be bool or str"),
        (minimal(train={"jit_compile": "yes"}), 'train.jit_compile must be true, false or "auto"'),
        (minimal(train={"steps": 0}), "train.steps must be at least 1"),
        (minimal(train={"seed": -1}), r"train.seed: noise_seed must be between 0 and 2\*\*32 - 1, got -1"),
        ({"model": {"name": "dcgan"}, "data": {"source": "tfds:mnist"}, "train": {}}, "missing the key 'train.steps'"),
        (minimal(model={"name": "nope"}), "model.name/model.preset: unknown model 'nope'"),
        (minimal(model={"preset": "huge"}), "no preset 'huge'"),
        (minimal(train={"loss": "l2"}), "train.loss: unknown loss 'l2'"),
        (minimal(data={"source": "folder:/does/not/exist"}), "data.source: /does/not/exist does not exist"),
        (minimal(data={"source": "mnist"}), "data.source: .*must be 'tfds:NAME'"),
        (minimal(optimizer={"generator": {"options": {"betaa": 0.5}}}), "optimizer.generator: cannot build optimizer"),
        (minimal(optimizer={"generator": {"name": "adamm"}}), "optimizer.generator: unknown optimizer"),
        (minimal(evaluation={"metrics": "fid,fdi"}), "evaluation.metrics: unknown metric"),
        (minimal(evaluation={"keep_best": "loss"}), "evaluation.keep_best"),
        (minimal(model={"name": "srgan"}, evaluation={"every_epochs": 1}),
         r"evaluation.every_epochs: a srgan \(super_resolution model\) is not measured by the statistics of samples"),
        (minimal(train={"mixed_precision": "float16"}), "train.mixed_precision: unknown value 'float16'"),
        (minimal(train={"updates": "interleaved"}), "train.updates: DCGAN supports updates=alternating or simultaneous, got 'interleaved'"),
        (minimal(model={"name": "cyclegan"}, train={"updates": "simultaneous"}), "train.updates: CycleGAN supports updates=alternating, got 'simultaneous'"),
        (minimal(train={"steps_per_epoch": 10, "steps_per_execution": 3}), "multiple of train.steps_per_execution"),
    ],
)
def test_bad_recipes_name_the_key(raw, message):
    with pytest.raises(RecipeError, match=message) as error:
        recipe_from_dict(raw)
    assert "\n" not in str(error.value)


def test_keep_best_must_be_a_result_of_the_metrics_a_training_evaluates():
    """Else best/ would never be written. Refused where a recipe is about to train (training, and
    the CLI's early check); a run recorded with such a recipe still loads (sample, evaluate)."""
    from ganzoo.recipes import check_evaluated_metrics

    recorded = recipe_from_dict(minimal(evaluation={"every_epochs": 1, "metrics": "coverage,pr", "keep_best": "fid"}))
    with pytest.raises(RecipeError, match="^evaluation.keep_best: 'fid' is not a result of evaluation.metrics "
                                          "'coverage,pr'; use one of coverage, precision, recall$"):
        check_evaluated_metrics(recorded.evaluation, "generation")
    check_evaluated_metrics(dataclasses.replace(recorded.evaluation, keep_best="recall"), "generation")
    check_evaluated_metrics(dataclasses.replace(recorded.evaluation, every_epochs=0), "generation")  # nothing evaluated


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nname=")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(bad)


def test_set_overrides_are_parsed_and_checked():
    path = REPO / "recipes" / "dcgan_mnist.toml"
    recipe = load_recipe(path, ["train.batch_size=32", "optimizer.generator.learning_rate=1e-4",
                                "model.overrides={latent_dim = 8}", "data.split=test"])
    assert recipe.train.batch_size == 32
    assert recipe.optimizer.generator.learning_rate == 1e-4
    assert recipe.model.overrides == {"latent_dim": 8}
    assert recipe.data.split == "test"
    with pytest.raises(RecipeError, match="unknown recipe key 'train.bogus'"):
        load_recipe(path, ["train.bogus=1"])
    with pytest.raises(RecipeError, match="key=value"):
        load_recipe(path, ["train.steps"])
