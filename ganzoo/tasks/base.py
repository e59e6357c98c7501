"""The `Task` interface: everything that differs by kind of model, asked for by the trainer, the
export, verify-export and the benchmarks. A model names its task once (`GAN.task`); a new kind of
model is one new subclass here, registered in `ganzoo/tasks/__init__.py`."""

from __future__ import annotations

import abc
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganzoo.export.gates import Check

Panel = tuple[np.ndarray, "int | None"]  # images in [-1, 1] and the grid's column count


@dataclass(frozen=True)
class TrainingData:
    dataset: Any  # a tf.data.Dataset of the model's kind of batch, from the resumed step on
    description: str  # for the run header and model card
    preview: Any = None  # the fixed real inputs the TensorBoard panel shows the model, if any


@dataclass(frozen=True)
class ServingLimits:
    """Bounds an export fixes for every request (its signatures check them in the graph)."""

    max_pixels: int = 4 * 2**20  # of one input image (2048 x 2048): a request cannot take a server's memory
    tile: int = 128  # LR pixels per side of a super-resolution tile: memory grows with the tile, not the image


@dataclass(frozen=True)
class TFLiteNetwork:
    function: Any  # a tf.function with a full input signature: what the .tflite file computes
    layers: list  # what the conversion's SavedModel must track (the networks the function reads)


class Task(abc.ABC):
    """Base class; each method says what the kind of model provides."""

    name: str = ""
    use: str = "sampling"  # what a model of this kind is run for (its zoo card's Intended use)
    evaluation_metrics: tuple[str, ...] = ("fid", "kid", "pr", "coverage")  # `ganzoo evaluate`'s default
    distance_name: str = "FID"  # what tables and plots call the `fid` result of this kind

    # ------------------------------------------------------------------------- training
    @abc.abstractmethod
    def training_data(self, recipe, model, step: int) -> TrainingData:
        """The recipe's data as the stream of batches `model.train_step` takes, from `step` on."""

    @abc.abstractmethod
    def panels(self, model, preview, count: int, seed: int) -> dict[str, Panel]:
        """TensorBoard's image panels, by name ("samples" first: also the run's samples.png)."""

    @abc.abstractmethod
    def measure(self, model, recipe, **options) -> dict:
        """The zoo's quality protocol for this kind: {"metrics": {...}, "protocol": {...}} of a
        trained model, on the recipe's data (its test split where there is one)."""

    def card_samples(self, model, recipe, **options) -> Panel:
        """A zoo card's sample grid (images in [-1, 1], columns): the "samples" panel by default;
        kinds that transform images show some of the recipe's or a benchmark's own (`options` as
        for `measure`)."""
        return self.panels(model, None, 36, recipe.train.seed)["samples"]

    def limitations(self, model) -> str:
        """What a model card adds to its Limitations for this kind of model ("" when nothing)."""
        return ""

    def metric_session(self, model, source: str, num: int, extractor: str | None = None, split: str = "test",
                       data_dir: str | None = None, inception_weights: str | None = None, train_missing: bool = False):
        """What `ganzoo evaluate` and a recipe's [evaluation] measure a model with: an object whose
        `measure(model, metrics, seed)` gives {"metrics", "protocol", ...} (image features here)."""
        from ganzoo.metrics.session import MetricSession

        return MetricSession(source, model.image_shape, num, extractor, split, inception_weights, data_dir, train_missing)

    def check_metrics(self, names: list[str]) -> list[str]:
        """`names` (registered metrics), or a one-line error for one this kind cannot give."""
        from ganzoo import kinds
        from ganzoo.errors import GanzooError

        if (refused := kinds.refused_metric(self.name, names)) is not None:
            raise GanzooError(f"metrics: {refused}")
        return names

    def usable_metrics(self, names: list[str]) -> list[str]:
        """`names` without those this kind cannot give (for a fixed list that serves every kind)."""
        from ganzoo import kinds

        return [name for name in names if name not in kinds.REFUSED_METRICS.get(self.name, {})]

    def write_samples(self, model, out: Path, num: int, seed: int, labels=None, **options) -> Path:
        """`num` samples as a PNG grid, a `.npz` of uint8 images or a folder of PNGs, a batch at a
        time (what `ganzoo sample` writes; tasks without sampling refuse)."""
        from ganzoo.errors import GanzooError

        raise GanzooError(f"{model.registry_name} ({self.name} model) does not sample: it takes inputs")

    @abc.abstractmethod
    def headline(self, metrics: dict) -> str:
        """The few figures the zoo's table shows of `measure`'s metrics."""

    @abc.abstractmethod
    def bench_dataset(self, model, batch: int) -> tuple[Any, str]:
        """Batches for `ganzoo bench train` as the recipes' pipelines make them, and what they are."""

    # --------------------------------------------------------------------------- export
    @abc.abstractmethod
    def serving_functions(self, model, limits: ServingLimits = ServingLimits()) -> dict[str, Any]:
        """The SavedModel's named signatures (tf.functions with input signatures), bounded by `limits`."""

    def serving_layers(self, model) -> list:
        """What the SavedModel tracks: the networks (and buffers) its signatures read."""
        return [model.sampling_generator]

    @abc.abstractmethod
    def warmup_inputs(self, model) -> dict[str, dict[str, np.ndarray]]:
        """One request per signature for TF Serving's warmup file."""

    @abc.abstractmethod
    def reference(self, model) -> dict[str, np.ndarray]:
        """Keras' own outputs for fixed inputs, stored with the export for verify-export."""

    @abc.abstractmethod
    def tflite_networks(self, model) -> dict[str, TFLiteNetwork]:
        """The .tflite files of one mode, by file-name suffix ("" for a single file)."""

    @abc.abstractmethod
    def calibration_inputs(self, model) -> list[dict[str, np.ndarray]]:
        """Full-int8 calibration samples, one input dict each (no training data at export time)."""

    def tflite_form(self, model, mode: str):
        """A context in which `model` is converted in `mode` (the same function, in a form that
        quantizes better); the model as it is by default."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def verify(self, signatures, reference: dict, tflite_files: list, run_tflite: Callable) -> list[Check]:
        """Every SavedModel signature and .tflite file of an export against `reference`."""

    @abc.abstractmethod
    def bench_serve_inputs(self, reference: dict, batch: int) -> tuple[str, dict, dict]:
        """(SavedModel signature, its inputs, the .tflite files' inputs) for `batch` items, made
        from an export's reference inputs: what `ganzoo bench serve` times."""


def percent(fraction: float) -> str:
    """A fraction as headlines show it: whole percent where that is exact, else one decimal rounded
    down (0.995 is "99.5%", 0.9999 "99.9%": never "100%" for less)."""
    tenths = round(fraction * 1000, 6)
    return f"{round(tenths) // 10}%" if tenths % 10 == 0 else f"{math.floor(tenths) / 10:.1f}%"


def classes(count: float) -> str:
    """A class count as headlines show it: "1 class", "10 classes"."""
    return f"{int(count)} class" + ("" if int(count) == 1 else "es")


def resized(array: np.ndarray, batch: int) -> np.ndarray:
    """`array` repeated (or cut) along its first axis to `batch` items."""
    return np.resize(array, (batch, *np.shape(array)[1:])).astype(np.asarray(array).dtype)
