"""Feature extractors for the metrics: InceptionV3 pool features (the standard) and a small
classifier that ganzoo trains on a labelled dataset and caches (for MNIST-like sets).

Both take uint8 images [N, H, W, C] and return float features [N, D] and class probabilities
[N, K]. Every extractor names itself and the hash of its weights, so a result says exactly what
measured it.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.files import file_sha256
from ganzoo.images import to_signed
from ganzoo.metrics.classifier import build_classifier


def cache_dir() -> Path:
    """$GANZOO_CACHE, else ~/.cache/ganzoo."""
    return Path(os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def short_sha256(path: Path) -> str:
    """The first 16 hex digits of a file's sha256: how results name a published weight file."""
    return file_sha256(path)[:16]


def weights_sha256(model: keras.Model) -> str:
    """The first 16 hex digits of the sha256 of a model's weight values (dtype, shape and bytes of
    each, in order): how results name a trained classifier. Not the .keras file's hash: the file
    records when it was saved, so the same weights saved twice would read as two classifiers."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


@dataclass
class Features:
    features: np.ndarray
    probabilities: np.ndarray
    samples: np.ndarray | None = None  # binary samples for voxel-space statistics (volumes only)


class Extractor(abc.ABC):
    name: str
    weights_hash: str
    resize: str

    def __call__(self, images_uint8: np.ndarray, batch_size: int = 256) -> Features:
        features, probabilities = [], []
        for start in range(0, len(images_uint8), batch_size):
            f, p = self._batch(self._prepare(images_uint8[start : start + batch_size]))
            features.append(np.asarray(f, np.float32))
            probabilities.append(np.asarray(p, np.float32))
        return Features(np.concatenate(features), np.concatenate(probabilities))

    @abc.abstractmethod
    def _prepare(self, images: np.ndarray):
        """uint8 images -> the network's input."""

    @abc.abstractmethod
    def _batch(self, images):
        """Prepared images -> (features, probabilities)."""

    def protocol(self) -> dict:
        return {"extractor": self.name, "weights_sha256": self.weights_hash, "resize": self.resize}


# --------------------------------------------------------------------------- classifier
def classifier_path(source: str) -> Path:
    return cache_dir() / "classifiers" / f"{slug(source)}.keras"


def train_metric_classifier(source: str, epochs: int = 3, max_examples: int | None = None, data_dir: str | None = None,
                            seed: int = 0) -> tuple[Path, dict]:
    """Trains the feature classifier on SOURCE's train split, measures it on the test split and
    caches it (the file is replaced atomically). Returns (path, info)."""
    from ganzoo.data import load_images
    from ganzoo.files import atomic_path, atomic_write_bytes

    train = load_images(source, None, split="train", data_dir=data_dir, max_examples=max_examples)
    if train.labels is None:
        raise GanzooError(f"{source} has no labels: a metric classifier needs a labelled dataset")
    test = load_images(source, train.images.shape[1:], split="test", data_dir=data_dir, max_examples=max_examples)
    keras.utils.set_random_seed(seed)
    model = build_classifier(train.images.shape[1:], train.num_classes)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(to_signed(train.images), train.labels, batch_size=128, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(to_signed(test.images), test.labels, batch_size=512, verbose=0)
    path = classifier_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)
    info = {"source": source, "train_examples": len(train.images), "epochs": epochs, "test_accuracy": float(accuracy),
            "weights_sha256": weights_sha256(model)}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(info, indent=2).encode())
    return path, info


class ClassifierExtractor(Extractor):
    """The cached classifier of a labelled dataset: 128-d features, softmax probabilities."""

    def __init__(self, source: str):
        path = classifier_path(source)
        if not path.is_file():
            raise GanzooError(f"no metric classifier for {source}: run `ganzoo metrics train-classifier {source}` first")
        model = keras.saving.load_model(path)
        self.input_shape = tuple(model.input_shape[1:])
        self.model = keras.Model(model.input, [model.get_layer("features").output, model.output])
        self.name = f"classifier:{source}"
        self.weights_hash = weights_sha256(model)
        self.resize = f"bilinear to {self.input_shape[0]}x{self.input_shape[1]} when the size differs"

    def _prepare(self, images):
        if images.shape[1:3] != self.input_shape[:2]:
            images = keras.ops.convert_to_numpy(keras.ops.image.resize(images.astype("float32"), self.input_shape[:2]))
        images = np.asarray(images, "float32")
        if images.shape[-1] != self.input_shape[-1]:
            images = images.mean(axis=-1, keepdims=True) if self.input_shape[-1] == 1 else np.repeat(images, 3, axis=-1)
        return to_signed(images)

    def _batch(self, images):
        features, logits = self.model(images, training=False)
        return keras.ops.convert_to_numpy(features), keras.ops.convert_to_numpy(keras.ops.softmax(logits))


# ---------------------------------------------------------------------------- inception
class InceptionExtractor(Extractor):
    """InceptionV3 with its ImageNet classifier: 2048-d `avg_pool` features and the 1000-way
    softmax (for the Inception Score). `weights` is "imagenet" (Keras downloads and caches the
    file) or the path of that file (inception_v3_weights_tf_dim_ordering_tf_kernels.h5)."""

    SIZE = 299

    def __init__(self, weights: str = "imagenet"):
        if weights != "imagenet" and not Path(weights).is_file():
            raise GanzooError(f"InceptionV3 weights file {weights} does not exist")
        try:
            model = keras.applications.InceptionV3(include_top=True, weights=weights)
        except Exception as error:  # noqa: BLE001 - download and h5 errors come in many types
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise GanzooError(f"cannot load InceptionV3 ImageNet weights ({first}); download "
                              "inception_v3_weights_tf_dim_ordering_tf_kernels.h5 and give its path as the Inception weights") from None
        self.model = keras.Model(model.input, [model.get_layer("avg_pool").output, model.output])
        self.name = "inception_v3"
        cached = Path.home() / ".keras" / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
        path = Path(weights) if weights != "imagenet" else cached
        self.weights_hash = short_sha256(path) if path.is_file() else "unknown"
        self.resize = "bilinear to 299x299, gray repeated to RGB"

    def _prepare(self, images):
        images = images.astype("float32")
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        images = keras.ops.image.resize(images, (self.SIZE, self.SIZE), interpolation="bilinear")
        return to_signed(keras.ops.convert_to_numpy(images))  # Inception's own [-1, 1] scaling

    def _batch(self, images):
        features, probabilities = self.model(images, training=False)
        return keras.ops.convert_to_numpy(features), keras.ops.convert_to_numpy(probabilities)


def get_extractor(name: str, inception_weights: str | None = None) -> Extractor:
    """`inception` or `classifier:<labelled source>` (e.g. classifier:tfds:mnist)."""
    if name == "inception":
        return InceptionExtractor(inception_weights or "imagenet")
    if name.startswith("classifier:"):
        return ClassifierExtractor(name.split(":", 1)[1])
    raise GanzooError(f"unknown feature extractor {name!r}: use 'inception' or 'classifier:<source>'")
