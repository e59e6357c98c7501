"""Where a training step's time goes: `ganzoo bench train --profile DIR` traces a few steps of
each contender with TensorFlow's profiler (the trace opens in TensorBoard's profile tab) and
reads the trace back into a short table, so that a session with a borrowed GPU learns in one
command whether a step waits on the host or on the device, and which ops cost what.

Host ops come from the executor threads' `name:OpType` events (host tracer level 3); calls of
functions (the compiled step itself, `PartitionedCall`, `While`, ...) are left out because the
ops inside them are counted, and so is the data iterator's one-off setup. What runs inside an
XLA cluster is not broken down on a CPU; its programs' run time is one figure. GPU kernels come
from the device planes' stream lines; "device busy" is the union of their intervals, so kernels
overlapping on several streams count once.
"""

from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

# Op types that only call other ops, whose own events span their bodies.
CALL_OP_TYPES = {"PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf",
                 "Case", "StatelessCase", "RemoteCall", "MultiDeviceIteratorGetNextFromShard"}
# What `fit` runs once to start its data iterator, not per step.
SETUP_OP_TYPES = {"MakeIterator", "AnonymousIteratorV3", "DatasetCardinality", "DeleteIterator"}
FUNCTION_PREFIXES = ("__inference_", "__forward_", "__backward_")
# Lines the profiler derives from the stream lines of a device plane (they repeat its kernels).
DERIVED_DEVICE_LINES = {"XLA Modules", "XLA Ops", "TensorFlow Ops", "TensorFlow Name Scope", "Source code",
                        "Steps", "Launch Stats", "XLA TraceMe"}
HOST_OP_EVENT = re.compile(r"[^:]+:[^:]+")  # "scope/name:OpType"; "ExecutorState::Process" is not one
XLA_PROGRAM_EVENT = "Executable::ExecuteAsyncOnStream"  # Cpu/GpuExecutable: one compiled XLA cluster's run


@dataclass
class StepProfile:
    steps: int
    wall_s: float  # the traced steps, profiler overhead included
    host_ops: dict[str, float] = field(default_factory=dict)  # op type -> seconds over all steps
    device_kernels: dict[str, float] = field(default_factory=dict)  # kernel name -> seconds
    device_busy_s: float = 0.0
    xla_programs_s: float = 0.0  # inside XLA clusters, whose ops the host op table cannot see

    def ms_per_step(self, seconds: float) -> float:
        return 1000 * seconds / self.steps


def op_type_of(event_name: str) -> str | None:
    """The op type of a host event, or None for events that are not ops or only call functions."""
    if not HOST_OP_EVENT.fullmatch(event_name):
        return None
    op_type = event_name.split(":", 1)[1].strip()
    if op_type in CALL_OP_TYPES or op_type in SETUP_OP_TYPES or op_type.startswith(FUNCTION_PREFIXES):
        return None
    return op_type


def union_length_ps(intervals: list[tuple[int, int]]) -> int:
    total, end = 0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def summarize_xspace(xspace, steps: int, wall_s: float) -> StepProfile:
    profile = StepProfile(steps, wall_s)
    host_ops, kernels = collections.Counter(), collections.Counter()
    busy_ps = xla_ps = 0
    for plane in xspace.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        if plane.name.startswith("/host:"):
            for line in plane.lines:
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    op_type = op_type_of(name)
                    if op_type:
                        host_ops[op_type] += event.duration_ps
                    elif name.endswith(XLA_PROGRAM_EVENT):
                        xla_ps += event.duration_ps
        elif plane.name.startswith("/device:"):
            intervals = []
            for line in plane.lines:
                if line.name in DERIVED_DEVICE_LINES:
                    continue
                for event in line.events:
                    kernels[names.get(event.metadata_id, "?")] += event.duration_ps
                    start = line.timestamp_ns * 1000 + event.offset_ps
                    intervals.append((start, start + event.duration_ps))
            busy_ps += union_length_ps(intervals)
    profile.host_ops = {k: v / 1e12 for k, v in host_ops.most_common()}
    profile.device_kernels = {k: v / 1e12 for k, v in kernels.most_common()}
    profile.device_busy_s = busy_ps / 1e12
    profile.xla_programs_s = xla_ps / 1e12
    return profile


def newest_xspace(logdir: Path):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = sorted(Path(logdir).rglob("*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise RuntimeError(f"the profiler wrote no trace under {logdir}")
    xspace = xplane_pb2.XSpace()
    xspace.ParseFromString(files[-1].read_bytes())
    return xspace


def profile_steps(run_steps, steps: int, logdir: Path) -> StepProfile:
    """Trace `run_steps(steps)` into logdir and summarize the trace."""
    logdir.mkdir(parents=True, exist_ok=True)
    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=3, python_tracer_level=0, device_tracer_level=1)
    tf.profiler.experimental.start(str(logdir), options=options)
    try:
        start = time.perf_counter()
        run_steps(steps)
        wall_s = time.perf_counter() - start
    finally:
        tf.profiler.experimental.stop()
    return summarize_xspace(newest_xspace(logdir), steps, wall_s)


def format_profile(name: str, profile: StepProfile, top: int = 8) -> str:
    host_total = sum(profile.host_ops.values())
    lines = [f"{name}: {profile.steps} traced steps, wall {profile.ms_per_step(profile.wall_s):.2f} ms/step "
             f"(under the profiler), host op time {profile.ms_per_step(host_total):.2f} ms/step"
             + (f", XLA programs {profile.ms_per_step(profile.xla_programs_s):.2f} ms/step" if profile.xla_programs_s else "")
             + (f", device busy {profile.ms_per_step(profile.device_busy_s):.2f} ms/step" if profile.device_kernels else "")]
    for title, table, total in (("host op type", profile.host_ops, host_total),
                                ("device kernel", profile.device_kernels, sum(profile.device_kernels.values()))):
        if not table:
            continue
        lines.append(f"  {title:48s} {'ms/step':>8s} {'share':>6s}")
        for key, seconds in list(table.items())[:top]:
            label = key if len(key) <= 48 else key[:45] + "..."
            lines.append(f"  {label:48s} {profile.ms_per_step(seconds):8.2f} {seconds / total:6.1%}")
    return "\n".join(lines)
