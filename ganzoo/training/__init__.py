"""Training recipes with model.fit: run directories, checkpoints, resume, TensorBoard.

The trainer imports TensorFlow (seconds) on first use of these names; `ganzoo.training.runs`
alone does not, so the command line checks a run directory before TensorFlow loads."""

from __future__ import annotations

from ganzoo.lazy import lazy_getattr

_PUBLIC = {name: "ganzoo.training.trainer" for name in ("build_model", "load_trained_model", "resume", "train")}
__all__ = list(_PUBLIC)
__getattr__ = lazy_getattr(__name__, _PUBLIC)
