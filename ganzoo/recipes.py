"""Recipes: TOML files read with `tomllib` into frozen dataclasses.

Every key is checked: an unknown key, a wrong type or a missing file gives a one-line
`RecipeError` naming the key. `--set train.batch_size=32` style overrides are applied to the
raw TOML before the check, so they are checked the same way.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ganzoo.errors import GanzooError, RecipeError


@dataclass(frozen=True)
class ModelSection:
    name: str
    preset: str = "tiny"
    overrides: dict = field(default_factory=dict)
    init_generator: str = ""  # a run directory or .keras file whose generator weights start a new run


@dataclass(frozen=True)
class DataSection:
    source: str  # "tfds:NAME", "folder:DIR", "zip:FILE" or "npz:FILE"
    split: str = "train"
    data_dir: str = ""  # tfds data dir; empty means $TFDS_DATA_DIR or tfds' default
    download: bool = True
    max_examples: int = 0  # 0 means all (srgan: the number of HR patches cut into the bank, default 4096)


@dataclass(frozen=True)
class OptimizerSection:
    name: str = "adam"
    learning_rate: float = 2e-4
    options: dict = field(default_factory=dict)  # other keras optimizer arguments, e.g. beta_1
    decay: str = "constant"  # or "linear_second_half": constant, then linearly to 0 (CycleGAN)

    def learning_rate_schedule(self, total_steps: int):
        """The learning rate: a number, or a schedule over `total_steps` (ganzoo/schedules.py)."""
        from ganzoo.schedules import learning_rate

        return learning_rate(self.learning_rate, self.decay, total_steps)

    def check(self, key: str) -> None:
        """Fails where building the optimizer would, without creating one: validation must not start
        the TensorFlow runtime (a multi-worker strategy has to be created first)."""
        import inspect

        import keras

        classes = {n.lower(): c for n, c in vars(keras.optimizers).items()
                   if isinstance(c, type) and issubclass(c, keras.optimizers.Optimizer)}
        optimizer_class = classes.get(self.name.lower())
        if optimizer_class is None or optimizer_class is keras.optimizers.Optimizer:
            raise RecipeError(f"{key}: unknown optimizer {self.name!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise RecipeError(f"{key}.learning_rate must be a finite number > 0, got {self.learning_rate}")
        try:
            self.learning_rate_schedule(1)
        except ValueError as error:
            raise RecipeError(f"{key}.decay: {error}") from None
        parameters = inspect.signature(optimizer_class).parameters
        named = {n for n, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        unknown = sorted(set(self.options) - named)
        if unknown:  # Keras optimizers take **kwargs but reject unknown names when built
            raise RecipeError(f"{key}: cannot build optimizer {self.name!r}: unknown argument {unknown[0]!r}")


@dataclass(frozen=True)
class OptimizersSection:
    generator: OptimizerSection = field(default_factory=OptimizerSection)
    discriminator: OptimizerSection = field(default_factory=OptimizerSection)


@dataclass(frozen=True)
class TrainSection:
    steps: int
    batch_size: int = 64  # the global batch, split over replicas
    steps_per_epoch: int = 100  # an epoch here is a logging/checkpoint period
    seed: int = 0
    loss: str = "non_saturating"
    d_steps: int = 1
    gp_weight: float = 10.0
    updates: str = "alternating"  # or simultaneous (vanilla, dcgan, cgan)
    jit_compile: bool | str = "auto"  # true | false | auto (ganzoo/training/hardware.py)
    steps_per_execution: int = 1
    strategy: str = "auto"  # auto | default | mirrored | multi_worker | tpu
    mixed_precision: str = "float32"  # float32 | mixed_float16 (GPU) | mixed_bfloat16 (TPU, CPUs with bf16 units) | auto


# The values a recipe may name; ganzoo/training/ reads them from here.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


@dataclass(frozen=True)
class LoggingSection:
    log_every_steps: int = 50
    sample_grid: int = 64  # images in the TensorBoard sample grid


@dataclass(frozen=True)
class CheckpointSection:
    every_epochs: int = 1
    keep: int = 3


@dataclass(frozen=True)
class EvaluationSection:
    """Metrics during training (every_epochs = 0: off). Cheap settings: a few thousand samples."""

    every_epochs: int = 0
    metrics: str = "fid"  # comma-separated: fid, kid, is, pr, coverage
    num: int = 2000
    extractor: str = ""  # "" = classifier for MNIST-like data, else inception
    split: str = "test"
    keep_best: str = ""  # a result key such as "fid": the best checkpoint by it is kept in best/


@dataclass(frozen=True)
class Recipe:
    model: ModelSection
    data: DataSection
    train: TrainSection
    name: str = ""
    description: str = ""
    optimizer: OptimizersSection = field(default_factory=OptimizersSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    evaluation: EvaluationSection = field(default_factory=EvaluationSection)

    def replace(self, section: str, **changes: Any) -> "Recipe":
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **changes)})


# ---------------------------------------------------------------------- parsing
def _check_type(value: Any, kind: type, key: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = " or ".join(t.__name__ for t in typing.get_args(kind)) or kind.__name__
        raise RecipeError(f"recipe key '{key}' must be {expected}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe key '{prefix.rstrip('.')}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise RecipeError(f"unknown recipe key '{prefix}{unknown[0]}' (known in this table: {', '.join(fields)})")
    values = {}
    for name, spec in fields.items():
        key = prefix + name
        if name not in raw:
            if dataclasses.is_dataclass(hints[name]):
                values[name] = _build(hints[name], {}, key + ".")
            elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise RecipeError(f"recipe is missing the key '{key}'")
            continue
        if dataclasses.is_dataclass(hints[name]):
            values[name] = _build(hints[name], raw[name], key + ".")
        else:
            values[name] = _check_type(raw[name], hints[name], key)
    return cls(**values)


def parse_value(text: str) -> Any:
    """A `--set` value: a TOML literal (3, 2e-4, true, [1, 2], "x") or else a bare string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict, assignments: list[str]) -> dict:
    """Applies 'a.b.c=value' assignments to a raw recipe dict (a deep copy is returned)."""
    raw = json.loads(json.dumps(raw))
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key:
            raise RecipeError(f"an override must be key=value, got {assignment!r}")
        *parents, leaf = key.strip().split(".")
        table = raw
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise RecipeError(f"override {key}: '{part}' is not a table")
        table[leaf] = parse_value(text.strip())
    return raw


def validate(recipe: Recipe) -> Recipe:
    """Checks that go beyond types: names that must exist, numbers that must be positive. Where a
    value is also checked by the code that takes it (the model's compile), the same function
    checks it here."""
    from ganzoo import losses
    from ganzoo.models import get_model_class, preset_config
    from ganzoo.models.base import check_noise_seed

    check_model_and_preset(recipe.model, preset_config)
    check_values(recipe)
    check_evaluated_kind(recipe, get_model_class(recipe.model.name).task)
    train = recipe.train
    if train.loss not in losses.ADVERSARIAL_LOSSES:
        raise RecipeError(f"train.loss: unknown loss {train.loss!r}; known: {', '.join(losses.ADVERSARIAL_LOSSES)}")
    for key, check in (("train.updates", lambda: get_model_class(recipe.model.name).check_updates(train.updates)),
                       ("train.seed", lambda: check_noise_seed(train.seed))):
        try:
            check()
        except ValueError as error:
            raise RecipeError(f"{key}: {error}") from None
    for role in ("generator", "discriminator"):
        getattr(recipe.optimizer, role).check(f"optimizer.{role}")
    return recipe


def check_model_and_preset(model: ModelSection, preset_config: Callable[[str, str], dict]) -> None:
    try:
        preset_config(model.name, model.preset)
    except GanzooError as error:
        raise RecipeError(f"model.name/model.preset: {error}") from None


def check_values(recipe: Recipe) -> None:
    """validate's checks that need neither TensorFlow nor the models: the data source, numbers,
    choices and the evaluation section."""
    from ganzoo.data.sources import parse_source

    train = recipe.train
    try:
        kind, target = parse_source(recipe.data.source)
    except GanzooError as error:
        raise RecipeError(f"data.source: {error}") from None
    if kind in ("folder", "zip", "npz") and not Path(target).exists():
        raise RecipeError(f"data.source: {target} does not exist")
    if kind == "folder" and not Path(target).is_dir():
        raise RecipeError(f"data.source: {target} is a file, not a folder (a zip of images is zip:FILE)")
    if kind in ("zip", "npz") and not Path(target).is_file():
        raise RecipeError(f"data.source: {target} is a folder, not a {kind} file (a folder of images is folder:DIR)")
    for key in ("steps", "batch_size", "steps_per_epoch", "d_steps", "steps_per_execution"):
        if getattr(train, key) < 1:
            raise RecipeError(f"train.{key} must be at least 1")
    if not (math.isfinite(train.gp_weight) and train.gp_weight >= 0):
        raise RecipeError(f"train.gp_weight must be a finite number >= 0, got {train.gp_weight}")
    check_choice("train.strategy", train.strategy, STRATEGIES)
    if isinstance(train.jit_compile, str) and train.jit_compile != "auto":
        raise RecipeError(f"train.jit_compile must be true, false or \"auto\", got {train.jit_compile!r}")
    check_choice("train.mixed_precision", train.mixed_precision, PRECISIONS)
    if train.steps_per_epoch % train.steps_per_execution:
        raise RecipeError("train.steps_per_epoch must be a multiple of train.steps_per_execution")
    for key in ("log_every_steps", "sample_grid"):
        if getattr(recipe.logging, key) < 1:
            raise RecipeError(f"logging.{key} must be at least 1")
    if recipe.checkpoint.every_epochs < 1 or recipe.checkpoint.keep < 1:
        raise RecipeError("checkpoint.every_epochs and checkpoint.keep must be at least 1")
    validate_evaluation(recipe.evaluation)


def check_evaluated_kind(recipe: Recipe, task: str) -> None:
    """A periodic [evaluation] measures samples: models that transform images are measured on
    benchmarks instead (ganzoo evaluate-sr, ganzoo bench cyclegan, ganzoo zoo publish)."""
    from ganzoo import kinds

    if recipe.evaluation.every_epochs and task not in kinds.EVALUATE:
        raise RecipeError(f"evaluation.every_epochs: a {recipe.model.name} ({task} model) is not measured by the "
                          "statistics of samples; set it to 0 (ganzoo evaluate-sr measures a super-resolution run, "
                          "ganzoo zoo publish any run)")


def check_evaluated_metrics(evaluation: EvaluationSection, task: str) -> None:
    """A periodic [evaluation] measures only what the kind's features give (kinds.REFUSED_METRICS),
    and keeps the best checkpoint by one of its own results. Checked where a recipe is about to
    train, not by load_recipe: a run recorded before a metric was refused stays readable
    (evaluate, sample, publish); its resume asks for the edit."""
    from ganzoo import kinds
    from ganzoo.metrics.registry import parse_metrics, ranking_keys

    if not evaluation.every_epochs:
        return
    names = parse_metrics(evaluation.metrics)
    if refused := kinds.refused_metric(task, names):
        raise RecipeError(f"evaluation.metrics: {refused}")
    if evaluation.keep_best and evaluation.keep_best not in ranking_keys(names):  # else best/ would never be written
        raise RecipeError(f"evaluation.keep_best: {evaluation.keep_best!r} is not a result of evaluation.metrics "
                          f"{evaluation.metrics!r}; use one of {', '.join(ranking_keys(names))}")


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RecipeError(f"{key}: unknown value {value!r}; known: {', '.join(choices)}")
    return value


def validate_evaluation(section: EvaluationSection) -> None:
    from ganzoo.metrics.registry import parse_metrics, ranking_keys

    if section.every_epochs < 0 or section.num < 10:
        raise RecipeError("evaluation.every_epochs must be >= 0 and evaluation.num >= 10")
    try:
        parse_metrics(section.metrics)
    except GanzooError as error:
        raise RecipeError(f"evaluation.metrics: {error}") from None
    if section.keep_best and section.keep_best not in ranking_keys():
        raise RecipeError(f"evaluation.keep_best: {section.keep_best!r} is not a result key; "
                          f"use one of {', '.join(ranking_keys())}")


def recipe_from_dict(raw: dict, name: str = "") -> Recipe:
    """`name` (the file's stem, made safe) names the recipe unless the recipe names itself."""
    from ganzoo.files import check_name, safe_name

    recipe = _build(Recipe, raw, "")
    if not recipe.name:
        recipe = dataclasses.replace(recipe, name=safe_name(name, "recipe"))
    try:
        check_name("the recipe name", recipe.name)  # it names the run directories
    except GanzooError as error:
        raise RecipeError(f"name: {error}") from None
    return validate(recipe)


def read_recipe_file(path: str | Path) -> dict:
    """The TOML of a recipe file, unchecked (no TensorFlow needed)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"recipe {path} is not valid TOML: {error}") from None


def check_recipe_keys(path: str | Path, assignments: list[str] | None = None) -> None:
    """What load_recipe checks without TensorFlow: the file's keys and value types with the
    overrides applied, the values check_values checks, and the model and preset among the built-in
    zoo's (which is all the command line knows). The CLI answers a typo at once."""
    from ganzoo.registry import builtin_entry, builtin_preset_config

    recipe = _build(Recipe, apply_overrides(read_recipe_file(path), assignments or []), "")
    check_model_and_preset(recipe.model, builtin_preset_config)
    check_values(recipe)
    task = builtin_entry(recipe.model.name).task  # a known name: checked just above
    check_evaluated_kind(recipe, task)
    check_evaluated_metrics(recipe.evaluation, task)


def load_recipe(path: str | Path, assignments: list[str] | None = None) -> Recipe:
    return recipe_from_dict(apply_overrides(read_recipe_file(path), assignments or []), name=Path(path).stem)


# ------------------------------------------------------------------ resuming
# What a resumed run may change in its recipe.toml (everything else would make it another run).
ADJUSTABLE = ("train.steps", "optimizer.generator.learning_rate", "optimizer.discriminator.learning_rate",
              "description", "logging.*", "checkpoint.*", "evaluation.*")


def adjustable(key: str) -> bool:
    return any(key == a or (a.endswith(".*") and key.startswith(a[:-1])) for a in ADJUSTABLE)


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and key not in ("overrides", "options"):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def recipe_changes(before: Recipe, after: Recipe) -> dict[str, tuple[Any, Any]]:
    """{key: (before, after)} for every value that differs."""
    old, new = _flat(dataclasses.asdict(before)), _flat(dataclasses.asdict(after))
    return {key: (old.get(key), new.get(key)) for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


# ---------------------------------------------------------------------- writing
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else ("-inf" if value == -math.inf else repr(value)))
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_table(data: dict, prefix: str) -> list[str]:
    scalars = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict) or not v or k in ("overrides", "options")]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict) and v and k not in ("overrides", "options")]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for key, table in tables:
        lines += [""] + _toml_table(table, f"{prefix}.{key}" if prefix else key)
    return lines


def recipe_to_toml(recipe: Recipe) -> str:
    """The resolved recipe as TOML that `load_recipe` reads back to an equal Recipe."""
    return "\n".join(_toml_table(dataclasses.asdict(recipe), "")) + "\n"
