"""`ganzoo bench serve`: what serving an export costs — batch-1 latency (p50/p95) and batch-64
throughput of the SavedModel (the float signature of the model's task — `generate`, `upscale`,
`a2b` — as TF Serving runs it) and of every TFLite file (LiteRT with its default XNNPACK delegate),
with file sizes, in one process run."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from ganzoo.bench.export import directory_size, timed


def bench_version_dir(version_dir: Path, threads: int, repeats: int, throughput_batch: int) -> list[dict]:
    """Rows for the SavedModel (the signature its task names, fed inputs shaped like the export's
    reference inputs) and every TFLite file of an export."""
    import tensorflow as tf

    from ganzoo.export.saved_model import read_export
    from ganzoo.export.tflite import TFLITE_MODES, litert_interpreter
    from ganzoo.tasks import get_task

    metadata, reference = read_export(version_dir)
    task = get_task(metadata["task"])
    signature, one, one_tflite = task.bench_serve_inputs(reference, 1)
    _, many, many_tflite = task.bench_serve_inputs(reference, throughput_batch)
    function = tf.saved_model.load(str(version_dir)).signatures[signature]
    rows = []

    def saved_model_call(inputs):
        feeds = {k: tf.constant(v) for k, v in inputs.items()}
        return lambda: next(iter(function(**feeds).values())).numpy()  # the one output: images, volumes

    rows.append(measure_row("SavedModel", saved_model_call(one), saved_model_call(many), repeats,
                            throughput_batch, directory_size(version_dir)))
    order = {mode: i for i, mode in enumerate(TFLITE_MODES)}
    files = sorted((version_dir / "tflite").glob("*.tflite"), key=lambda p: (order.get(p.stem.rsplit(".", 1)[-1], 99), p.name))
    for path in files:
        runner = litert_interpreter(path, threads).get_signature_runner()
        # Separate runners: switching one between batch sizes re-plans it on every call.
        runner_many = litert_interpreter(path, threads).get_signature_runner()
        name = path.stem[len(path.stem.split(".")[0]) + 1:]  # "<mode>", or "<direction>.<mode>"
        rows.append(measure_row(f"TFLite {name}", lambda r=runner: r(**one_tflite), lambda r=runner_many: r(**many_tflite),
                                repeats, throughput_batch, path.stat().st_size))
    return rows


def measure_row(name: str, call_one, call_many, repeats: int, throughput_batch: int, size: int) -> dict:
    latencies = sorted(t * 1000 for t in timed(call_one, repeats))
    batch_times = timed(call_many, max(3, repeats // 10))
    return {
        "format": name,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "images_per_s": throughput_batch / statistics.median(batch_times),
        "size_kib": size / 1024,
    }


def check_served_source(source: str | Path) -> None:
    """A one-line error, without TensorFlow, when SOURCE is neither an export version directory
    nor something that holds a model (a run directory or its best/, a .keras file, zoo:NAME)."""
    from ganzoo import zoo
    from ganzoo.errors import ModelNotFound
    from ganzoo.training.runs import check_model_location

    if zoo.entry_name(source) is not None:
        zoo.load_entry(zoo.entry_name(source))
    elif not (Path(source) / "saved_model.pb").is_file():
        try:
            check_model_location(source)
        except ModelNotFound:
            raise ModelNotFound(f"{source} is neither an export version directory, a run directory, a run's best/ nor a .keras file "
                                "(nor zoo:NAME)") from None


def bench_serve(source: str | Path, threads: int = 2, repeats: int = 100, throughput_batch: int = 64) -> tuple[str, list[dict]]:
    """SOURCE: an export version directory (its own files are measured) or a run directory /
    .keras file / zoo:NAME (exported to a temporary directory in every TFLite mode first)."""
    check_served_source(source)
    if (Path(source) / "saved_model.pb").is_file():
        source = Path(source)
        return str(source), bench_version_dir(source, threads, repeats, throughput_batch)
    from ganzoo.export.saved_model import export_saved_model
    from ganzoo.export.tflite import TFLITE_MODES
    from ganzoo.training import load_trained_model

    model = load_trained_model(source)
    with tempfile.TemporaryDirectory() as tmp:
        version_dir = export_saved_model(model, tmp, model.registry_name, list(TFLITE_MODES))
        return f"{source} (exported in every mode)", bench_version_dir(version_dir, threads, repeats, throughput_batch)


def format_serve(rows: list[dict], throughput_batch: int = 64) -> str:
    base = rows[0]["p50_ms"]
    lines = [f"{'format':22s} {'b1 p50 ms':>10s} {'b1 p95 ms':>10s} {'vs SavedModel':>14s} "
             f"{f'b{throughput_batch} img/s':>11s} {'size KiB':>10s}"]
    for r in rows:
        lines.append(f"{r['format']:22s} {r['p50_ms']:10.3f} {r['p95_ms']:10.3f} {r['p50_ms'] / base:13.2f}x "
                     f"{r['images_per_s']:11.0f} {r['size_kib']:10.1f}")
    return "\n".join(lines)
