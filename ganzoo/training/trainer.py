"""Training a recipe with `model.fit`: run directory, checkpoints, resume, TensorBoard.

    run_dir = train(load_recipe("recipes/dcgan_mnist.toml"))
    resume(run_dir)            # after a crash: continues from the last checkpoint
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import keras
import tensorflow as tf

from ganzoo.errors import ModelNotFound, RecipeError, TrainingDiverged, TrainingFailed
from ganzoo.files import atomic_path, atomic_write_bytes
from ganzoo.images import write_images
from ganzoo.models import create_model, get_model_class
from ganzoo.models.base import GAN
from ganzoo.recipes import (
    ADJUSTABLE,
    OptimizerSection,
    Recipe,
    adjustable,
    check_evaluated_metrics,
    load_recipe,
    recipe_changes,
    recipe_to_toml,
)
from ganzoo.tasks import task_of
from ganzoo.training import checkpoints, runs
from ganzoo.training.callbacks import (
    CheckpointSaver,
    NanGuard,
    PeriodicEvaluation,
    StopAtStep,
    TrainingLogger,
    model_step,
)
from ganzoo.training.hardware import (
    detect_hardware,
    jit_compile_decision,
    precision_decision,
)
from ganzoo.training.model_card import write_model_card
from ganzoo.training.strategy import (
    resolve_strategy_name,
    select_strategy,
    task_identity,
    tf_config_workers,
)


@dataclass(frozen=True)
class ExecutionSettings:
    jit_compile: bool
    steps_per_execution: int
    why: str  # how jit_compile was decided, for the run header
    mixed_precision: str = "float32"  # the dtype policy ("auto" resolved)
    precision_why: str = ""


def execution_settings(recipe: Recipe, strategy: tf.distribute.Strategy) -> ExecutionSettings:
    hardware = detect_hardware(strategy)
    jit_compile, why = jit_compile_decision(recipe.train.jit_compile, hardware, get_model_class(recipe.model.name).xla_slow_on_cpu)
    precision, precision_why = precision_decision(recipe.train.mixed_precision, hardware)
    steps_per_execution = recipe.train.steps_per_execution
    replicas = strategy.num_replicas_in_sync
    if replicas > 1 and (jit_compile or steps_per_execution > 1):
        # Both fail inside a multi-replica step with Keras 3.15 ("You must feed a value for
        # placeholder tensor", "resource on another device"): compat.KERAS_CHECKED.
        print(f"ganzoo: {replicas} replicas: training with jit_compile=False, steps_per_execution=1")
        jit_compile, steps_per_execution = False, 1
        why = f"{replicas} replicas: XLA fails inside a multi-replica step"
    return ExecutionSettings(jit_compile, steps_per_execution, why, precision, precision_why)


def build_model(recipe: Recipe, strategy: tf.distribute.Strategy | None = None,
                settings: ExecutionSettings | None = None) -> GAN:
    """The recipe's model, compiled, with everything created in the strategy's scope."""
    strategy = strategy or tf.distribute.get_strategy()
    settings = settings or execution_settings(recipe, strategy)
    with strategy.scope(), dtype_policy(settings.mixed_precision):
        try:
            model = create_model(recipe.model.name, recipe.model.preset, **recipe.model.overrides)
        except (ValueError, TypeError) as error:  # a value its constructor (or a Keras layer) refuses
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise RecipeError(f"model.overrides: {recipe.model.name} cannot be built with {recipe.model.overrides}: {first}") from None
        model.compile(
            g_optimizer=build_optimizer(recipe.optimizer.generator, "optimizer.generator", recipe.train.steps),
            d_optimizer=build_optimizer(recipe.optimizer.discriminator, "optimizer.discriminator", recipe.train.steps),
            loss=recipe.train.loss,
            d_steps=recipe.train.d_steps,
            gp_weight=recipe.train.gp_weight,
            updates=recipe.train.updates,
            noise_seed=recipe.train.seed,
            jit_compile=settings.jit_compile,
            steps_per_execution=settings.steps_per_execution,
        )
    return model


def build_optimizer(section: OptimizerSection, key: str, total_steps: int) -> keras.optimizers.Optimizer:
    """A recipe's optimizer section as a Keras optimizer (its learning rate over `total_steps`)."""
    try:
        config = {"learning_rate": section.learning_rate_schedule(total_steps), **section.options}
        return keras.optimizers.get({"class_name": section.name, "config": config})
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{key}: cannot build optimizer {section.name!r}: {error}") from None


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers created inside compute in `name` (e.g. mixed_float16: float16 math, float32
    variables); the global policy is restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def restore_latest(model: GAN, run_dir: Path) -> int:
    """Restores the newest intact checkpoint of a run (damaged ones are skipped with a line);
    returns its step (0 when none)."""
    checkpoints.restore_newest_intact(model, run_dir / runs.CHECKPOINT_DIR)
    return model_step(model)


def train(
    recipe: Recipe,
    out: str | Path = "runs",
    max_steps: int | None = None,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    verbose: str | int = "auto",
    run_dir: str | Path | None = None,
) -> Path:
    """Trains a recipe in a new run directory under `out`; returns the run directory.

    With `run_dir`, trains in that directory instead, and continues it when it already holds a
    run of the same recipe: restarting the same command resumes (how a restarted multi-worker
    job, or a preempted machine, picks up its work)."""
    if max_steps is not None:
        if max_steps < 1:
            raise RecipeError(f"max_steps must be at least 1, got {max_steps}")
        recipe = recipe.replace("train", steps=max_steps)
    strategy_name = resolve_strategy_name(recipe.train.strategy)
    multi_worker = is_multi_worker(strategy_name)
    if run_dir is None:
        if multi_worker:
            raise RecipeError("multi-worker training needs a run directory given by name: the same one, on a file system "
                              "every worker sees")
        run_dir = runs.new_run_dir(out, recipe.name)
        atomic_write_bytes(run_dir / runs.RECIPE_FILE, recipe_to_toml(recipe).encode())
        try:
            return _run(recipe, strategy_name, run_dir, callbacks, verbose)
        except BaseException:
            runs.remove_if_empty(run_dir)  # failed before its first checkpoint: nothing to resume
            raise
    else:
        run_dir = Path(run_dir)
        if not multi_worker or task_identity()[0]:
            open_run_dir(run_dir, recipe)
    return _run(recipe, strategy_name, run_dir, callbacks, verbose)


def open_run_dir(run_dir: Path, recipe: Recipe) -> None:
    """Creates `run_dir` for `recipe`, or accepts it when it already holds the same recipe."""
    text = recipe_to_toml(recipe)
    recipe_file = run_dir / runs.RECIPE_FILE
    if recipe_file.is_file():
        if recipe_file.read_text() != text:
            raise RecipeError(f"{run_dir} holds a run of another recipe (see its {runs.RECIPE_FILE}); choose another run directory")
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RecipeError(f"{run_dir} exists and is not a ganzoo run directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(recipe_file, text.encode())


def is_multi_worker(strategy_name: str) -> bool:
    """Whether a resolved strategy name means several worker processes."""
    return strategy_name == "multi_worker" and tf_config_workers() > 1


def resume(run_dir: str | Path, callbacks: Iterable[keras.callbacks.Callback] = (), verbose: str | int = "auto") -> Path:
    """Continues a run from its last checkpoint to the step count its recipe planned."""
    run_dir = runs.check_run_dir(run_dir)
    recipe = load_recipe(run_dir / runs.RECIPE_FILE)
    return _run(recipe, resolve_strategy_name(recipe.train.strategy), run_dir, callbacks, verbose)


def _run(recipe: Recipe, strategy_name: str, run_dir: Path, extra_callbacks: Iterable, verbose) -> Path:
    # Only the chief writes the run directory. Other workers take part in every checkpoint and
    # model save (their variables join collective reads) but write to a scratch directory that
    # is removed at the end; on restart, every worker restores the chief's latest checkpoint.
    is_chief, worker = task_identity() if is_multi_worker(strategy_name) else (True, "chief-0")
    strategy = select_strategy(strategy_name)  # first: multi-worker collectives need it
    write_dir = run_dir if is_chief else worker_scratch_dir(run_dir, worker)
    try:
        with runs.locked(run_dir) if is_chief else contextlib.nullcontext():
            return _train_in_strategy(recipe, strategy_name, strategy, run_dir, write_dir, worker, extra_callbacks, verbose)
    except Exception as error:
        if not checkpoints.out_of_space(error) or isinstance(error, TrainingFailed):
            raise
        saved = runs.checkpoints_newest_first(write_dir / runs.CHECKPOINT_DIR)
        raise TrainingFailed(f"no space left on the device writing to {write_dir}; the last good checkpoint is "
                             f"{saved[0].name if saved else 'none'}, which stays restorable") from None
    finally:
        if not is_chief:
            shutil.rmtree(write_dir, ignore_errors=True)


def worker_scratch_dir(run_dir: Path, task: str) -> Path:
    """A fresh temporary directory named after (run, task), so that a restarted worker also
    removes what a killed one left behind."""
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:12]
    scratch = Path(tempfile.gettempdir()) / f"ganzoo-{digest}-{task}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    return scratch


def _train_in_strategy(recipe, strategy_name: str, strategy, run_dir: Path, write_dir: Path, worker: str, extra_callbacks,
                       verbose) -> Path:
    is_chief = write_dir == run_dir
    keras.utils.set_random_seed(recipe.train.seed)
    settings = execution_settings(recipe, strategy)
    model = build_model(recipe, strategy, settings)
    manager = checkpoints.manager(model, write_dir / runs.CHECKPOINT_DIR, recipe.checkpoint.keep if is_chief else 1)
    step = restore_latest(model, run_dir)
    changes = apply_recipe_changes(recipe, model, run_dir) if step else {}
    if step == 0 and recipe.model.init_generator:
        # A new run that starts from another run's generator (SRGAN from its SRResNet pre-training).
        model.generator.set_weights(load_trained_model(recipe.model.init_generator).generator.get_weights())
    task, total, preview = task_of(model), recipe.train.steps, None
    panels = lambda count: task.panels(model, preview, count, recipe.train.seed)  # noqa: E731
    if step < total:
        data = task.training_data(recipe, model, step)
        preview = data.preview
        options = tf.data.Options()
        # Each worker builds the same stream; DATA sharding splits every global batch between
        # them (the default, FILE, cannot shard an in-memory source and would duplicate batches).
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = data.dataset.with_options(options)
        guard = NanGuard()
        header = {
            "recipe": recipe.name,
            "model": f"{recipe.model.name} ({recipe.model.preset})",
            "data": data.description,
            "strategy": f"{strategy_name} ({type(strategy).__name__})",
            "replicas": strategy.num_replicas_in_sync,
            "global batch": recipe.train.batch_size,
            "per-replica batch": recipe.train.batch_size // strategy.num_replicas_in_sync,
            "mixed precision": f"{settings.mixed_precision} ({settings.precision_why})",
            "xla": f"{bool(model.jit_compile)} ({settings.why})",
            "resumed at step": step,
            "host": f"{platform.node()} ({worker})",
            "devices": describe_devices(),
        }
        if changes:
            header["recipe changes applied"] = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changes.items())
        callbacks = [guard, StopAtStep(total), CheckpointSaver(manager, recipe.checkpoint.every_epochs, guard, step,
                                                               recipe_to_toml(recipe), run_dir)]
        if is_chief:
            callbacks.append(
                TrainingLogger(
                    run_dir / runs.LOG_DIR,
                    run_dir / runs.HISTORY_FILE,
                    recipe.logging.log_every_steps,
                    lambda: panels(recipe.logging.sample_grid),
                    header,
                )
            )
            if recipe.evaluation.every_epochs:
                callbacks.append(periodic_evaluation(recipe, model, run_dir))
        callbacks.extend(extra_callbacks)
        # A run shorter than one epoch (--max-steps 30) is one epoch of its length: Keras' progress
        # bar ends on its epoch length, and would print 200/200 after 30 steps.
        steps_per_epoch = min(recipe.train.steps_per_epoch, total)
        model.fit(
            dataset,
            epochs=math.ceil(total / steps_per_epoch),
            initial_epoch=step // steps_per_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the stream is already a seeded permutation; Keras would warn that it ignores True
        )
        if guard.bad_step is not None:
            values = ", ".join(f"{k}={v:.4g}" for k, v in guard.bad_logs.items())
            saved = runs.checkpoints_newest_first(write_dir / runs.CHECKPOINT_DIR)
            raise TrainingDiverged(f"training stopped at step {guard.bad_step}: non-finite loss ({values}); the last good "
                                   f"checkpoint is {saved[0] if saved else 'none (no checkpoint was written)'}")
    save_model(model, write_dir / runs.MODEL_FILE)
    if is_chief:
        write_images(run_dir / runs.SAMPLES_FILE, *panels(64)["samples"])
        write_model_card(run_dir)
    return run_dir


def apply_recipe_changes(recipe: Recipe, model: GAN, run_dir: Path) -> dict:
    """What the run's recipe changed since its newest checkpoint was written: the steps, learning
    rates and the logging, checkpoint and evaluation tables are applied (a learning rate the
    checkpoint restored is replaced by the recipe's); any other change is refused with the key."""
    applied = run_dir / runs.CHECKPOINT_DIR / checkpoints.APPLIED_RECIPE
    if not applied.is_file():
        return {}
    changes = recipe_changes(load_recipe(applied), recipe)
    refused = [key for key in changes if not adjustable(key)]
    if refused:
        key = refused[0]
        raise RecipeError(f"{key} changed in {run_dir / runs.RECIPE_FILE} since the run's last checkpoint "
                          f"({changes[key][0]!r} -> {changes[key][1]!r}); a resume can change {', '.join(ADJUSTABLE)}: "
                          "train another run for the rest")
    for role, optimizer in (("generator", model.g_optimizer), ("discriminator", model.d_optimizer)):
        section = getattr(recipe.optimizer, role)
        if f"optimizer.{role}.learning_rate" in changes and section.decay == "constant":
            optimizer.learning_rate.assign(section.learning_rate)  # else the checkpoint's value stays
    return changes


def periodic_evaluation(recipe: Recipe, model: GAN, run_dir: Path) -> PeriodicEvaluation:
    """The recipe's [evaluation] callback; its real features are computed (or read) now, so a
    missing extractor fails before training starts."""
    from ganzoo.metrics.registry import parse_metrics

    section = recipe.evaluation
    check_evaluated_metrics(section, task_of(model).name)
    session = task_of(model).metric_session(model, recipe.data.source, section.num, section.extractor or None, section.split,
                                            data_dir=recipe.data.data_dir or None, train_missing=True)
    best = None
    if section.keep_best:
        best = checkpoints.manager(model, run_dir / runs.BEST_DIR, keep=1)
    return PeriodicEvaluation(session, parse_metrics(section.metrics), section.every_epochs, run_dir, run_dir / runs.LOG_DIR,
                              section.keep_best, best, recipe.train.seed)


def describe_devices() -> str:
    """e.g. '1 x GPU (NVIDIA H100 80GB HBM3)' or '2-core CPU (x86_64)'."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = {tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus}
        return f"{len(gpus)} x GPU ({', '.join(sorted(names))})"
    return f"{os.cpu_count()}-core CPU ({platform.machine()})"


def save_model(model: GAN, path: Path) -> None:
    """`model.save` to a temporary name, then rename: never a half-written model file."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_keras_file(path: Path) -> GAN:
    """A ganzoo model saved as `.keras`; a file that is not one is a one-line error."""
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - zip, h5, JSON and Keras errors come in many types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelNotFound(f"{path} is not a readable .keras file ({first[:200]})") from None
    if not isinstance(model, GAN):
        raise ModelNotFound(f"{path} holds a Keras {type(model).__name__}, not a ganzoo model")
    return model


def load_trained_model(path: str | Path) -> GAN:
    """Where every command finds its model: `zoo:NAME` (a zoo entry), a `.keras` file, a run
    directory (its model.keras, else its latest checkpoint) or a run's best/ (the checkpoint its
    evaluation kept, in the run's recipe's model)."""
    from ganzoo import zoo

    if str(path).startswith(zoo.PREFIX):
        return zoo.from_pretrained(str(path))
    path = runs.check_model_location(path)
    from_best = runs.best_of_run(path) is not None
    if path.is_dir() and not from_best and (path / runs.MODEL_FILE).is_file():
        path = path / runs.MODEL_FILE
    if path.is_dir():  # a run without model.keras, or its best/: the recipe's model, restored
        model = build_model(load_recipe(runs.run_of(path) / runs.RECIPE_FILE))
        if checkpoints.restore_newest_intact(model, path if from_best else path / runs.CHECKPOINT_DIR) == 0:
            raise ModelNotFound(f"{path} holds no checkpoint yet" if from_best else
                                f"run {path} has neither {runs.MODEL_FILE} nor a checkpoint yet")
        return model
    return load_keras_file(path)
