"""What `jit_compile = "auto"` means on the machine at hand.

On a CPU the fastest setting depends on whether TensorFlow runs its oneDNN kernels, which it turns
on by itself on CPUs with AVX512_VNNI / AVX512_BF16 / AMX (and TF_ENABLE_ONEDNN_OPTS=1 forces):
- oneDNN off (AVX2 CPUs): XLA's fused code is the fast path (DCGAN MNIST 1.5-1.8x the graph);
- oneDNN on: the graph's oneDNN convolutions beat XLA:CPU's (every recipe model 1.1-3x faster
  in the graph; benchmarks/RESULTS.md).
GPUs and TPUs keep XLA on.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class Hardware:
    accelerator: str  # "cpu", "gpu" or "tpu"
    onednn: bool  # TensorFlow runs its oneDNN CPU kernels

    def describe(self) -> str:
        if self.accelerator != "cpu":
            return self.accelerator.upper()
        return f"CPU ({'oneDNN' if self.onednn else 'no oneDNN'})"


def onednn_enabled() -> bool:
    """TensorFlow's own decision (CPU features and TF_ENABLE_ONEDNN_OPTS), read back from it."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def detect_hardware(strategy: tf.distribute.Strategy | None = None) -> Hardware:
    if isinstance(strategy, tf.distribute.TPUStrategy):
        accelerator = "tpu"
    elif tf.config.list_logical_devices("GPU"):
        accelerator = "gpu"
    else:
        accelerator = "cpu"
    return Hardware(accelerator, onednn_enabled())


def jit_compile_decision(setting: bool | str, hardware: Hardware, xla_on_cpu: bool = True) -> tuple[bool, str]:
    """Whether to train under XLA, and why in a few words (for run headers and model cards).
    true / false as written; "auto": XLA on GPUs and TPUs, and on CPUs that do not run oneDNN
    unless the model says XLA does not pay on a CPU (`GAN.xla_on_cpu`)."""
    if setting != "auto":
        return bool(setting), f"jit_compile = {str(bool(setting)).lower()}"
    where = hardware.describe()
    if hardware.accelerator != "cpu":
        return True, f"auto: XLA on a {where}"
    if hardware.onednn:
        return False, "auto: on a CPU running oneDNN the graph beats XLA"
    if not xla_on_cpu:
        return False, "auto: XLA:CPU runs this model's conditional (lazy-regularizer) steps slowly"
    return True, f"auto: XLA on this {where}"
