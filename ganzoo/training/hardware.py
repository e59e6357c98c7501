"""What `jit_compile = "auto"` means on the machine at hand.

On a CPU the fastest setting depends on whether TensorFlow runs its oneDNN kernels, which it turns
on by itself on CPUs with AVX512_VNNI / AVX512_BF16 / AMX (and TF_ENABLE_ONEDNN_OPTS=1 forces):
- oneDNN off (AVX2 CPUs): XLA's fused code is the fast path (DCGAN MNIST 1.5-1.8x the graph);
- oneDNN on: the graph's oneDNN convolutions beat XLA:CPU's (every recipe model 1.1-3x faster
  in the graph; benchmarks/RESULTS.md).
GPUs and TPUs keep XLA on.

And what `mixed_precision = "auto"` means: mixed_bfloat16 on a CPU with bfloat16 units
(AVX512_BF16 or AMX-BF16) where TensorFlow runs oneDNN — DCGAN MNIST steps 1.4x faster there and a
better FID after the same minutes (benchmarks/RESULTS.md, time to quality) — float32 elsewhere (CPUs
without those units emulate bfloat16 slowly; on a GPU a small GAN's step waits on the host, so its
precision changed nothing measurable).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class Hardware:
    accelerator: str  # "cpu", "gpu" or "tpu"
    onednn: bool  # TensorFlow runs its oneDNN CPU kernels
    cpu_bf16: bool = False  # the CPU has bfloat16 units (AVX512_BF16 or AMX-BF16)

    def describe(self) -> str:
        if self.accelerator != "cpu":
            return self.accelerator.upper()
        return f"CPU ({'oneDNN' if self.onednn else 'no oneDNN'})"


def onednn_enabled() -> bool:
    """TensorFlow's own decision (CPU features and TF_ENABLE_ONEDNN_OPTS), read back from it."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def cpu_has_bf16() -> bool:
    """Whether the CPU computes in bfloat16 natively (Linux reports its flags; elsewhere: no)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def detect_hardware(strategy: tf.distribute.Strategy | None = None) -> Hardware:
    if isinstance(strategy, tf.distribute.TPUStrategy):
        accelerator = "tpu"
    elif tf.config.list_logical_devices("GPU"):
        accelerator = "gpu"
    else:
        accelerator = "cpu"
    return Hardware(accelerator, onednn_enabled(), cpu_has_bf16())


def jit_compile_decision(setting: bool | str, hardware: Hardware, xla_slow_on_cpu: str = "") -> tuple[bool, str]:
    """Whether to train under XLA, and why in a few words (for run headers and model cards).
    true / false as written; "auto": XLA on GPUs and TPUs, and on CPUs that do not run oneDNN
    unless the model says why XLA does not pay on a CPU (`GAN.xla_slow_on_cpu`)."""
    if setting != "auto":
        return bool(setting), f"jit_compile = {str(bool(setting)).lower()}"
    where = hardware.describe()
    if hardware.accelerator != "cpu":
        return True, f"auto: XLA on a {where}"
    if hardware.onednn:
        return False, "auto: on a CPU running oneDNN the graph beats XLA"
    if xla_slow_on_cpu:
        return False, f"auto: {xla_slow_on_cpu}"
    return True, f"auto: XLA on this {where}"


def precision_decision(setting: str, hardware: Hardware) -> tuple[str, str]:
    """The dtype policy to train in, and why in a few words. A named policy as written; "auto":
    mixed_bfloat16 on a CPU with bfloat16 units running oneDNN, float32 elsewhere."""
    if setting != "auto":
        return setting, f"mixed_precision = {setting}"
    if hardware.accelerator == "cpu" and hardware.cpu_bf16 and hardware.onednn:
        return "mixed_bfloat16", "auto: bfloat16 units on this CPU (oneDNN)"
    return "float32", f"auto: float32 on a {hardware.describe()}" + (" without bfloat16 units" if hardware.accelerator == "cpu" else "")
