"""TF Serving files: warmup requests (PredictionLog records) and `models.config`.

The protos come from `tensorflow-serving-api`, installed with `--no-deps`: its own dependency
on the full `tensorflow` wheel would install a second TensorFlow beside `tensorflow-cpu`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from ganzoo.errors import GanzooError
from ganzoo.images import atomic_write_bytes

WARMUP_FILE = "tf_serving_warmup_requests"
CONFIG_FILE = "models.config"
INSTALL_HINT = "pip install --no-deps tensorflow-serving-api==2.21.0"


def serving_protos():
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
        from tensorflow_serving.config import model_server_config_pb2
    except ImportError:
        raise GanzooError(f"TF Serving protos are missing; install them with: {INSTALL_HINT}") from None
    return model_pb2, predict_pb2, prediction_log_pb2, model_server_config_pb2


def write_warmup_requests(directory: Path, inputs_by_signature: dict[str, dict[str, np.ndarray]]) -> Path:
    """assets.extra/tf_serving_warmup_requests: one PredictRequest per signature, replayed by
    TF Serving at load so the first real request does not pay for graph warm-up."""
    model_pb2, predict_pb2, prediction_log_pb2, _ = serving_protos()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in inputs_by_signature.items():
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(path: Path) -> list:
    _, _, prediction_log_pb2, _ = serving_protos()
    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        logs.append(prediction_log_pb2.PredictionLog.FromString(record.numpy()))
    return logs


def read_models_config(path: Path):
    from google.protobuf import text_format

    _, _, _, config_pb2 = serving_protos()
    config = config_pb2.ModelServerConfig()
    if path.is_file():
        text_format.Parse(path.read_text(), config)
    return config


def update_models_config(base: Path, name: str) -> Path:
    """Adds (or updates) the entry for `name` in <base>/models.config and keeps the others."""
    from google.protobuf import text_format

    path = Path(base) / CONFIG_FILE
    config = read_models_config(path)
    entries = config.model_config_list.config
    entry = next((e for e in entries if e.name == name), None) or entries.add()
    entry.name = name
    entry.base_path = str((Path(base) / name).resolve())
    entry.model_platform = "tensorflow"
    atomic_write_bytes(path, text_format.MessageToString(config).encode())
    return path
