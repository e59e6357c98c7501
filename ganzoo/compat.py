"""The Keras release whose behaviour ganzoo's workarounds were verified against.

Three workarounds name it in a comment ("Keras 3.15"): under MultiWorkerMirroredStrategy `fit`'s
symbolic build reduces per-replica data and fails, and MEAN-reducing scalar logs fails
(`GAN._maybe_symbolic_build`, `GAN.training_logs`); under several replicas `jit_compile` and
`steps_per_execution > 1` fail (`training.trainer.execution_settings`). setup.py installs this
release, and tests/test_architecture.py fails when the installed Keras or a comment names another,
so an upgrade re-verifies them instead of carrying them on blind.
"""

from __future__ import annotations

KERAS_CHECKED = "3.15"


def installed_keras() -> str:
    """major.minor of the installed Keras (read from its metadata: no import)."""
    from importlib.metadata import version

    return ".".join(version("keras").split(".")[:2])
