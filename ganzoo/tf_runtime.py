"""Loading TensorFlow without its start-up chatter, for the command line.

While TensorFlow's libraries load, absl prints "All log messages before absl::InitializeLog() is
called are written to STDERR" and, on CPUs where TensorFlow turns oneDNN on by itself, a oneDNN
notice — twice (two libraries), whatever TF_CPP_MIN_LOG_LEVEL says (measured with TensorFlow
2.21). Nothing in them is for a ganzoo user to act on, so the command line loads TensorFlow with
the process's stderr pointed at /dev/null and TF_CPP_MIN_LOG_LEVEL = 2 for what follows; a user
who sets TF_CPP_MIN_LOG_LEVEL, or passes --verbose, sees everything TensorFlow prints.
"""

from __future__ import annotations

import contextlib
import os
import sys

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_native_stderr():
    """Hides what TensorFlow's native code prints to stderr (the TFLite calibrator's
    "fully_quantize: 0, ..." line, E-level notes it then ignores) while the log level hides
    warnings, as the command line sets it; with a lower level (--verbose) everything shows."""
    return _stderr_to_devnull() if os.environ.get(LOG_LEVEL, "0") >= "2" else contextlib.nullcontext()


def load_tensorflow(verbose: bool = False) -> None:
    """Imports TensorFlow (and Keras) once; quietly unless `verbose` or the user set the log level."""
    if "tensorflow" in sys.modules:
        return
    if verbose:
        os.environ.setdefault(LOG_LEVEL, "0")
        quiet = False
    else:
        quiet = LOG_LEVEL not in os.environ
        os.environ.setdefault(LOG_LEVEL, "2")
    with _stderr_to_devnull() if quiet else contextlib.nullcontext():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
