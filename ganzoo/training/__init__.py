"""Training recipes with model.fit: run directories, checkpoints, resume, TensorBoard."""

from ganzoo.training import schedules  # noqa: F401  (registers the schedules that saved optimizers name)
from ganzoo.training.trainer import build_model, load_trained_model, resume, style_panel, train

__all__ = ["build_model", "load_trained_model", "resume", "style_panel", "train"]
