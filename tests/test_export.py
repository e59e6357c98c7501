"""Export for every registered model: SavedModel in TF Serving layout, TFLite in LiteRT, and
verify-export's gates, each artifact loaded in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.export import export_saved_model, update_models_config
from ganzoo.export.serving import models_config_names
from ganzoo.export.tflite import TFLITE_MODES, run_tflite
from ganzoo.registry import get_model_class

# The generative contract (latents in, images out); srgan has its own tests (test_srgan.py).
# stylegan_lite adds truncation and style signatures: tests/test_stylegan.py checks its export.
MODELS = [name for name in ganzoo.list_models() if get_model_class(name).task == "generation"]
SIGNATURES = {"serving_default", "generate", "sample", "sample_png"}


def inputs_for(model, count, seed):
    """Valid `latent` (+ `label`) inputs for the latent signatures and the TFLite files."""
    inputs = {"latent": model.sample_latents(count, seed=seed)}
    if model.num_classes:
        inputs["label"] = (np.arange(count) % model.num_classes).astype(np.int32)
    return inputs


def sample_inputs(model, seed, count):
    inputs = {"seed": tf.constant(seed, tf.int64), "num_samples": tf.constant(count, tf.int32)}
    if model.num_classes:
        inputs["label"] = tf.constant(3, tf.int32)
    return inputs


def tiny(name):
    keras.utils.set_random_seed(1)
    model = ganzoo.create_model(name, "tiny")
    model.compile()
    return model


@pytest.fixture(scope="module", params=MODELS)
def exported(request, tmp_path_factory):
    model = tiny(request.param)
    base = tmp_path_factory.mktemp("saved_models")
    model_file = base.parent / f"{request.param}.keras"
    model.save(model_file)
    result = CliRunner().invoke(main, ["export", str(model_file), "--base", str(base), "--tflite", ",".join(TFLITE_MODES)])
    assert result.exit_code == 0, result.output
    return model, base, base / model.registry_name / "1"


def test_layout_and_tflite_files(exported):
    model, base, version_dir = exported
    assert (version_dir / "saved_model.pb").is_file() and (version_dir / "variables").is_dir()
    names = sorted(p.name for p in (version_dir / "tflite").iterdir())
    assert names == sorted(f"{model.registry_name}.{m}.tflite" for m in TFLITE_MODES)
    sizes = {m: (version_dir / "tflite" / f"{model.registry_name}.{m}.tflite").stat().st_size for m in TFLITE_MODES}
    assert sizes["float16"] < sizes["float32"] and sizes["int8"] < sizes["float32"]


def test_saved_model_cli_lists_the_signatures(exported):
    _, _, version_dir = exported
    cli = [sys.executable, "-c", "from tensorflow.python.tools.saved_model_cli import main; main()"]
    out = subprocess.run([*cli, "show", "--dir", str(version_dir), "--all"], capture_output=True, text=True, check=True).stdout
    for signature in SIGNATURES:
        assert f"signature_def['{signature}']" in out
    assert "tag-set: 'serve'" in out.replace('"', "'") or "serve" in out
    for name in ("latent", "seed", "num_samples", "png_bytes", "images") + (("label",) if exported[0].num_classes else ()):
        assert f"['{name}']" in out
    # Clients (and TF Serving's metadata endpoint) see every input's shape: no unknown_rank.
    generate = out.split("signature_def['generate']")[1].split("signature_def[")[0]
    assert f"shape: (-1, {exported[0].latent_dim})" in generate
    ours = [out.split(f"signature_def['{name}']")[1].split("signature_def[")[0] for name in SIGNATURES]
    assert not any("unknown_rank" in section for section in ours)
    sample = out.split("signature_def['sample']")[1].split("signature_def[")[0]
    assert sample.count("shape: ()") == 2 + bool(exported[0].num_classes)


def test_verify_export_passes_in_a_fresh_process(exported):
    _, _, version_dir = exported
    result = subprocess.run([sys.executable, "-m", "ganzoo.cli", "verify-export", str(version_dir)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.endswith(" ok")]
    assert len(rows) == 4 + len(TFLITE_MODES), result.stdout


def test_signatures_match_keras(exported):
    model, _, version_dir = exported
    signatures = tf.saved_model.load(str(version_dir)).signatures
    inputs = inputs_for(model, 3, seed=5)
    served = signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})["images"].numpy()
    assert served.dtype == np.uint8 and served.shape == (3,) + model.image_shape
    expected = np.clip(np.round((model.generate(inputs["latent"], labels=inputs.get("label")) + 1) * 127.5), 0, 255)
    assert np.abs(served.astype(int) - expected).max() <= 1
    # `sample` draws the same latents as model.generate(num, seed): same images on any server.
    sampled = signatures["sample"](**sample_inputs(model, 9, 2))["images"].numpy()
    labels = 3 if model.num_classes else None
    assert np.abs(sampled.astype(int) - np.round((model.generate(2, seed=9, labels=labels) + 1) * 127.5)).max() <= 1
    pngs = signatures["sample_png"](**sample_inputs(model, 9, 2))["png_bytes"].numpy()
    np.testing.assert_array_equal(tf.io.decode_png(pngs[1]).numpy(), sampled[1])


BAD_INPUTS = [
    ("serving_default", {"latent": np.zeros((2, 3), np.float32)}, "latent"),
    ("generate", {"latent": np.full((2, 16), np.nan, np.float32)}, "latent"),  # 16: the tiny presets' latent_dim
    ("generate", {"latent": np.array([[np.inf] * 16], np.float32)}, "latent"),
    ("generate", {"latent": np.zeros((16,), np.float32)}, "latent"),
    ("serving_default", {"latent": np.zeros((2, 2, 2), np.float32)}, "latent"),
    ("generate", {"latent": np.zeros((1, 999), np.float32)}, "latent"),
    ("sample", {"num_samples": np.int32(0)}, "num_samples"),
    ("sample", {"num_samples": np.int32(100000)}, "num_samples"),
    ("sample_png", {"seed": np.array([1, 2], np.int64)}, "seed"),
    ("serving_default", {"label": np.array([0, 99], np.int32)}, "label"),  # conditional models only
    ("generate", {"label": np.array([1], np.int32)}, "label"),
    ("sample", {"label": np.int32(-1)}, "label"),
]


@pytest.mark.parametrize("signature, bad, name", BAD_INPUTS)
def test_bad_input_names_the_input(exported, signature, bad, name):
    model, _, version_dir = exported
    if name == "label" and not model.num_classes:
        pytest.skip("unconditional models take no label")
    good = inputs_for(model, 2, seed=0) if signature in ("serving_default", "generate") else sample_inputs(model, 1, 2)
    function = tf.saved_model.load(str(version_dir)).signatures[signature]
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"\b{name}\b"):
        function(**{k: tf.constant(v) for k, v in {**good, **bad}.items()})


def test_tflite_inputs_of_the_wrong_rank_are_refused(exported):
    """LiteRT itself resizes inputs to any rank and runs; run_tflite (verify-export, bench serve)
    checks them against the file's declared shapes first."""
    from ganzoo.errors import GanzooError

    model, _, version_dir = exported
    path = version_dir / "tflite" / f"{model.registry_name}.float32.tflite"
    good = inputs_for(model, 2, seed=1)
    for bad in (good["latent"][0], good["latent"][None], good["latent"][:, :-1]):
        with pytest.raises(GanzooError, match=rf"TFLite input latent must have shape \[batch, {model.latent_dim}\]"):
            run_tflite(path, {**good, "latent": bad})


def test_tflite_runs_any_batch_size(exported):
    model, _, version_dir = exported
    for batch in (1, 5):
        inputs = inputs_for(model, batch, seed=batch)
        out = run_tflite(version_dir / "tflite" / f"{model.registry_name}.float32.tflite", inputs)
        np.testing.assert_allclose(out["images"], model.generate(inputs["latent"], labels=inputs.get("label")), atol=1e-4)


def test_warmup_records_and_models_config_parse(exported):
    model, base, version_dir = exported
    logs = read_warmup_requests(version_dir / "assets.extra" / "tf_serving_warmup_requests")
    assert {log.predict_log.request.model_spec.signature_name for log in logs} == SIGNATURES
    request = next(log.predict_log.request for log in logs if log.predict_log.request.model_spec.signature_name == "generate")
    assert tf.make_ndarray(request.inputs["latent"]).shape == (2, model.latent_dim)
    assert ("label" in request.inputs) == bool(model.num_classes)
    entries = read_models_config(base / "models.config").model_config_list.config
    assert [(e.name, e.model_platform) for e in entries] == [(model.registry_name, "tensorflow")]
    assert entries[0].base_path == str((base / model.registry_name).resolve())


def read_warmup_requests(path):
    """The records as TF Serving reads them: the real PredictionLog proto (tensorflow-serving-api,
    installed for the tests only; ganzoo writes the wire format itself)."""
    from tensorflow_serving.apis import prediction_log_pb2

    return [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]


def read_models_config(path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())


def test_warmup_records_equal_the_inputs_request_by_request(exported):
    """Every record parses with TF Serving's own protos into exactly the request for one signature
    with the export's example inputs (dtype, shape and values)."""
    from ganzoo.tasks import task_of

    model, _, version_dir = exported
    logs = read_warmup_requests(version_dir / "assets.extra" / "tf_serving_warmup_requests")
    expected = task_of(model).warmup_inputs(model)
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * len(expected)
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == list(expected)
    for log in logs:
        request = log.predict_log.request
        inputs = expected[request.model_spec.signature_name]
        assert set(request.inputs) == set(inputs) and not request.model_spec.name
        for key, value in inputs.items():
            parsed = tf.make_ndarray(request.inputs[key])
            assert parsed.dtype == np.asarray(value).dtype and parsed.shape == np.shape(value)
            np.testing.assert_array_equal(parsed, value)


def test_models_config_edits_keep_what_a_person_wrote(tmp_path):
    """models.config is TF Serving's text format: ganzoo replaces its own entry and leaves the
    others (with fields it does not know, comments) as they were."""
    hand_written = """# served models
model_config_list {
  config {
    name: "other"
    base_path: "/models/other"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 versions: 3 } }
    version_labels { key: "stable" value: 3 }
  }
  config: { name: "a" base_path: "/old/a" model_platform: "tensorflow" }
}
"""
    (tmp_path / "models.config").write_text(hand_written)
    update_models_config(tmp_path, "a")
    update_models_config(tmp_path, "b")
    config = read_models_config(tmp_path / "models.config")
    entries = {e.name: e for e in config.model_config_list.config}
    assert list(entries) == ["other", "a", "b"] == models_config_names(tmp_path / "models.config")
    assert list(entries["other"].model_version_policy.specific.versions) == [1, 3]
    assert entries["other"].version_labels["stable"] == 3
    assert entries["a"].base_path == str((tmp_path / "a").resolve())
    (tmp_path / "models.config").write_text("model_config_list { config { name: 'x' }")
    with pytest.raises(ganzoo.errors.GanzooError, match="unbalanced"):
        update_models_config(tmp_path, "a")


def test_versions_are_never_overwritten_and_config_keeps_other_models(tmp_path):
    model = tiny("dcgan")
    first = export_saved_model(model, tmp_path, "a")
    marker = (first / "saved_model.pb").stat().st_mtime_ns
    second = export_saved_model(model, tmp_path, "a")
    assert (first.name, second.name) == ("1", "2")
    assert (first / "saved_model.pb").stat().st_mtime_ns == marker
    update_models_config(tmp_path, "a")
    update_models_config(tmp_path, "b")
    update_models_config(tmp_path, "a")
    names = [e.name for e in read_models_config(tmp_path / "models.config").model_config_list.config]
    assert names == ["a", "b"]
    assert not list(tmp_path.glob("a/.staging*"))


def test_verify_export_fails_on_a_broken_export(exported, tmp_path):
    import shutil

    model, _, version_dir = exported
    broken = tmp_path / "1"
    shutil.copytree(version_dir, broken)
    reference = dict(np.load(broken / "assets.extra" / "ganzoo_reference.npz"))
    reference["images"] = reference["images"] * 0.5  # the "Keras" side no longer agrees
    np.savez(broken / "assets.extra" / "ganzoo_reference.npz", **reference)
    result = CliRunner().invoke(main, ["verify-export", str(broken)])
    assert result.exit_code == 1 and "gate(s) failed" in result.output and "FAIL" in result.output


def test_export_cli_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(tmp_path), "--base", str(tmp_path / "sm")])
    assert result.exit_code == 1 and "neither a run directory, a run's best/ nor a .keras file" in result.output
    model_file = tmp_path / "m.keras"
    tiny("dcgan").save(model_file)
    result = runner.invoke(main, ["export", str(model_file), "--tflite", "float32,int4"])
    assert result.exit_code == 1 and "unknown TFLite mode 'int4'" in result.output
    for name in ("bad name", "..", ".", "../x", "-rf"):
        result = runner.invoke(main, ["export", str(model_file), "--name", name, "--base", str(tmp_path / "base" / "sm")])
        assert result.exit_code == 1 and "must be one path component" in result.output, (name, result.output)
    # Nothing was written outside --base (or inside it): no folder, no models.config entry.
    assert not (tmp_path / "base").exists() and not (tmp_path / "models.config").exists()


def test_bench_export_prints_its_table():
    result = CliRunner().invoke(main, ["bench", "export", "--preset", "tiny", "--repeats", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[1].split()[:3] == ["format", "ms/image", "p50"]
    formats = [line.split()[0] + (" " + line.split()[1] if line.startswith("TFLite") else "") for line in lines[2:]]
    assert formats == ["SavedModel"] + [f"TFLite {m}" for m in TFLITE_MODES]
    for line in lines[2:]:
        assert float(line.split()[-4]) > 0  # a measured latency, not a placeholder


def test_export_serves_the_ema_generator(tmp_path):
    keras.utils.set_random_seed(2)
    model = ganzoo.create_model("dcgan", "tiny", ema_decay=0.5)
    model.compile()
    data = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)).astype("float32"))
    model.fit(data.batch(8), epochs=1, verbose=0)
    # Move the raw generator well away from its average: the export must not follow it.
    model.generator.set_weights([w + 0.1 for w in model.generator.get_weights()])
    version_dir = export_saved_model(model, tmp_path, "ema", ["float32"])
    latents = model.sample_latents(2, seed=3)
    served = tf.saved_model.load(str(version_dir)).signatures["generate"](latent=tf.constant(latents))["images"]
    np.testing.assert_allclose(served.numpy(), model.generate(latents), atol=1e-5)
    assert not np.allclose(served.numpy(), model.generator(latents, training=False), atol=1e-3)
    tflite = run_tflite(version_dir / "tflite" / "ema.float32.tflite", {"latent": latents})["images"]
    np.testing.assert_allclose(tflite, model.generate(latents), atol=1e-4)
