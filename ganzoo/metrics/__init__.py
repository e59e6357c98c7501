"""Evaluation helpers (a small classifier for MNIST-like data so far)."""
