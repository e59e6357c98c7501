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

from ganzoo.data import load_images, training_dataset
from ganzoo.errors import DataError, ModelNotFound, RecipeError, TrainingDiverged
from ganzoo.files import atomic_path, atomic_write_bytes
from ganzoo.images import write_images
from ganzoo.models.base import GAN
from ganzoo.recipes import Recipe, load_recipe, recipe_to_toml
from ganzoo.models import create_model, get_model_class
from ganzoo.training import runs
from ganzoo.training.callbacks import (
    CheckpointSaver,
    NanGuard,
    PeriodicEvaluation,
    StopAtStep,
    TrainingLogger,
    model_step,
)
from ganzoo.training.hardware import detect_hardware, jit_compile_decision
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


def execution_settings(recipe: Recipe, strategy: tf.distribute.Strategy) -> ExecutionSettings:
    jit_compile, why = jit_compile_decision(recipe.train.jit_compile, detect_hardware(strategy),
                                            get_model_class(recipe.model.name).xla_on_cpu)
    steps_per_execution = recipe.train.steps_per_execution
    replicas = strategy.num_replicas_in_sync
    if replicas > 1 and (jit_compile or steps_per_execution > 1):
        # Both fail inside a multi-replica step with Keras 3.15 (../shared/notes/keras-gan-facts.md).
        print(f"ganzoo: {replicas} replicas: training with jit_compile=False, steps_per_execution=1")
        jit_compile, steps_per_execution = False, 1
        why = f"{replicas} replicas: XLA fails inside a multi-replica step"
    return ExecutionSettings(jit_compile, steps_per_execution, why)


def build_model(recipe: Recipe, strategy: tf.distribute.Strategy | None = None,
                settings: ExecutionSettings | None = None) -> GAN:
    """The recipe's model, compiled, with everything created in the strategy's scope."""
    strategy = strategy or tf.distribute.get_strategy()
    settings = settings or execution_settings(recipe, strategy)
    with strategy.scope(), dtype_policy(recipe.train.mixed_precision):
        model = create_model(recipe.model.name, recipe.model.preset, **recipe.model.overrides)
        model.compile(
            g_optimizer=recipe.optimizer.generator.build("optimizer.generator", recipe.train.steps),
            d_optimizer=recipe.optimizer.discriminator.build("optimizer.discriminator", recipe.train.steps),
            loss=recipe.train.loss,
            d_steps=recipe.train.d_steps,
            gp_weight=recipe.train.gp_weight,
            updates=recipe.train.updates,
            noise_seed=recipe.train.seed,
            jit_compile=settings.jit_compile,
            steps_per_execution=settings.steps_per_execution,
        )
    return model


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


def checkpoint_manager(model: GAN, run_dir: Path, keep: int = 3) -> tf.train.CheckpointManager:
    checkpoint = tf.train.Checkpoint(**model.checkpoint_objects())
    return tf.train.CheckpointManager(checkpoint, str(run_dir / runs.CHECKPOINT_DIR), max_to_keep=keep)


def restore_latest(model: GAN, run_dir: Path) -> int:
    """Restores the newest complete checkpoint of a run; returns its step (0 when none)."""
    manager = checkpoint_manager(model, run_dir)
    if manager.latest_checkpoint:
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
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
            raise RecipeError("--max-steps must be at least 1")
        recipe = recipe.replace("train", steps=max_steps)
    multi_worker = is_multi_worker(recipe)
    if run_dir is None:
        if multi_worker:
            raise RecipeError("multi-worker training needs --run-dir DIR: the same directory, on a file system every worker sees")
        run_dir = runs.new_run_dir(out, recipe.name)
        atomic_write_bytes(run_dir / runs.RECIPE_FILE, recipe_to_toml(recipe).encode())
    else:
        run_dir = Path(run_dir)
        if not multi_worker or task_identity()[0]:
            open_run_dir(run_dir, recipe)
    return _run(recipe, run_dir, callbacks, verbose)


def open_run_dir(run_dir: Path, recipe: Recipe) -> None:
    """Creates `run_dir` for `recipe`, or accepts it when it already holds the same recipe."""
    text = recipe_to_toml(recipe)
    recipe_file = run_dir / runs.RECIPE_FILE
    if recipe_file.is_file():
        if recipe_file.read_text() != text:
            raise RecipeError(f"{run_dir} holds a run of another recipe (see its {runs.RECIPE_FILE}); choose a new --run-dir")
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RecipeError(f"{run_dir} exists and is not a ganzoo run directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(recipe_file, text.encode())


def is_multi_worker(recipe: Recipe) -> bool:
    return resolve_strategy_name(recipe.train.strategy) == "multi_worker" and tf_config_workers() > 1


def resume(run_dir: str | Path, callbacks: Iterable[keras.callbacks.Callback] = (), verbose: str | int = "auto") -> Path:
    """Continues a run from its last checkpoint to the step count its recipe planned."""
    run_dir = Path(run_dir)
    if not (run_dir / runs.RECIPE_FILE).is_file():
        raise ModelNotFound(f"{run_dir} is not a run directory (no {runs.RECIPE_FILE})")
    return _run(load_recipe(run_dir / runs.RECIPE_FILE), run_dir, callbacks, verbose)


def _run(recipe: Recipe, run_dir: Path, extra_callbacks: Iterable, verbose) -> Path:
    # Only the chief writes the run directory. Other workers take part in every checkpoint and
    # model save (their variables join collective reads) but write to a scratch directory that
    # is removed at the end; on restart, every worker restores the chief's latest checkpoint.
    is_chief, task = task_identity() if is_multi_worker(recipe) else (True, "chief-0")
    strategy = select_strategy(recipe.train.strategy)  # first: multi-worker collectives need it
    write_dir = run_dir if is_chief else worker_scratch_dir(run_dir, task)
    try:
        return _train_in_strategy(recipe, strategy, run_dir, write_dir, task, extra_callbacks, verbose)
    finally:
        if not is_chief:
            shutil.rmtree(write_dir, ignore_errors=True)


def training_data(recipe: Recipe, model: GAN, step: int) -> tuple[tf.data.Dataset, str]:
    """The stream of batches from `step` on, and what it is, for the model's kind of data."""
    if model.task == "super_resolution":
        from ganzoo.data.paired import sr_patch_bank, sr_training_dataset

        count = recipe.data.max_examples or 4096
        lr, hr, description = sr_patch_bank(recipe.data.source, model.hr_patch, model.scale, count, recipe.train.seed,
                                            recipe.data.data_dir or None, recipe.data.download)
        model.preview_lr = (lr[:16].astype("float32") / 127.5 - 1.0)
        dataset = sr_training_dataset(lr, hr, recipe.train.batch_size, recipe.train.seed, start_step=step)
        return dataset, description
    if model.task == "translate":
        from ganzoo.data.unpaired import load_unpaired, unpaired_dataset

        a, b = load_unpaired(recipe.data.source, model.image_shape, recipe.data.split, recipe.data.data_dir or None,
                             recipe.data.download, recipe.data.max_examples)
        # The fixed TensorBoard panel: the same first images of each domain every epoch.
        model.preview_a, model.preview_b = (x[:8].astype("float32") / 127.5 - 1.0 for x in (a, b))
        dataset = unpaired_dataset(a, b, recipe.train.batch_size, recipe.train.seed, start_step=step)
        return dataset, f"{recipe.data.source} ({recipe.data.split}: {len(a)} A and {len(b)} B images)"
    data = load_images(
        recipe.data.source,
        model.image_shape,
        split=recipe.data.split,
        data_dir=recipe.data.data_dir or None,
        download=recipe.data.download,
        max_examples=recipe.data.max_examples,
    )
    if model.num_classes and data.labels is None:
        raise DataError(f"{recipe.model.name} is conditional but {data.description} has no labels")
    if model.num_classes and data.num_classes > model.num_classes:
        raise DataError(f"{data.description} has {data.num_classes} classes; the model was built for {model.num_classes}")
    labels = data.labels if model.num_classes else None
    dataset = training_dataset(data.images, recipe.train.batch_size, recipe.train.seed, start_step=step, labels=labels)
    return dataset, data.description


def worker_scratch_dir(run_dir: Path, task: str) -> Path:
    """A fresh temporary directory named after (run, task), so that a restarted worker also
    removes what a killed one left behind."""
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:12]
    scratch = Path(tempfile.gettempdir()) / f"ganzoo-{digest}-{task}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    return scratch


def _train_in_strategy(recipe, strategy, run_dir: Path, write_dir: Path, task: str, extra_callbacks, verbose) -> Path:
    is_chief = write_dir == run_dir
    keras.utils.set_random_seed(recipe.train.seed)
    settings = execution_settings(recipe, strategy)
    model = build_model(recipe, strategy, settings)
    manager = checkpoint_manager(model, write_dir, recipe.checkpoint.keep if is_chief else 1)
    step = restore_latest(model, run_dir)
    if step == 0 and recipe.model.init_generator:
        # A new run that starts from another run's generator (SRGAN from its SRResNet pre-training).
        model.generator.set_weights(load_trained_model(recipe.model.init_generator).generator.get_weights())
    total = recipe.train.steps
    if step < total:
        dataset, description = training_data(recipe, model, step)
        options = tf.data.Options()
        # Each worker builds the same stream; DATA sharding splits every global batch between
        # them (the default, FILE, cannot shard an in-memory source and would duplicate batches).
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
        guard = NanGuard()
        header = {
            "recipe": recipe.name,
            "model": f"{recipe.model.name} ({recipe.model.preset})",
            "data": description,
            "strategy": f"{resolve_strategy_name(recipe.train.strategy)} ({type(strategy).__name__})",
            "replicas": strategy.num_replicas_in_sync,
            "global batch": recipe.train.batch_size,
            "per-replica batch": recipe.train.batch_size // strategy.num_replicas_in_sync,
            "mixed precision": recipe.train.mixed_precision,
            "xla": f"{bool(model.jit_compile)} ({settings.why})",
            "resumed at step": step,
            "host": f"{platform.node()} ({task})",
            "devices": describe_devices(),
        }
        callbacks = [guard, StopAtStep(total), CheckpointSaver(manager, recipe.checkpoint.every_epochs, guard)]
        if is_chief:
            callbacks.append(
                TrainingLogger(
                    run_dir / runs.LOG_DIR,
                    run_dir / runs.HISTORY_FILE,
                    recipe.logging.log_every_steps,
                    recipe.logging.sample_grid,
                    recipe.train.seed,
                    header,
                )
            )
            if recipe.evaluation.every_epochs:
                callbacks.append(periodic_evaluation(recipe, model, run_dir))
        callbacks.extend(extra_callbacks)
        steps_per_epoch = recipe.train.steps_per_epoch
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
            raise TrainingDiverged(
                f"training stopped at step {guard.bad_step}: non-finite loss ({values}); "
                f"the last good checkpoint is {manager.latest_checkpoint or 'none (no checkpoint was written)'}"
            )
    save_model(model, write_dir / runs.MODEL_FILE)
    if is_chief:
        write_images(run_dir / runs.SAMPLES_FILE, *model.preview(64, recipe.train.seed))
        write_model_card(run_dir)
    return run_dir


def periodic_evaluation(recipe: Recipe, model: GAN, run_dir: Path) -> PeriodicEvaluation:
    """The recipe's [evaluation] callback; its real features are computed (or read) now, so a
    missing extractor fails before training starts."""
    from ganzoo.metrics.evaluate import MetricSession, parse_metrics

    section = recipe.evaluation
    session = MetricSession(recipe.data.source, model.image_shape, section.num, section.extractor or None, section.split,
                            data_dir=recipe.data.data_dir or None, train_missing=True)
    best = None
    if section.keep_best:
        best = tf.train.CheckpointManager(tf.train.Checkpoint(**model.checkpoint_objects()), str(run_dir / "best"), max_to_keep=1)
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


def load_trained_model(path: str | Path) -> GAN:
    """A `.keras` file, or a run directory (its model.keras, else its latest checkpoint)."""
    path = Path(path)
    if path.is_dir():
        if (path / runs.MODEL_FILE).is_file():
            path = path / runs.MODEL_FILE
        elif (path / runs.RECIPE_FILE).is_file():
            model = build_model(load_recipe(path / runs.RECIPE_FILE))
            if restore_latest(model, path) == 0:
                raise ModelNotFound(f"run {path} has neither {runs.MODEL_FILE} nor a checkpoint yet")
            return model
        else:
            raise ModelNotFound(f"{path} is neither a run directory nor a .keras file")
    if not path.is_file() or path.suffix != ".keras":
        raise ModelNotFound(f"{path} is neither a run directory nor a .keras file")
    return keras.saving.load_model(path)


def style_panel(source: str | Path, out: str | Path, kind: str, **options) -> Path:
    """A style-mixing grid (kind "mix": rows, cols, crossover, truncation_psi) or a latent
    interpolation strip (kind "interpolate": seeds, steps, truncation_psi) of a style-based
    model, written as a PNG."""
    from ganzoo.errors import GanzooError

    if Path(out).suffix != ".png":
        raise GanzooError(f"--out must end in .png, got {Path(out).name}")
    model = load_trained_model(source)
    if model.serving != "style":
        raise GanzooError(f"{model.registry_name} is not a style-based model (stylegan_lite)")
    try:
        if kind == "mix":
            images, columns = model.style_mix(options["rows"], options["cols"], options["crossover"], options["truncation_psi"])
        else:
            images, columns = model.interpolation_strip(options["seeds"], options["steps"], options["truncation_psi"])
    except ValueError as error:
        raise GanzooError(str(error)) from None
    return write_images(out, images, columns)
