"""`ganzoo bench train` and `ganzoo bench serve` run on tiny presets and print their tables with
measured (positive, finite) figures. No timing is asserted: speed goals live in benchmarks/."""

from __future__ import annotations

import math

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


def test_bench_train_other_models_and_bad_names():
    result = CliRunner().invoke(main, ["bench", "train", "cgan", "--batch", "8", "--steps", "4", "--warmup", "1", "--preset", "tiny"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, "contender")
    assert [r[0] for r in rows] == ["ganzoo"] and float(rows[0][1]) > 0
    result = CliRunner().invoke(main, ["bench", "train", "dcgann"])
    assert result.exit_code == 1 and "unknown model 'dcgann'" in result.output
    result = CliRunner().invoke(main, ["bench", "train", "cyclegan", "--updates", "simultaneous"])
    assert result.exit_code == 1 and "train.updates: cyclegan supports alternating;" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name, data", [("cyclegan", "as domains A and B"), ("srgan", "as HR patches")])
def test_bench_train_gives_translation_and_super_resolution_their_kind_of_batches(name, data):
    # (A, B) and (LR, HR) pairs: single images fail inside train_step (found on a GPU run).
    result = CliRunner().invoke(main, ["bench", "train", name, "--preset", "tiny", "--batch", "2", "--steps", "4", "--warmup", "1"])
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
    assert result.exit_code == 1 and "neither a run directory nor a .keras file" in result.output
