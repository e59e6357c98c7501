"""Measuring 3D generators: a small 3D CNN classifier of a labelled volume source (trained once
and cached, like the MNIST classifier), whose 128-d layer-normalised `features` give a Frechet
distance (not KID: kinds.REFUSED_METRICS), and whose class votes give coverage; and, with no
network, `nna`: 1-NNA, coverage and MMD of the grids themselves under the IoU distance
(stats.nearest_neighbour_stats), and `fragments`: their connected pieces beyond the largest.
Generated grids are thresholded at 0.5 first (what a mesh of them shows); the real data are binary
already. `num` real grids are compared with five times as many generated ones
(GENERATED_PER_REAL) for the classifier's statistics, with `num` for 1-NNA and fragments.

Why layer-normalised features (classifier version 2): version 1's features were a ReLU layer on the
flattened convolutions. On real shapes 15 of its 128 units never fired and one direction held 74%
of the variance, so the distance mostly measured that one direction: two halves of 10,000 grids of
one generator differed by up to 20%, and its ranking of generators disagreed with voxel-space
nearest-neighbour statistics (1-NNA, coverage under IoU). Global pooling and a LayerNorm give
units that all vary, no direction above a third of the variance, a spread of ~5%, and the voxel
statistics' ranking (benchmarks/RESULTS.md)."""

from __future__ import annotations

import functools
import json

import keras
import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.extractors import (
    Extractor,
    Features,
    cache_dir,
    slug,
    weights_sha256,
)
from ganzoo.metrics.session import MetricSession

CLASSIFIER_VERSION = 2  # in the cache's file name: a classifier cached by an older ganzoo is not reused
TRAIN_SHAPES = 3000  # examples the classifier trains on (procedural shapes are made on demand)
# Generated grids per real one. On the version-1 features one 1000-grid draw of a generator moved
# from 47 to 78 between sampling seeds. On version 2 a draw's spread is ~0.1-0.2 on distances near
# 1, and three disjoint pools of five draws still differ by up to 0.27 for one generator
# (benchmarks/RESULTS.md): pooling halves that, and close generators need several seeds.
GENERATED_PER_REAL = 5


def build_volume_classifier(volume_size: int, num_classes: int) -> keras.Model:
    """[0, 1] occupancy -> logits, through three stride-2 3D convolutions, global average pooling, a
    128-unit linear embedding, its LayerNorm (`features`) and a ReLU."""
    layers = keras.layers
    volumes = keras.Input((volume_size,) * 3 + (1,), name="volume")
    x = volumes
    for i, filters in enumerate((16, 32, 64)):
        x = layers.Conv3D(filters, 3, strides=2, padding="same", activation="relu", name=f"conv{i + 1}")(x)
    x = layers.Dense(128, name="embedding")(layers.GlobalAveragePooling3D(name="pool")(x))
    features = layers.LayerNormalization(name="features")(x)
    logits = layers.Dense(num_classes, name="logits")(layers.ReLU(name="relu")(features))
    return keras.Model(volumes, logits, name="volume_classifier")


def volume_classifier_path(source: str, volume_size: int):
    return cache_dir() / "classifiers" / f"volumes-v{CLASSIFIER_VERSION}-{slug(source)}-{volume_size}.keras"


def train_volume_classifier(source: str, volume_size: int, epochs: int = 4, seed: int = 0) -> tuple:
    """Trains the classifier on SOURCE's train split, measures it on its test split, caches it."""
    from ganzoo.data.voxels import load_volumes
    from ganzoo.files import atomic_path, atomic_write_bytes

    train = load_volumes(source, volume_size, "train", max_examples=TRAIN_SHAPES)
    if train.labels is None:
        raise GanzooError(f"{source} has no labels: the volume classifier needs labelled volumes (sub-folders per class)")
    test = load_volumes(source, volume_size, "test", max_examples=1000)
    keras.utils.set_random_seed(seed)
    model = build_volume_classifier(volume_size, train.num_classes)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(train.volumes.astype("float32"), train.labels, batch_size=64, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(test.volumes.astype("float32"), test.labels, batch_size=128, verbose=0)
    path = volume_classifier_path(source, volume_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)
    info = {"source": source, "volume_size": volume_size, "train_examples": len(train.volumes), "epochs": epochs,
            "test_accuracy": float(accuracy), "weights_sha256": weights_sha256(model)}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(info, indent=2).encode())
    return path, info


class VolumeExtractor(Extractor):
    """The cached classifier of a labelled volume source: features and probabilities of grids."""

    def __init__(self, source: str, volume_size: int):
        path = volume_classifier_path(source, volume_size)
        if not path.is_file():
            print(f"ganzoo: training the volume classifier for {source} (once; cached in {path})")
            train_volume_classifier(source, volume_size)
        model = keras.saving.load_model(path)
        self.model = keras.Model(model.input, [model.get_layer("features").output, model.output])
        self.name = f"volume_classifier:{source}"
        self.weights_hash = weights_sha256(model)
        self.resize = "none (grids at the model's size, thresholded at 0.5)"
        self.test_accuracy = json.loads(path.with_suffix(".json").read_text())["test_accuracy"]

    def __call__(self, volumes, batch_size: int = 256) -> Features:
        """Features and class probabilities of grids, which it also keeps, thresholded, as `samples`
        (for the voxel-space statistics)."""
        samples = np.concatenate([self._prepare(volumes[i : i + batch_size]).astype(np.uint8) for i in range(0, len(volumes), batch_size)]
                                 ) if len(volumes) else np.zeros((0, *np.shape(volumes)[1:]), np.uint8)
        result = super().__call__(samples, batch_size)  # thresholded once: the features see exactly these samples
        result.samples = samples
        return result

    def _prepare(self, volumes):
        volumes = np.asarray(volumes)
        scale = 255.0 if volumes.dtype == np.uint8 and volumes.max() > 1 else 1.0
        return (volumes.astype("float32") / scale > 0.5).astype("float32")

    def _batch(self, volumes):
        features, logits = self.model(volumes, training=False)
        return keras.ops.convert_to_numpy(features), keras.ops.convert_to_numpy(keras.ops.softmax(logits))


class VolumeMetricSession(MetricSession):
    """MetricSession for volumes: the volume classifier and the real grids' features of one
    (source, split, size, count); `measure` also gives the real-vs-real floor (the same
    distances between the train and the test split's grids) so a distance has a scale."""

    def __init__(self, source: str, volume_size: int, num: int, split: str = "test"):
        from ganzoo.data.voxels import load_volumes

        self.source, self.split, self.num, self.volume_size = source, split, num, volume_size
        self.extractor = VolumeExtractor(source, volume_size)
        self.real = self.extractor(load_volumes(source, volume_size, split, max_examples=num).volumes)
        self.floors: dict[str, dict[str, float]] = {}  # metric -> its floor, which does not depend on the model

    def features(self, volumes) -> Features:
        return self.extractor(np.asarray(volumes))

    @functools.cached_property
    def other_split(self) -> Features:
        """Real grids of the other split, the floor's: the distance's bias falls with either set's
        size, so as many as the generated side has (`num_generated`, where the split has them;
        1000 against 1000 shapes gave 0.153, 4000 against 1000 0.101); samples of the first
        `num`, as of generated grids (1-NNA compares equal sets)."""
        from ganzoo.data.voxels import load_volumes

        other = "train" if self.split != "train" else "test"
        real = self.features(load_volumes(self.source, self.volume_size, other, max_examples=self.num_generated).volumes)
        real.samples = real.samples[: self.num].copy()
        return real

    def floor(self, metrics: list[str]) -> dict[str, float]:
        """The Frechet distance and the nearest-neighbour statistics of `other_split` against these,
        and its own fragments, for those of them `metrics` asks for (nothing else has a floor,
        and KID is refused); each measured once per session."""
        wanted = [name for name in ("fid", "nna", "fragments") if name in metrics]
        for name in wanted:
            if name not in self.floors:
                self.floors[name] = {f"{key}_real_vs_real": v for key, v in self.compare(self.other_split, [name]).items()}
        return {key: value for name in wanted for key, value in self.floors[name].items()}

    def generated_features(self, model, seed: int) -> Features:
        """Features of GENERATED_PER_REAL x `num` samples: draws of `num` with seeds seed * 5 + 0..4
        (disjoint for different seeds; seed 0's first draw is the one-draw protocol's). The
        samples are the first draw's: 1-NNA compares sets of equal size."""
        draws = [self.features(model.generate(self.num, seed=seed * GENERATED_PER_REAL + i)) for i in range(GENERATED_PER_REAL)]
        return Features(np.concatenate([d.features for d in draws]), np.concatenate([d.probabilities for d in draws]),
                        draws[0].samples)

    def measure(self, model, metrics: list[str], seed: int = 0) -> dict:
        values = self.compare(self.generated_features(model, seed), metrics)
        values.update(self.floor(metrics))
        return self.result(model, values, seed)

    @property
    def num_generated(self) -> int:
        return GENERATED_PER_REAL * self.num

    def result(self, model, values: dict[str, float], seed: int) -> dict:
        result = super().result(model, values, seed)
        result["protocol"]["classifier_test_accuracy"] = round(self.extractor.test_accuracy, 4)
        result["protocol"]["classifier_version"] = CLASSIFIER_VERSION
        if any(key.endswith("_real_vs_real") for key in values):
            result["protocol"]["num_real_floor"] = len(self.other_split.features)  # against num_real
        return result
