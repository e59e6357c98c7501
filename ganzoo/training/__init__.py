"""Training recipes with model.fit: run directories, checkpoints, resume, TensorBoard."""

from ganzoo.training.trainer import build_model, load_trained_model, resume, train

__all__ = ["build_model", "load_trained_model", "resume", "train"]
