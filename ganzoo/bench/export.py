"""`ganzoo bench export`: per-image latency and file size of the SavedModel and of each TFLite
mode, for one generator, measured in one process run."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from ganzoo.export.tflite import TFLITE_MODES, litert_interpreter


def timed(call, repeats: int) -> list[float]:
    from ganzoo.tf_runtime import quiet_native_stderr

    with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr at the first call
        call()  # warm-up (graph or delegate initialisation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "tflite" not in p.parts
               and p.name != "ganzoo_reference.npz")


def bench_export(source: str | Path | None = None, model_name: str = "dcgan", preset: str = "mnist", batch: int = 1,
                 repeats: int = 50, threads: int = 2) -> tuple[str, list[dict]]:
    """(what was measured, rows of {format, ms_per_image_p50, ms_per_image_p95, size_kib}) for a
    run or .keras file, or a zoo model's preset with random weights, exported in every mode; each
    format runs the float signature of the model's task on `batch` inputs."""
    import tensorflow as tf

    from ganzoo.export.saved_model import export_saved_model, read_export
    from ganzoo.tasks import task_of

    if source is not None:
        from ganzoo.training import load_trained_model

        model, what = load_trained_model(source), str(source)
    else:
        from ganzoo.models import create_model

        model, what = create_model(model_name, preset), f"{model_name}/{preset} (random weights)"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        version_dir = export_saved_model(model, tmp, "bench", list(TFLITE_MODES))
        signature, inputs, tflite_inputs = task_of(model).bench_serve_inputs(read_export(version_dir)[1], batch)
        function = tf.saved_model.load(str(version_dir)).signatures[signature]
        feed = {k: tf.constant(v) for k, v in inputs.items()}
        times = timed(lambda: function(**feed)["images"].numpy(), repeats)
        rows.append(row("SavedModel", times, batch, directory_size(version_dir)))
        for path in sorted((version_dir / "tflite").glob("*.tflite"), key=lambda p: TFLITE_MODES.index(p.name.rsplit(".", 2)[-2])):
            runner = litert_interpreter(path, threads).get_signature_runner()
            times = timed(lambda: runner(**tflite_inputs), repeats)
            rows.append(row(f"TFLite {path.stem[len('bench.'):]}", times, batch, path.stat().st_size))
    return what, rows


def row(name: str, times: list[float], batch: int, size: int) -> dict:
    per_image = sorted(t * 1000 / batch for t in times)
    return {
        "format": name,
        "ms_per_image_p50": statistics.median(per_image),
        "ms_per_image_p95": per_image[min(len(per_image) - 1, int(0.95 * len(per_image)))],
        "size_kib": size / 1024,
    }


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'format':16s} {'ms/image p50':>13s} {'ms/image p95':>13s} {'size KiB':>10s} {'vs SavedModel':>14s}"]
    base = rows[0]["ms_per_image_p50"]
    for r in rows:
        lines.append(f"{r['format']:16s} {r['ms_per_image_p50']:13.3f} {r['ms_per_image_p95']:13.3f} "
                     f"{r['size_kib']:10.1f} {r['ms_per_image_p50'] / base:13.2f}x")
    return "\n".join(lines)
