"""The README's Python snippets run as they stand. The only edits are the substitutions listed
in each test (a tiny preset, fewer steps, a test server's port), and each must still apply, so a
snippet that changes is caught here rather than by a user."""

from __future__ import annotations

import re
from concurrent import futures

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO

import ganzoo
from ganzoo.export import export_saved_model


def python_blocks(path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def edited(code: str, substitutions: dict[str, str]) -> str:
    for old, new in substitutions.items():
        assert old in code, f"the snippet no longer says {old!r}: update this test with it"
        code = code.replace(old, new)
    return code


def run(code: str, where: str) -> dict:
    namespace: dict = {"__name__": "readme"}
    exec(compile(code, where, "exec"), namespace)
    return namespace


def test_every_python_snippet_is_run_here():
    assert len(python_blocks(REPO / "README.md")) == 1
    assert len(python_blocks(REPO / "saved_models" / "README.md")) == 2


def test_python_api_snippet(tmp_path, monkeypatch, tfds_dir):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    monkeypatch.chdir(tmp_path)
    [snippet] = python_blocks(REPO / "README.md")
    code = edited(snippet, {'preset="mnist", latent_dim=64': 'preset="tiny", latent_dim=8',
                            "epochs=5, steps_per_epoch=200": "epochs=1, steps_per_epoch=3"})
    namespace = run(code, "README.md")
    model, images = namespace["model"], namespace["images"]
    assert images.shape == (16, 16, 16, 1) and int(model.g_optimizer.iterations) == 3
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "dcgan.keras").generate(16, seed=1), images)


@pytest.fixture(scope="module")
def served_dcgan(tmp_path_factory):
    """A tiny DCGAN exported where the serving README's snippets expect saved_models/dcgan/1."""
    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("dcgan", "tiny")
    root = tmp_path_factory.mktemp("serving")
    version_dir = export_saved_model(model, root / "saved_models", "dcgan", ["int8"])
    return model, root, version_dir


def test_tflite_snippet(served_dcgan, monkeypatch):
    model, root, _ = served_dcgan
    monkeypatch.chdir(root)
    snippet = next(b for b in python_blocks(REPO / "saved_models" / "README.md") if "Interpreter" in b)
    namespace = run(edited(snippet, {"(4, 100)": f"(4, {model.latent_dim})"}), "saved_models/README.md")
    images = namespace["images"]
    assert images.shape == (4, 16, 16, 1)
    expected = model.generate(namespace["latents"])
    assert 10 * np.log10(4.0 / np.mean((images - expected) ** 2)) > 25  # int8 against Keras, the export's gate


def test_grpc_client_snippet_against_a_prediction_service(served_dcgan, monkeypatch):
    """The gRPC client, talking to an in-process PredictionService that runs the SavedModel's
    signatures (no tensorflow_model_server binary is available here)."""
    grpc = pytest.importorskip("grpc")
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    model, root, version_dir = served_dcgan
    signatures = tf.saved_model.load(str(version_dir)).signatures

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 - the gRPC method name
            assert request.model_spec.name == "dcgan"
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            outputs = signatures[request.model_spec.signature_name](**inputs)
            response = predict_pb2.PredictResponse()
            for name, value in outputs.items():
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    try:
        monkeypatch.chdir(root)
        snippet = next(b for b in python_blocks(REPO / "saved_models" / "README.md") if "grpc" in b)
        code = edited(snippet, {"localhost:8500": f"localhost:{port}", "(2, 100)": f"(2, {model.latent_dim})"})
        namespace = run(code, "saved_models/README.md")
    finally:
        server.stop(None)
    images, floats, same = namespace["images"], namespace["floats"], namespace["same"]
    assert images.dtype == np.uint8 and images.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(floats, model.generate(namespace["latents"]), atol=1e-5)
    assert same.shape == (4, 16, 16, 1)
    np.testing.assert_array_equal(tf.io.decode_png((root / "first.png").read_bytes()).numpy(), same[0])
