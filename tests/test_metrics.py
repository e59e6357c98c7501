"""Metrics against their definitions and independent computations, and `ganzoo evaluate` end to end
with the cached classifier features."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import GanzooError, ModelNotFound
from ganzoo.metrics import stats
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.extractors import (
    get_extractor,
    short_sha256,
    train_metric_classifier,
)
from ganzoo.metrics.registry import parse_metrics
from ganzoo.tasks import get_task


def random_features(n=400, d=12, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) * 0.5 + shift


def test_fid_of_a_set_against_itself_is_zero():
    x = random_features()
    assert abs(stats.fid(x, x)) < 1e-6


def test_fid_matches_an_eigenvalue_computation():
    a, b = random_features(seed=1), random_features(seed=2, shift=0.3)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S1 S2)^1/2) is the sum of the square roots of the eigenvalues of S1 S2 (all real, >= 0).
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert stats.fid(a, b) == pytest.approx(expected, rel=1e-3)
    assert stats.fid(a, b) > 0.5  # the shift is visible


def test_kid_matches_an_explicit_unbiased_mmd():
    a, b = random_features(60, 5, seed=3), random_features(60, 5, seed=4, shift=0.5)

    def k(x, y):
        return (x @ y / len(x) + 1) ** 3

    m = len(a)
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(m)) / (m * m)
    mean, std = stats.kid(a, b, subsets=3, subset_size=m)  # whole sets: every subset is the same MMD
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-3) and std < 1e-9
    # Two samples of one distribution score near 0 (the estimator is unbiased, so it can be < 0).
    big = random_features(400, 5, seed=3)
    same_mean, _ = stats.kid(big[:200], big[200:], subsets=5, subset_size=100)
    assert abs(same_mean) < 0.1 * stats.kid(big[:200], big[200:] + 0.5, subsets=5, subset_size=100)[0]


def test_inception_score_of_one_hot_predictions_is_the_class_count():
    for k in (1, 4, 10):
        one_hot = np.tile(np.eye(k), (20, 1))
        mean, std = stats.inception_score(one_hot, splits=4)
        assert mean == pytest.approx(k, rel=1e-6) and std < 1e-6
    uniform = np.full((100, 10), 0.1)
    assert stats.inception_score(uniform)[0] == pytest.approx(1.0)


def test_precision_recall_see_quality_and_mode_collapse():
    real = random_features(300, 4, seed=5)
    assert stats.precision_recall(real, real.copy()) == (1.0, 1.0)
    far = real + 100.0
    assert stats.precision_recall(real, far) == (0.0, 0.0)
    collapsed = np.repeat(real[:10], 30, axis=0) + 1e-3 * random_features(300, 4, seed=6)  # 300 samples near 10 real points
    precision, recall = stats.precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.2


def test_class_coverage_counts_the_classes_found():
    balanced = np.tile(np.eye(10), (10, 1))
    assert stats.class_coverage(balanced) == (10, 10)
    collapsed = np.zeros((100, 10))
    collapsed[:, 3] = 1
    collapsed[:2, 5] = 2  # 2% of the samples: under a quarter of the fair 10% share
    assert stats.class_coverage(collapsed) == (1, 10)


def test_nearest_neighbour_statistics_match_a_loop_over_pairs():
    rng = np.random.default_rng(0)
    real = rng.random((12, 4, 4, 4, 1)) < 0.3
    fake = rng.random((12, 4, 4, 4, 1)) < rng.uniform(0.2, 0.6, (12, 1, 1, 1, 1))
    fake[3] = real[5]  # an exact copy: distance 0
    fake[7] = 0  # an empty grid

    def distance(a, b):
        union = (a | b).sum()
        return 1 - (a & b).sum() / union if union else 0.0

    d_rf = np.array([[distance(r, f) for f in fake] for r in real])
    d_rr = np.array([[distance(r, q) if i != j else np.inf for j, q in enumerate(real)] for i, r in enumerate(real)])
    d_ff = np.array([[distance(f, g) if i != j else np.inf for j, g in enumerate(fake)] for i, f in enumerate(fake)])
    np.testing.assert_allclose(stats.jaccard_distances(real, fake), d_rf, atol=1e-6)
    np.testing.assert_allclose(stats.jaccard_distances(real, fake, chunk=5), d_rf, atol=1e-6)  # blocks
    assert stats.jaccard_distances(fake[7:8], fake[7:8])[0, 0] == 0.0
    right = sum((d_rr[i].min() < d_rf[i].min()) + 0.5 * (d_rr[i].min() == d_rf[i].min()) for i in range(12)) + \
        sum((d_ff[j].min() < d_rf[:, j].min()) + 0.5 * (d_ff[j].min() == d_rf[:, j].min()) for j in range(12))
    values = stats.nearest_neighbour_stats(real, fake)
    assert values["nna"] == pytest.approx(right / 24)
    assert values["nn_coverage"] == pytest.approx(len(set(d_rf.argmin(axis=0))) / 12)
    assert values["nn_mmd"] == pytest.approx(d_rf.min(axis=1).mean())


def test_nearest_neighbour_statistics_tell_copies_likes_and_strangers_apart():
    from ganzoo.data.voxels import procedural_shapes

    real = procedural_shapes(100, 16, "test").volumes
    copies = stats.nearest_neighbour_stats(real, real.copy())
    # Memorised: far below the ideal 0.5 (not exactly 0 or 1: a few real shapes at 16^3 are equal).
    assert copies["nna"] < 0.05 and copies["nn_coverage"] > 0.95 and copies["nn_mmd"] == 0.0
    alike = stats.nearest_neighbour_stats(real, procedural_shapes(100, 16, "train").volumes)
    assert 0.35 < alike["nna"] < 0.65 and alike["nn_coverage"] > 0.4
    boxes = np.zeros_like(real)  # one solid block each: shaped, but not furniture
    for box, (low, size) in zip(boxes, np.random.default_rng(0).integers((0, 4), (8, 9), (100, 2))):
        box[low : low + size, low : low + size, low : low + size] = 1
    strangers = stats.nearest_neighbour_stats(real, boxes)
    assert strangers["nna"] > 0.9 and strangers["nn_mmd"] > alike["nn_mmd"] and strangers["nn_coverage"] < alike["nn_coverage"]
    with pytest.raises(ValueError, match="equal size"):
        stats.nearest_neighbour_stats(real, real[:50])


def test_fragments_count_the_pieces_beyond_each_samples_largest():
    from ganzoo.data.voxels import procedural_shapes

    grids = np.zeros((4, 6, 6, 6, 1), np.uint8)
    grids[0, 1:3, 1:3, 1:3] = 1  # one piece
    grids[1, 0:2, 0:2, 0:2] = 1
    grids[1, 2, 2, 2] = 1  # touches the block at a corner: the same piece
    grids[1, 5, 5, 5] = 1  # a speck: one piece more, 1 of its 10 voxels
    grids[2, 0, 0, 0] = grids[2, 0, 0, 2] = grids[2, 0, 0, 4] = 1  # three single voxels a voxel apart
    values = stats.fragments(grids)  # grids[3] is empty: no piece, none beyond
    assert values["fragments"] == pytest.approx((0 + 1 + 2 + 0) / 4)
    assert values["fragment_share"] == pytest.approx((0 + 1 / 10 + 2 / 3 + 0) / 4)
    assert stats.fragments(grids[..., 0]) == values  # with or without the channel axis
    assert stats.fragments(procedural_shapes(50, 16, "test").volumes)["fragments"] == 0.0  # real furniture is one piece


def test_metric_names_and_extractors_fail_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    assert parse_metrics("fid, kid,is,pr,coverage") == ["fid", "kid", "is", "pr", "coverage"]
    with pytest.raises(GanzooError, match="unknown metric 'fdi'"):
        parse_metrics("fid,fdi")
    with pytest.raises(GanzooError, match="ganzoo metrics train-classifier tfds:mnist"):
        get_extractor("classifier:tfds:mnist")
    with pytest.raises(GanzooError, match="does not exist"):
        get_extractor("inception", str(tmp_path / "missing.h5"))
    with pytest.raises(GanzooError, match="unknown feature extractor"):
        get_extractor("vgg")


@pytest.fixture(scope="module")
def metric_cache(tmp_path_factory, tfds_dir):
    """A metric classifier trained once for this module (5000 MNIST images, 3 epochs)."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANZOO_CACHE", str(cache))
        patch.setenv("TFDS_DATA_DIR", str(tfds_dir))
        path, info = train_metric_classifier("tfds:mnist", epochs=3, max_examples=5000)
        assert info["test_accuracy"] > 0.9 and path.is_file()
    return cache


@pytest.fixture
def mnist_metric_classifier(metric_cache, tfds_dir, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(metric_cache))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    return metric_cache


def test_evaluate_a_run_appends_results_with_their_protocol(mnist_metric_classifier, tiny_recipe, tmp_path):
    from ganzoo.recipes import load_recipe
    from ganzoo.training import train

    run_dir = train(load_recipe(tiny_recipe()), out=tmp_path / "runs", max_steps=4, verbose=0)
    result = evaluate(run_dir, ["fid", "kid", "is", "pr", "coverage"], num=300)
    metrics = result["metrics"]
    assert set(metrics) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "coverage_classes", "coverage"}
    assert metrics["fid"] > 0 and 1 <= metrics["is"] <= 10 and 0 <= metrics["precision"] <= 1
    protocol = result["protocol"]
    assert protocol["extractor"] == "classifier:tfds:mnist" and protocol["num_real"] == protocol["num_generated"] == 300
    assert protocol["real"] == "tfds:mnist (test)" and "bilinear" in protocol["resize"] and len(protocol["weights_sha256"]) == 16
    assert result["step"] == 4

    cached = list((mnist_metric_classifier / "reference").glob("*-16x16x1-*-300.npz"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = CliRunner().invoke(main, ["evaluate", str(run_dir), "--metrics", "fid,coverage", "--num", "300"])
    assert again.exit_code == 0, again.output
    assert "fid" in again.output and "protocol: extractor=classifier:tfds:mnist" in again.output
    assert cached[0].stat().st_mtime_ns == mtime  # the real statistics came from the cache
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and lines[1]["metrics"]["fid"] == pytest.approx(metrics["fid"], rel=1e-4)


def test_evaluate_tells_real_samples_from_noise(mnist_metric_classifier, tmp_path):
    """The metrics rank a 'generator' that returns real test digits far above one that returns noise."""
    from ganzoo.data import load_images
    from ganzoo.metrics.registry import METRICS
    from ganzoo.metrics.session import reference_features

    extractor = get_extractor("classifier:tfds:mnist")
    real = reference_features(extractor, "tfds:mnist", "test", (28, 28, 1), 500)
    digits = extractor(load_images("tfds:mnist", (28, 28, 1), split="train", download=False, max_examples=500).images)
    noise = extractor(np.random.default_rng(0).integers(0, 256, (500, 28, 28, 1), dtype=np.uint8))
    names = get_task("generation").usable_metrics(list(METRICS))  # not nna: it compares voxels
    assert names and "nna" not in names
    good = {k: v for name in names for k, v in METRICS[name](real, digits).items()}
    bad = {k: v for name in names for k, v in METRICS[name](real, noise).items()}
    assert good["fid"] < bad["fid"] / 10 and good["kid"] < bad["kid"] / 10
    assert good["precision"] > 0.8 > bad["precision"] and good["coverage_classes"] == 10 > bad["coverage_classes"]
    assert good["is"] > 5 > bad["is"]


def test_evaluate_cli_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    model_file = tmp_path / "m.keras"
    ganzoo.create_model("dcgan", "tiny").save(model_file)
    result = CliRunner().invoke(main, ["evaluate", str(model_file), "--metrics", "fid,fdi"])
    assert result.exit_code == 1 and "unknown metric 'fdi'" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(model_file)])
    assert result.exit_code == 1 and "has no recipe to read the real data's source from" in result.output
    with pytest.raises(ModelNotFound, match="is neither a run directory, a run's best/ nor a .keras file"):  # not "has no recipe"
        evaluate(tmp_path / "runs" / "latest", ["fid"])
    result = CliRunner().invoke(main, ["evaluate", str(model_file), "--data", "tfds:mnist", "--num", "20"])
    assert result.exit_code == 1 and "train-classifier" in result.output


def test_training_evaluates_keeps_the_best_checkpoint_and_writes_a_model_card(mnist_metric_classifier, tiny_recipe, tmp_path):
    from ganzoo.actions import export as export_model
    from ganzoo.recipes import load_recipe
    from ganzoo.training import runs, train

    evaluation = '\n[evaluation]\nevery_epochs = 1\nmetrics = "fid,coverage"\nnum = 100\nkeep_best = "fid"\n'
    run_dir = train(load_recipe(tiny_recipe(steps=9, steps_per_epoch=3, extra=evaluation)), out=tmp_path / "runs", verbose=0)
    results = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in results] == [3, 6, 9]
    best = json.loads((run_dir / "best" / "best.json").read_text())
    fids = {r["step"]: r["metrics"]["fid"] for r in results}
    assert best["metric"] == "fid" and best["value"] == min(fids.values()) and fids[best["step"]] == best["value"]
    assert (run_dir / "best" / f"ckpt-{best['step']}.index").is_file()
    assert runs.best_record(run_dir) == best

    # A kill between best/'s new checkpoint and best.json leaves the older record (or none) beside
    # it: the record of the checkpoint that is there comes from the evaluation that kept it, not
    # from a later re-evaluation of best/ nor from a line the kill tore.
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": best["step"], "checkpoint": "best", "metrics": {"fid": 1e6}}) + '\n{"step": 9, "metr')
    older = min(step for step in fids if step != best["step"])
    (run_dir / "best" / "best.json").write_text(json.dumps({"metric": "fid", "value": fids[older], "step": older}))
    assert runs.best_record(run_dir) == best
    (run_dir / "best" / "best.json").unlink()
    assert runs.best_record(run_dir) == best
    events = list((run_dir / "logs").glob("events.out.tfevents.*"))
    assert any(b"metrics/fid" in e.read_bytes() for e in events)

    card = (run_dir / "MODEL_CARD.md").read_text()
    assert "dcgan (tiny)" in card and "Steps: 9 of 9" in card and "| fid |" in card
    assert "extractor=classifier:tfds:mnist" in card and "CPU" in card and "![samples](samples.png)" in card
    version_dir = export_model(run_dir, base=tmp_path / "exports")
    assert (version_dir / "MODEL_CARD.md").read_text() == card


def test_a_runs_best_checkpoint_is_a_model_source_for_every_command(mnist_metric_classifier, tiny_recipe, tmp_path):
    """RUN/best (the checkpoint keep_best kept) loads in the run's recipe's model, is the generator
    its evaluation measured, and is what sample, evaluate and zoo publish take; a damaged one and
    a run that kept none are one-line errors."""
    import tensorflow as tf

    from ganzoo.images import to_uint8
    from ganzoo.recipes import load_recipe
    from ganzoo.training import build_model, load_trained_model
    from ganzoo.zoo.publish import publish

    evaluation = '\n[evaluation]\nevery_epochs = 1\nmetrics = "fid"\nnum = 100\nkeep_best = "fid"\n[checkpoint]\nkeep = 5\n'
    result = CliRunner().invoke(main, ["train", str(tiny_recipe(steps=9, steps_per_epoch=3, extra=evaluation)), "--out",
                                       str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = (tmp_path / "runs" / "latest").resolve()
    recipe = load_recipe(run_dir / "recipe.toml")
    best = json.loads((run_dir / "best" / "best.json").read_text())
    assert f"best checkpoint: {run_dir / 'best'} (fid {best['value']:.4g} at step {best['step']}; every command" in result.output
    assert [p.name for p in (run_dir / "best").glob("ckpt-*.sha256")] == [f"ckpt-{best['step']}.sha256"]

    model = load_trained_model(run_dir / "best")
    assert int(model.g_optimizer.iterations) == best["step"]
    reference = build_model(recipe)  # the same step's checkpoint of the run's own series
    tf.train.Checkpoint(**reference.checkpoint_objects()).restore(str(run_dir / "checkpoints" / f"ckpt-{best['step']}")).expect_partial()
    np.testing.assert_array_equal(model.generate(8, seed=1), reference.generate(8, seed=1))

    # Evaluated again with the recipe's protocol and seed: the value it was kept for.
    result = evaluate(run_dir / "best", ["fid"], num=100, seed=recipe.train.seed)
    assert result["step"] == best["step"] and result["checkpoint"] == "best"
    assert result["metrics"]["fid"] == pytest.approx(best["value"], rel=1e-3)
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["checkpoint"] == "best" and last["step"] == best["step"]
    assert f"Step {best['step']}, the best/ checkpoint" in (run_dir / "MODEL_CARD.md").read_text()

    result = CliRunner().invoke(main, ["sample", str(run_dir / "best"), "--num", "4", "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["images"], to_uint8(model.generate(4, seed=0)))

    entry = json.loads(publish(run_dir / "best", "tiny_best", zoo_dir=tmp_path / "zoo", dtype="float32", num=100).read_text())
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert entry["steps"] == best["step"]
    assert entry["checkpoint"] == f"best/: kept by the recipe's evaluation for its fid, at step {best['step']}"
    assert entry["wall_time_s"] == next(h["elapsed_s"] for h in history if h["step"] == best["step"])
    assert f"at step {best['step']}" in (tmp_path / "zoo" / "cards" / "tiny_best.md").read_text()
    np.testing.assert_array_equal(ganzoo.from_pretrained(tmp_path / "zoo" / "entries" / "tiny_best.json").generate(4, seed=2),
                                  model.generate(4, seed=2))

    data = next((run_dir / "best").glob("ckpt-*.data-*"))
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0x01
    data.write_bytes(bytes(content))
    result = CliRunner().invoke(main, ["sample", str(run_dir / "best"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "no intact checkpoint in" in result.output and "is damaged" in result.output
    other = tmp_path / "other"  # a run whose recipe keeps no best checkpoint
    other.mkdir()
    (other / "recipe.toml").write_text((run_dir / "recipe.toml").read_text())
    result = CliRunner().invoke(main, ["sample", str(other / "best"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and f"run {other} has kept no best checkpoint" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bench_quality_prints_its_table(mnist_metric_classifier, tmp_path):
    result = CliRunner().invoke(main, ["bench", "quality", "--models", "vanilla,dcgan", "--datasets", "mnist", "--steps", "2",
                                       "--batch", "8", "--num", "50", "--preset", "tiny", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[1].split()[:3] == ["model", "dataset", "images"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[2]) for r in rows] == [("vanilla", "mnist"), ("dcgan", "mnist")]
    for row in rows:
        assert row[3] == "16" and float(row[5]) > 0 and 1 <= int(row[7]) <= 10  # images, FID, classes


def test_bench_quality_finds_every_recipe_before_anything_trains(tmp_path):
    """A model without a recipe, last in the list, is named before the first model (or a metric
    classifier for a new dataset) trains for minutes."""
    result = CliRunner().invoke(main, ["bench", "quality", "--models", "dcgan,srgan", "--datasets", "kmnist", "--steps", "2",
                                       "--out", str(tmp_path / "runs")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "no recipe srgan_kmnist.toml or srgan_mnist.toml in" in result.output
    assert not (tmp_path / "runs").exists()
    result = CliRunner().invoke(main, ["bench", "quality", "--models", "srgan", "--datasets", "mnist", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no recipe srgan_mnist.toml in" in result.output


def test_bench_time_to_quality_curves_a_recipe_and_the_keras_io_reference(mnist_metric_classifier, tiny_recipe, tmp_path):
    import csv

    from PIL import Image

    out = tmp_path / "ttq"
    # The first step's tracing counts as training time: it alone took 3.1 s on a busy 2-core CI
    # machine, so the budget leaves room for several points after it.
    result = CliRunner().invoke(main, ["bench", "time-to-quality", str(tiny_recipe(steps=10**6, steps_per_epoch=20)),
                                       "--minutes", "0.2", "--every", "3", "--num", "100", "--fid", "1000,300",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    out = out / "00000-curves"  # the first measurement in --out
    points = list(csv.DictReader((out / "time_to_quality.csv").open()))
    curves = {name: [p for p in points if p["contender"] == name] for name in ("tiny", "keras-io reference")}
    for curve in curves.values():
        # A point at the first step past each 3 s of training (the i-th at >= 3 i s) until the 12 s
        # budget is spent, the last at the first step past it: at most four. Not "at least two":
        # the keras-io reference's first step (tracing, 3.5 s alone) once took 59 s beside a busy
        # worker, and was then the only point.
        seconds = [float(p["train_s"]) for p in curve]
        assert seconds == sorted(seconds) and seconds[-1] >= 12.0 and all(s < 12.0 for s in seconds[:-1]), seconds
        assert len(seconds) <= 4 and all(s >= 3.0 * (i + 1) for i, s in enumerate(seconds)), seconds
        assert all(float(p["fid"]) > 0 and float(p["eval_s"]) > 0 and int(p["steps"]) > 0 for p in curve)
    assert Image.open(out / "time_to_quality.png").size == (800, 500)
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("contender"))
    rows = {line.split()[0]: line.split() for line in lines[header + 1:header + 3]}
    for name, target, column in (("tiny", 1000, 6), ("tiny", 300, 7)):  # the printed times are the CSV's
        reached = [float(p["train_s"]) for p in curves[name] if float(p["fid"]) <= target]
        assert rows[name][column] == (f"{reached[0]:.0f}" if reached else "-")
    assert float(rows["tiny"][4]) == pytest.approx(float(curves["tiny"][-1]["fid"]), abs=0.01)


def test_bench_time_to_quality_refuses_what_it_cannot_compare(tiny_recipe, tmp_path):
    other = tmp_path / "fashion.toml"
    other.write_text(tiny_recipe().read_text().replace("tfds:mnist", "tfds:fashion_mnist"))
    for args, message in (([str(tiny_recipe()), str(other)], "different data"),
                          (["no_such_recipe"], "no recipe 'no_such_recipe'"),
                          (["stylegan_lite_fashion_mnist", "--reference"], "the keras-io reference is a DCGAN"),
                          # models that transform images: refused before their data loads (srgan_x4's
                          # init_generator, runs/latest, is not even looked at)
                          (["srgan_x4"], "srgan_x4.toml trains a srgan (super_resolution model); time-to-quality"),
                          (["cyclegan_face2anime"], "cyclegan_face2anime.toml trains a cyclegan (translation model)"),
                          ([str(tiny_recipe()), "--set", "model.name=srgan", "--set", "model.preset=tiny"],
                           "trains a srgan (super_resolution model)")):
        result = CliRunner().invoke(main, ["bench", "time-to-quality", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()  # nothing was left behind


def test_inception_extractor_from_a_weights_file(tmp_path):
    """The standard extractor's pipeline (resize to 299, gray to RGB, pool features and the
    1000-way softmax), loaded from a weights file as offline users must (random weights here)."""
    import keras

    weights = tmp_path / "inception_v3.weights.h5"
    keras.applications.InceptionV3(weights=None).save_weights(weights)
    extractor = get_extractor("inception", str(weights))
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    out = extractor(images)
    assert out.features.shape == (3, 2048) and out.probabilities.shape == (3, 1000)
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0, rtol=1e-4)
    assert extractor.protocol()["weights_sha256"] == short_sha256(weights)
    assert "299x299" in extractor.protocol()["resize"]


def test_a_recipe_with_periodic_metrics_trains_its_missing_classifier(tmp_path, monkeypatch):
    """A recipe's [evaluation] needs no manual step: the classifier is trained once and cached."""
    from conftest import tiny_recipe_text

    from ganzoo.metrics.extractors import classifier_path
    from ganzoo.recipes import load_recipe
    from ganzoo.training import train

    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    labels = np.arange(400) % 4
    images = (np.repeat(labels[:, None, None, None], 16, 1).repeat(16, 2) * 60 + rng.integers(0, 20, (400, 16, 16, 1))).astype(np.uint8)
    data = tmp_path / "data.npz"
    np.savez(data, images=images, labels=labels.astype(np.int32))
    source = f"npz:{data}"
    evaluation = f'\n[evaluation]\nevery_epochs = 1\nmetrics = "coverage"\nnum = 40\nextractor = "classifier:{source}"\n'
    recipe_file = tmp_path / "r.toml"
    recipe_file.write_text(tiny_recipe_text(source, steps=2, steps_per_epoch=2, extra=evaluation))
    assert not classifier_path(source).exists()
    run_dir = train(load_recipe(recipe_file), out=tmp_path / "runs", verbose=0)
    assert classifier_path(source).is_file()
    result = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["protocol"]["extractor"] == f"classifier:{source}" and 1 <= result["metrics"]["coverage_classes"] <= 4


def test_a_classifier_is_named_by_its_weights_not_by_its_file(tmp_path, monkeypatch):
    """The protocol's weights_sha256 hashes the weight values: the same weights saved again (a
    .keras file records its save date) keep their name; one changed weight changes it."""
    import time

    import keras

    from ganzoo.metrics.extractors import ClassifierExtractor, classifier_path

    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    labels = np.arange(64) % 2
    images = (np.repeat(labels[:, None, None, None], 16, 1).repeat(16, 2) * 200 + 20).astype(np.uint8)
    np.savez(tmp_path / "data.npz", images=images, labels=labels.astype(np.int32))
    source = f"npz:{tmp_path / 'data.npz'}"
    path, info = train_metric_classifier(source, epochs=1)
    file_hash = short_sha256(path)
    time.sleep(1.1)  # the save date has whole seconds
    model = keras.saving.load_model(path)
    model.save(path)
    assert short_sha256(path) != file_hash
    assert ClassifierExtractor(source).protocol()["weights_sha256"] == info["weights_sha256"]
    kernel = model.get_layer("features").kernel
    kernel.assign(kernel.numpy() + np.eye(*kernel.shape, dtype="float32") * 1e-6)
    model.save(classifier_path(source))
    assert ClassifierExtractor(source).protocol()["weights_sha256"] != info["weights_sha256"]


def test_every_metric_gives_the_keys_a_checkpoint_is_ranked_by():
    """keep_best is checked against each metric's ranking keys (recipes); each must be in the
    metric's result, or a recipe's best/ would never be written, and have one direction."""
    from ganzoo.metrics.extractors import Features
    from ganzoo.metrics.registry import (
        HIGHER,
        LOWER,
        METRICS,
        RANKS,
        lower_is_better,
        ranking_keys,
    )

    rng = np.random.default_rng(0)

    def features(n):
        probabilities = rng.dirichlet(np.ones(5), size=n)
        return Features(rng.normal(size=(n, 8)), probabilities, rng.random((n, 4, 4, 4, 1)) > 0.5)

    real, fake = features(60), features(60)
    assert set(RANKS) == set(METRICS)
    for name, metric in METRICS.items():
        assert RANKS[name] and set(RANKS[name]) <= set(metric(real, fake)), name
        assert set(RANKS[name].values()) <= {LOWER, HIGHER}, name
    keys = ranking_keys()
    assert len(keys) == len(set(keys))  # two metrics giving one key could rank it both ways
    assert ranking_keys(["pr", "fid"]) == ["precision", "recall", "fid"]
    assert [lower_is_better(k) for k in ("fid", "kid", "nn_mmd", "coverage", "is", "recall")] == [True] * 3 + [False] * 3
