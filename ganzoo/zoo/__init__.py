"""The zoo: trained models that load in one line.

    model = ganzoo.from_pretrained("dcgan_mnist")      # or zoo:dcgan_mnist in every command

An entry (`entries/NAME.json`) records the model and its config, the resolved recipe that trained
it, steps, wall time and hardware, the data and its licence, the metrics ganzoo measured (with
their protocol) and the weight file: its name, sha256 and size. Weights are the networks a
generator needs to serve (the task's serving layers: the EMA generator where the model keeps one,
both generators of a CycleGAN, StyleGAN-lite's w average), stored as float16 or float32 arrays in
an `.npz` beside the entry, or at a URL (downloaded once into the cache by keras.utils.get_file).
Every load checks the sha256: a corrupt or swapped file is a one-line error, never a silently
different model. `ganzoo zoo publish RUN --name NAME` writes entries (ganzoo/zoo/publish.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ganzoo.errors import ModelNotFound
from ganzoo.files import file_sha256

PACKAGE_ZOO = Path(__file__).resolve().parent
PREFIX = "zoo:"


def zoo_dir() -> Path:
    """The zoo's folder: the package's own, or $GANZOO_ZOO_DIR (a private zoo; the tests' one)."""
    return Path(os.environ.get("GANZOO_ZOO_DIR") or PACKAGE_ZOO)


def entry_names() -> list[str]:
    return sorted(p.stem for p in (zoo_dir() / "entries").glob("*.json"))


def load_entry(name_or_path: str | Path) -> dict:
    """A zoo entry by name, or an entry file's path (whose weights may be a URL or a file beside it)."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = zoo_dir() / "entries" / f"{name_or_path}.json"
        if not path.is_file():
            raise ModelNotFound(f"no zoo entry {str(name_or_path)!r}; the zoo has: {', '.join(entry_names()) or 'nothing yet'}")
    elif not path.is_file():
        raise ModelNotFound(f"zoo entry file {path} does not exist")
    entry = json.loads(path.read_text())
    entry["_dir"] = str(path.parent)
    return entry


def weights_path(entry: dict) -> Path:
    """The entry's weight file, downloaded into the cache first when it is a URL; sha256-checked."""
    weights = entry["weights"]
    location = weights["file"]
    if "://" in location:
        import keras

        from ganzoo.metrics.extractors import cache_dir

        cache = cache_dir() / "zoo"
        cache.mkdir(parents=True, exist_ok=True)  # get_file falls back to /tmp/.keras for a folder it cannot write
        try:
            path = Path(keras.utils.get_file(fname=f"{entry['name']}-{weights['sha256'][:12]}.npz", origin=location,
                                             file_hash=weights["sha256"], hash_algorithm="sha256",
                                             cache_dir=str(cache), cache_subdir="."))
        except Exception as error:  # noqa: BLE001 - URL, HTTP and hash errors come in many types
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelNotFound(f"zoo entry {entry['name']}: cannot fetch its weights from {location}: {first}") from None
    else:  # a path, absolute or relative to the entry file
        path = Path(location) if os.path.isabs(location) else Path(entry["_dir"]) / location
    if not path.is_file():
        raise ModelNotFound(f"zoo entry {entry['name']}: its weight file {location} is missing")
    digest = file_sha256(path)
    if digest != weights["sha256"]:
        raise ModelNotFound(f"zoo entry {entry['name']}: {path.name} is corrupt or not this model's "
                            f"(sha256 {digest[:12]}..., expected {weights['sha256'][:12]}...)")
    return path


def shipped_layers(model) -> list:
    """What a zoo entry's weights hold: what the model's export serves."""
    from ganzoo.tasks import task_of

    return task_of(model).serving_layers(model)


def weight_arrays(model, dtype: str = "float16") -> dict[str, np.ndarray]:
    """The shipped layers' weights as arrays keyed `<layer index>/<weight index>`; floating-point
    weights in `dtype`, the rest (counters) as they are."""
    arrays = {}
    for i, layer in enumerate(shipped_layers(model)):
        for j, weight in enumerate(layer.get_weights()):
            weight = np.asarray(weight)
            arrays[f"{i}/{j}"] = weight.astype(dtype) if np.issubdtype(weight.dtype, np.floating) else weight
    return arrays


def set_weight_arrays(model, arrays) -> None:
    layers = shipped_layers(model)
    expected = {f"{i}/{j}" for i, layer in enumerate(layers) for j in range(len(layer.weights))}
    if set(arrays) != expected:
        raise ModelNotFound("the zoo weights do not fit this model (its layers differ from the entry's)")
    for i, layer in enumerate(layers):
        current = layer.get_weights()
        layer.set_weights([np.asarray(arrays[f"{i}/{j}"]).astype(w.dtype) for j, w in enumerate(current)])
    if getattr(model, "ema_generator", None) is not None and model.ema_generator in layers:
        model.generator.set_weights(model.ema_generator.get_weights())  # fit continues from the shipped weights


def entry_name(source: str | Path) -> str | None:
    """NAME for a `zoo:NAME` source, else None (a run directory, a file)."""
    text = str(source)
    return text[len(PREFIX):] if text.startswith(PREFIX) else None


def catalog_entry_at(source: str | Path):
    """The catalog entry of the model at `source` (zoo:NAME, a run, its best/ or a .keras file),
    told from its zoo entry, its run's recipe or its .keras config without TensorFlow; None when it
    cannot be told that way (the checks on the loaded model then answer)."""
    from ganzoo.registry import builtin_entry
    from ganzoo.training.runs import model_name_at

    name = entry_name(source)
    return builtin_entry(load_entry(name).get("model") if name is not None else model_name_at(source))


def entry_recipe(entry: dict):
    """The recipe an entry records (the run's resolved recipe.toml)."""
    from ganzoo.recipes import recipe_from_dict, tomllib

    return recipe_from_dict(tomllib.loads(entry["recipe"]), name=entry["name"])


def from_pretrained(name: str | Path):
    """The trained model of zoo entry `name` (or an entry file's path), ready for `generate` /
    `upscale` / `translate` and export. Only the generator side is shipped: continuing training
    needs a discriminator trained alongside it, which the entries do not hold."""
    from ganzoo.models import get_model_class

    entry = load_entry(entry_name(name) or str(name))
    path = weights_path(entry)
    model = get_model_class(entry["model"]).from_config(entry["config"])
    with np.load(path, allow_pickle=False) as arrays:
        set_weight_arrays(model, dict(arrays))
    return model


def card_path(name: str) -> Path:
    return zoo_dir() / "cards" / f"{name}.md"
