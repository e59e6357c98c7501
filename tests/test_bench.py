"""`ganzoo bench train` and `ganzoo bench serve` run on tiny presets and print their tables with
measured (positive, finite) figures. No timing is asserted: speed goals live in benchmarks/."""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.export.saved_model import export_saved_model
from ganzoo.export.tflite import TFLITE_MODES


def table_rows(output: str, header_start: str) -> list[list[str]]:
    lines = output.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    return [line.split() for line in lines[start + 1 :] if line and not line.startswith("peak memory")]


def test_bench_train_compares_dcgan_with_the_keras_io_reference():
    result = CliRunner().invoke(main, ["bench", "train", "dcgan", "--preset", "tiny", "--batch", "8", "--steps", "6", "--warmup", "2"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "contender")
    assert [r[0] for r in rows] == ["keras-io", "ganzoo"]
    reference_rate, ganzoo_rate = float(rows[0][2]), float(rows[1][1])
    assert reference_rate > 0 and ganzoo_rate > 0
    assert rows[0][3] == "1.00x" and math.isclose(float(rows[1][2].rstrip("x")), ganzoo_rate / reference_rate, rel_tol=0.02)
    assert "peak memory of the process" in result.output
    assert "updates=alternating" in result.output  # the default order is stated


def test_bench_train_times_gan3d_against_a_plain_keras_loop_of_the_same_networks():
    result = CliRunner().invoke(main, ["bench", "train", "gan3d", "--batch", "8", "--steps", "4", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "contender")
    assert [r[0] for r in rows] == ["plain", "ganzoo"] and float(rows[0][3]) > 0 and float(rows[1][1]) > 0
    assert "procedural shapes at 8^3" in result.output  # tiny by default; volumes, not images


def test_bench_train_other_models_and_bad_names():
    result = CliRunner().invoke(main, ["bench", "train", "cgan", "--batch", "8", "--steps", "4", "--warmup", "1", "--preset", "tiny"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "contender")
    assert [r[0] for r in rows] == ["ganzoo"] and float(rows[0][1]) > 0
    # Any steps_per_execution (the GPU suite's 16 once failed: the recipe's 100 steps per epoch
    # must be a multiple of it).
    result = CliRunner().invoke(main, ["bench", "train", "vanilla", "--batch", "8", "--steps", "16", "--warmup", "16",
                                       "--preset", "tiny", "--steps-per-execution", "16"])
    assert result.exit_code == 0 and "steps_per_execution=16" in result.output, result.output
    result = CliRunner().invoke(main, ["bench", "train", "dcgann"])
    assert result.exit_code == 1 and "unknown model 'dcgann'" in result.output
    result = CliRunner().invoke(main, ["bench", "train", "cyclegan", "--updates", "simultaneous"])
    assert result.exit_code == 1 and "train.updates: CycleGAN supports updates=alternating, got 'simultaneous'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # A model argument for ganzoo's contender (the GPU suite's StyleGAN-lite without tf.cond under XLA).
    result = CliRunner().invoke(main, ["bench", "train", "stylegan_lite", "--batch", "8", "--steps", "4", "--warmup", "1",
                                       "--jit-compile", "--set", "model.overrides.r1_schedule=sub_batch"])
    assert result.exit_code == 0 and "jit_compile=True" in result.output, result.output
    assert "model.overrides.r1_schedule=sub_batch" in result.output and float(table_rows(result.output, "contender")[0][1]) > 0
    result = CliRunner().invoke(main, ["bench", "train", "stylegan_lite", "--set", "model.overrides.r1_schedule=every"])
    assert result.exit_code == 1 and "r1_schedule must be one of lazy, sub_batch" in result.output


@pytest.mark.parametrize("name, data", [("cyclegan", "as domains A and B"), ("srgan", "as HR patches")])
def test_bench_train_gives_translation_and_super_resolution_their_kind_of_batches(name, data):
    # (A, B) and (LR, HR) pairs: single images fail inside train_step (found on a GPU run). In
    # TensorFlow's graph: XLA compiling these steps took 35 s on a 2-core AVX2 CPU, and the same
    # batches feed either.
    result = CliRunner().invoke(main, ["bench", "train", name, "--preset", "tiny", "--batch", "2", "--steps", "4", "--warmup", "1",
                                       "--no-jit-compile"])
    assert result.exit_code == 0, result.output
    assert data in result.output.splitlines()[0]
    rows = table_rows(result.output, "contender")
    assert [r[0] for r in rows] == ["ganzoo"] and float(rows[0][1]) > 0


def test_bench_serve_measures_every_format_of_an_export(tmp_path):
    model = ganzoo.create_model("cgan", "tiny")
    version_dir = export_saved_model(model, tmp_path, "cgan", list(TFLITE_MODES))
    result = CliRunner().invoke(main, ["bench", "serve", str(version_dir), "--repeats", "5", "--batch", "4"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "format")
    assert [" ".join(r[:2]) if r[0] == "TFLite" else r[0] for r in rows] == ["SavedModel"] + [f"TFLite {m}" for m in TFLITE_MODES]
    for row in rows:
        p50, p95, images_per_s, size = (float(x) for x in row[-5:-3] + row[-2:])
        assert 0 < p50 <= p95 and images_per_s > 0 and size > 0
    result = CliRunner().invoke(main, ["bench", "serve", str(tmp_path)])
    assert result.exit_code == 1 and "neither an export version directory, a run directory, a run's best/ nor a .keras file" in result.output


@pytest.mark.parametrize("name, files", [("dcgan", ["float32"]), ("stylegan_lite", ["float32"]), ("srgan", ["float32"]),
                                         ("cyclegan", ["a2b.float32", "b2a.float32"]), ("gan3d", ["float32"])])
def test_bench_serve_works_for_every_task(tmp_path, name, files):
    """Each kind of export is fed the inputs its task names (latents, latents and truncation, LR
    images, domain-A images), read from the export alone."""
    model = ganzoo.create_model(name, "tiny")
    version_dir = export_saved_model(model, tmp_path, name, ["float32"])
    result = CliRunner().invoke(main, ["bench", "serve", str(version_dir), "--repeats", "3", "--batch", "2"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "format")
    assert [r[0] if r[0] == "SavedModel" else r[1] for r in rows] == ["SavedModel", *files]
    assert all(float(row[-2]) > 0 for row in rows)


def test_bench_train_profile_says_where_each_contenders_time_goes(tmp_path):
    result = CliRunner().invoke(main, ["bench", "train", "dcgan", "--preset", "tiny", "--batch", "8", "--steps", "6",
                                       "--warmup", "2", "--profile", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name, folder in (("keras-io reference", "keras-io"), ("ganzoo", "ganzoo")):
        header = next(line for line in result.output.splitlines() if line.startswith(f"{name}: 10 traced steps"))
        wall, host = (float(x) for x in re.findall(r"wall ([\d.]+) ms/step.*host op time ([\d.]+) ms/step", header)[0])
        assert wall > 0 and host > 0
        assert list(tmp_path.joinpath(folder).rglob("*.xplane.pb")), "no trace for TensorBoard"
    # Both train through TensorFlow's convolution kernels (oneDNN's or Eigen's, by CPU).
    assert re.search(r"^  \S*Conv2DBackpropFilter\S*\s+[\d.]+\s+[\d.]+%$", result.output, re.M)
    assert "MakeIterator" not in result.output  # fit's one-off iterator setup is not a step's cost
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = CliRunner().invoke(main, ["bench", "train", "dcgan", "--preset", "tiny", "--profile", str(blocked / "sub")])
    assert result.exit_code == 1 and f"profile folder {blocked / 'sub'}: cannot create it" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_step_profile_counts_ops_once_and_device_time_as_a_union():
    """A made-up trace: a function call spanning its ops, a non-op executor event, two GPU kernels
    overlapping on two streams, and a derived line that repeats a kernel."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from ganzoo.bench.profile import summarize_xspace

    space = xplane_pb2.XSpace()

    def plane(name, lines):
        p = space.planes.add(name=name)
        ids = {}
        for line_name, events in lines.items():
            line = p.lines.add(name=line_name, timestamp_ns=1000)
            for event_name, offset_ps, duration_ps in events:
                if event_name not in ids:
                    ids[event_name] = len(ids) + 1
                    p.event_metadata[ids[event_name]].name = event_name
                line.events.add(metadata_id=ids[event_name], offset_ps=offset_ps, duration_ps=duration_ps)

    ms = 10**9  # picoseconds per millisecond
    plane("/host:CPU", {"tf_Compute/1": [("StatefulPartitionedCall:StatefulPartitionedCall", 0, 10 * ms),
                                         ("d/conv/Conv2D:_MklNativeConv2D", 1 * ms, 3 * ms),
                                         ("ExecutorState::Process", 1 * ms, 4 * ms),
                                         ("d/lrelu:LeakyRelu", 5 * ms, 1 * ms),
                                         ("MakeIterator: MakeIterator", 0, 7 * ms),
                                         ("x:__inference_train_step_12", 0, 9 * ms),
                                         ("CpuExecutable::ExecuteAsyncOnStream", 6 * ms, 2 * ms)],
                        "tf_Compute/2": [("g/conv/Conv2D:_MklNativeConv2D", 2 * ms, 2 * ms)]})
    plane("/device:GPU:0", {"Stream #1(Compute)": [("gemm_kernel", 0, 4 * ms), ("relu_kernel", 6 * ms, 1 * ms)],
                            "Stream #2(Compute)": [("gemm_kernel", 2 * ms, 3 * ms)],
                            "XLA Ops": [("gemm_kernel", 0, 4 * ms)]})
    profile = summarize_xspace(space, steps=2, wall_s=0.02)
    assert profile.host_ops == pytest.approx({"_MklNativeConv2D": 0.005, "LeakyRelu": 0.001})
    assert profile.device_kernels == pytest.approx({"gemm_kernel": 0.007, "relu_kernel": 0.001})
    assert profile.device_busy_s == pytest.approx(0.006)  # [0, 5] and [6, 7] ms
    assert profile.xla_programs_s == pytest.approx(0.002)
    assert profile.ms_per_step(profile.device_busy_s) == pytest.approx(3.0)


def test_peak_memory_of_a_subprocess_is_its_own_not_its_parents():
    """ru_maxrss survives fork + exec: a child of a 1 GiB parent reported >= 1 GiB, which made
    memory bounds pass alone and fail inside a grown test worker."""
    import subprocess
    import sys

    parent = "import subprocess, sys\nheld = bytearray(2**30)\nheld[::4096] = b'\\1' * len(held[::4096])\n" \
             "print(subprocess.run([sys.executable, '-c', 'from ganzoo.bench.memory import peak_memory_mib; " \
             "print(peak_memory_mib())'], capture_output=True, text=True, check=True).stdout)"
    child_peak = float(subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=True).stdout)
    assert child_peak < 200, child_peak


def test_quality_clock_stops_at_its_budget_and_keeps_measurements_off_it():
    import time

    import numpy as np
    import tensorflow as tf

    from ganzoo.bench.time_to_quality import QualityClock

    def slow_measure(model):
        time.sleep(0.3)
        return {"fid": 1.0, "kid": 0.0, "coverage_classes": 1}

    model = ganzoo.create_model("dcgan", "tiny")
    model.compile()
    images = tf.data.Dataset.from_tensor_slices(np.zeros((8, 16, 16, 1), "float32")).batch(8).repeat()
    clock = QualityClock("tiny", 0, slow_measure, every_s=1.0, budget_s=8.0, batch=8)  # the first step traces (seconds on a busy CPU)
    started = time.perf_counter()
    model.fit(images, epochs=1, steps_per_epoch=10**6, callbacks=[clock], verbose=0)
    wall = time.perf_counter() - started
    points, evaluating = clock.points, sum(p.eval_s for p in clock.points)
    assert len(points) >= 3 and evaluating >= 0.3 * len(points)
    assert points[-1].train_s >= 8.0 and points[-1].steps == int(model.g_optimizer.iterations.numpy())
    for i, point in enumerate(points[:-1]):
        assert point.train_s >= i + 1 and point.images == point.steps * 8
    assert [p.steps for p in points] == sorted(p.steps for p in points)
    # Measuring is off the clock: had the clock counted it, the clock alone would be the wall time
    # and this sum would exceed it by the measurements (the rest is fit's own set-up).
    assert points[-1].train_s + evaluating <= wall < points[-1].train_s + evaluating + 10


def test_time_to_quality_summary_reads_the_curves():
    from ganzoo.bench.time_to_quality import (
        CurvePoint,
        format_time_to_quality,
        seconds_to,
        summarize,
    )

    def curve(name, seed, fids, every=60.0):
        return [CurvePoint(name, seed, every * (i + 1), 100 * (i + 1), 6400 * (i + 1), fid, 0.0, 10, 5.0)
                for i, fid in enumerate(fids)]

    ours = curve("ours", 0, [40, 18, 9, 7]) + curve("ours", 1, [35, 25, 12, 11])
    reference = curve("keras-io reference", 0, [90, 60, 40, 30]) + curve("keras-io reference", 1, [80, 50, 45, 20])
    assert seconds_to(ours[:4], 10) == 180 and seconds_to(ours[4:], 10) is None
    rows = {r["contender"]: r for r in summarize(ours + reference, [20, 10])}
    assert rows["ours"]["to"] == {20: 150.0, 10: None}  # median of 120 and 180; one seed never reached 10
    assert rows["ours"]["fid"] == 9.0 and rows["ours"]["seeds"] == 2 and rows["ours"]["eval_s"] == 20.0
    # The reference's last FIDs (30 and 20) are reached at 120 s and 180 s of its 240: median 0.625x.
    assert rows["ours"]["vs_reference"] == pytest.approx(0.625) and "vs_reference" not in rows["keras-io reference"]
    # The table has a reference column only when a reference ran.
    table = {"csv": "c.csv", "plot": "p.png", "budget_s": 240}
    assert "ref FID at" in format_time_to_quality({**table, "points": ours + reference}, [10]).splitlines()[0]
    alone = format_time_to_quality({**table, "points": ours}, [10]).splitlines()
    assert "ref FID at" not in alone[0] and alone[1].split()[:6] == ["ours", "2", "400", "240", "9.00", "10"]
    assert "reference" not in alone[2]


def test_time_to_quality_finds_recipes_by_file_name_or_model():
    from ganzoo.bench.quality import model_recipe
    from ganzoo.bench.time_to_quality import find_recipe
    from ganzoo.errors import GanzooError

    assert find_recipe("dcgan_mnist").name == "dcgan_mnist.toml" == find_recipe("dcgan").name
    assert find_recipe("stylegan_lite_fashion_mnist").name == "stylegan_lite_fashion_mnist.toml"
    assert model_recipe("stylegan_lite", "fashion_mnist").name == "stylegan_lite_fashion_mnist.toml"
    assert model_recipe("dcgan", "kmnist").name == "dcgan_mnist.toml" and model_recipe("no_such_model") is None
    with pytest.raises(GanzooError, match="no recipe 'nope'"):
        find_recipe("nope")


def test_gpu_suite_script_parses_and_times_every_model():
    """benchmarks/gpu_suite.sh is run on a GPU loan without a chance to fix it: it must parse,
    and a model added to the registry must get a row."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_suite.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text().replace("\\\n", " ")  # continued lines joined
    timed = set(re.findall(r'^\s*row "\S+" (\w+)', text, re.M))
    assert set(ganzoo.list_models()) <= timed, set(ganzoo.list_models()) - timed
    # Every row's arguments parse as `ganzoo bench train` takes them, and its recipe changes are
    # ones the model accepts: no option renamed under the script.
    from ganzoo.cli import bench_train_command
    from ganzoo.models import list_presets
    from ganzoo.recipes import apply_overrides, recipe_from_dict

    rows = re.findall(r'^\s*row "\S+" (.+)$', text, re.M)
    assert len(rows) >= 10
    for row in rows:
        args = row.replace('"$batch"', "64").replace('"$spe"', "4").split()
        context = bench_train_command.make_context("train", [*args, "--steps", "60"])
        params = context.params
        assert params["preset"] is None or params["preset"] in list_presets(params["model_name"]), row
        recipe = {"model": {"name": params["model_name"], "preset": params["preset"] or "tiny"}, "data": {"source": "tfds:mnist"},
                  "train": {"steps": 1, "batch_size": params["batch"]}}
        checked = recipe_from_dict(apply_overrides(recipe, list(params["assignments"])), name="row")  # validated
        if checked.model.overrides:  # values only the constructor checks (tiny: the same arguments)
            ganzoo.create_model(checked.model.name, "tiny", **checked.model.overrides)
