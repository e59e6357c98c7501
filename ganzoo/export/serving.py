"""TF Serving files: warmup requests (PredictionLog records) and `models.config`.

Neither needs `tensorflow-serving-api` (whose own dependency on the full `tensorflow` wheel would
install a second TensorFlow beside `tensorflow-cpu`). The warmup records are written in the
protobuf wire format of the four messages involved (PredictionLog > PredictLog > PredictRequest >
ModelSpec, with the inputs as TensorFlow's own TensorProto); `models.config` is protobuf text
format, edited one `config { ... }` block at a time so that whatever else a person wrote in it
stays as written. The tests parse both back with the real `tensorflow_serving` protos.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.files import atomic_write_bytes

WARMUP_FILE = "tf_serving_warmup_requests"
CONFIG_FILE = "models.config"

# Field numbers of tensorflow_serving/apis/{prediction_log,predict,model}.proto.
PREDICTION_LOG_PREDICT_LOG = 6
PREDICT_LOG_REQUEST = 1
PREDICT_REQUEST_MODEL_SPEC, PREDICT_REQUEST_INPUTS = 1, 2
MODEL_SPEC_NAME, MODEL_SPEC_SIGNATURE_NAME = 1, 3
MAP_ENTRY_KEY, MAP_ENTRY_VALUE = 1, 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    """A string, bytes or embedded-message field: tag (wire type 2), length, payload."""
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def predict_request_log(signature: str, inputs: dict[str, np.ndarray], model_name: str = "") -> bytes:
    """One serialized PredictionLog holding a PredictRequest for `signature` with `inputs`."""
    import tensorflow as tf

    spec = _length_delimited(MODEL_SPEC_SIGNATURE_NAME, signature.encode())
    if model_name:
        spec = _length_delimited(MODEL_SPEC_NAME, model_name.encode()) + spec
    request = _length_delimited(PREDICT_REQUEST_MODEL_SPEC, spec)
    for key in sorted(inputs):  # map entries: {key = 1, value = 2}, one field 2 each
        tensor = tf.make_tensor_proto(inputs[key]).SerializeToString()
        entry = _length_delimited(MAP_ENTRY_KEY, key.encode()) + _length_delimited(MAP_ENTRY_VALUE, tensor)
        request += _length_delimited(PREDICT_REQUEST_INPUTS, entry)
    return _length_delimited(PREDICTION_LOG_PREDICT_LOG, _length_delimited(PREDICT_LOG_REQUEST, request))


def write_warmup_requests(directory: Path, inputs_by_signature: dict[str, dict[str, np.ndarray]]) -> Path:
    """assets.extra/tf_serving_warmup_requests: one PredictRequest per signature, replayed by
    TF Serving at load so the first real request does not pay for graph warm-up."""
    import tensorflow as tf

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in inputs_by_signature.items():
            writer.write(predict_request_log(signature, inputs))
    return path


# ------------------------------------------------------------------ models.config (text format)
_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[{}<>:;,\[\]]|[^\s{}<>:;,\[\]"\'#]+')


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of protobuf text format, whitespace and comments dropped."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise GanzooError(f"{CONFIG_FILE}: cannot read the text at character {position}")
        token = match.group()
        if not token.isspace() and not token.startswith("#"):
            tokens.append((token, match.start(), match.end()))
        position = match.end()
    return tokens


def _config_blocks(text: str) -> list[tuple[str, str]]:
    """(name, source text) of every `config { ... }` of `model_config_list { ... }`."""
    tokens = _tokens(text)
    if not tokens:
        return []
    words = [t[0] for t in tokens]
    if words[0] != "model_config_list" or "{" not in words[1:3] or words[-1] != "}":
        raise GanzooError(f"{CONFIG_FILE} holds something other than one model_config_list; edit it by hand")
    blocks, depth, index = [], 0, words.index("{") + 1
    start = name = None
    while index < len(tokens) - 1:
        word = words[index]
        if depth == 0:  # `config {`, `config: {` or `config <`
            opening = index + 2 if words[index + 1] == ":" else index + 1
            if word != "config" or words[opening] not in ("{", "<"):
                raise GanzooError(f"{CONFIG_FILE}: unexpected {word!r} in model_config_list; edit it by hand")
            start, name, depth, index = tokens[index][1], None, 1, opening + 1
            continue
        if word in ("{", "<"):
            depth += 1
        elif word in ("}", ">"):
            depth -= 1
            if depth == 0:
                blocks.append((name, text[start : tokens[index][2]]))
        elif depth == 1 and word == "name" and words[index + 1] == ":":
            name = _unquote(words[index + 2])
        index += 1
    if depth:
        raise GanzooError(f"{CONFIG_FILE}: unbalanced braces; edit it by hand")
    return blocks


def _unquote(token: str) -> str:
    import ast

    return ast.literal_eval(token) if token[:1] in "\"'" else token


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_entry(name: str, base_path: str) -> str:
    return (f"config {{\n    name: {_quote(name)}\n    base_path: {_quote(base_path)}\n"
            f"    model_platform: \"tensorflow\"\n  }}")


def models_config_names(path: Path) -> list[str]:
    return [name for name, _ in _config_blocks(path.read_text())] if path.is_file() else []


def update_models_config(base: Path, name: str) -> Path:
    """Adds (or replaces) the entry for `name` in <base>/models.config; other entries stay as written."""
    path = Path(base) / CONFIG_FILE
    blocks = _config_blocks(path.read_text()) if path.is_file() else []
    entry = config_entry(name, str((Path(base) / name).resolve()))
    texts = [entry if block_name == name else text for block_name, text in blocks]
    if name not in [block_name for block_name, _ in blocks]:
        texts.append(entry)
    atomic_write_bytes(path, ("model_config_list {\n" + "".join(f"  {t}\n" for t in texts) + "}\n").encode())
    return path
