"""Training checkpoints that are checked both ways.

Written by tf.train.CheckpointManager (data files first, then its index, so a killed process
leaves the previous checkpoint as the latest), each with a manifest beside it (`ckpt-N.sha256`:
the sha256 of every file of the checkpoint) and, in the folder, the recipe the newest checkpoint
was trained with (`recipe.toml`: a resume compares the run's recipe with it). Read back newest
first: a checkpoint whose files are missing, differ from its manifest or do not restore is
skipped with a line saying so, and the newest intact one is used; nothing is deleted. A full disk
while writing is a one-line error naming the run and its last good checkpoint, which stays
restorable.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Callable

import tensorflow as tf

from ganzoo.errors import ModelNotFound, TrainingFailed
from ganzoo.files import atomic_write_bytes, file_sha256
from ganzoo.training.runs import checkpoint_step, checkpoints_newest_first

MANIFEST_SUFFIX = ".sha256"
APPLIED_RECIPE = "recipe.toml"


def manager(model, directory: Path, keep: int = 3) -> tf.train.CheckpointManager:
    return tf.train.CheckpointManager(tf.train.Checkpoint(**model.checkpoint_objects()), str(directory), max_to_keep=keep)


def files_of(prefix: str | Path) -> list[Path]:
    """The files of checkpoint `prefix` (ckpt-N.index, ckpt-N.data-*), manifest left out."""
    prefix = Path(prefix)
    return sorted(p for p in prefix.parent.glob(prefix.name + ".*") if p.suffix != MANIFEST_SUFFIX)


def out_of_space(error: BaseException) -> bool:
    return (isinstance(error, tf.errors.ResourceExhaustedError) or getattr(error, "errno", None) == errno.ENOSPC
            or "No space left on device" in str(error))


def save(checkpoint_manager: tf.train.CheckpointManager, step: int, recipe_text: str | None = None,
         run_dir: Path | None = None) -> str:
    """Writes checkpoint `step`, its manifest and (given) the recipe it was trained with."""
    directory = Path(checkpoint_manager.directory)
    last_good = checkpoint_manager.latest_checkpoint
    try:
        prefix = checkpoint_manager.save(checkpoint_number=step)
        manifest = {path.name: file_sha256(path) for path in files_of(prefix)}
        atomic_write_bytes(Path(prefix + MANIFEST_SUFFIX), json.dumps(manifest, indent=1).encode())
        for stale in directory.glob("ckpt-*" + MANIFEST_SUFFIX):  # of checkpoints the manager let go (max_to_keep)
            if not stale.with_suffix(".index").exists():
                stale.unlink(missing_ok=True)
        if recipe_text is not None:
            atomic_write_bytes(directory / APPLIED_RECIPE, recipe_text.encode())
        return prefix
    except Exception as error:
        if out_of_space(error):
            raise TrainingFailed(f"no space left on the device writing checkpoint {step} of {run_dir or directory}; the last "
                                 f"good checkpoint is {Path(last_good).name if last_good else 'none'}, which stays restorable") from None
        raise


def problem_with(prefix: Path) -> str | None:
    """Why checkpoint `prefix` cannot be trusted, or None: missing files, or a file whose sha256 is
    not its manifest's. (Checkpoints written before manifests existed are trusted as they are.)"""
    manifest_path = Path(str(prefix) + MANIFEST_SUFFIX)
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return f"{manifest_path.name} is unreadable"
    for name, digest in manifest.items():
        path = prefix.parent / name
        if not path.is_file():
            return f"{name} is missing"
        if file_sha256(path) != digest:
            return f"{name} is damaged (its sha256 differs from the one written with it)"
    return None


def restore_newest_intact(model, directory: Path, say: Callable[[str], None] = print) -> int:
    """Restores the newest intact checkpoint of `directory` into `model` and returns its step (0
    when the folder has none); damaged ones are skipped with a line through `say`."""
    checkpoint = tf.train.Checkpoint(**model.checkpoint_objects())
    skipped = []
    for prefix in checkpoints_newest_first(directory):
        problem = problem_with(prefix)
        if problem is None:
            try:
                checkpoint.restore(str(prefix)).assert_existing_objects_matched()
            except Exception as error:  # noqa: BLE001 - truncated files fail in many TensorFlow ways
                text = str(error).strip()
                problem = f"it does not restore ({text.splitlines()[0][:120] if text else type(error).__name__})"
        if problem is None:
            if skipped:
                say(f"ganzoo: {'; '.join(skipped)}; restored {prefix.name}, the newest intact checkpoint, instead")
            return checkpoint_step(prefix)
        skipped.append(f"checkpoint {prefix.name} is unusable: {problem}")
    if skipped:
        raise ModelNotFound(f"no intact checkpoint in {directory}: {'; '.join(skipped)}")
    return 0
