"""Loading real images into memory at the model's shape: tfds, an image folder, a zip of images,
or `.npz`.

Data is decoded and resized once, here, and held as uint8; the training pipeline then only
gathers and rescales batches (no decoding or Python in the hot path).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganzoo.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
_CHUNK = 2048
# Decoded images held at full size before they are fitted (fitting resizes a run in float32: 4x).
_FIT_RUN, _FIT_RUN_BYTES = 256, 64 << 20


@dataclass(frozen=True)
class ImageData:
    images: np.ndarray  # uint8 [N, H, W, C]
    labels: np.ndarray | None  # int32 [N] or None
    description: str

    @property
    def num_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.max()) + 1


SOURCE_KINDS = ("tfds", "folder", "zip", "npz", "fetch", "shapes")  # shapes:N: procedural volumes (data/voxels.py)


def parse_source(source: str) -> tuple[str, str]:
    """'tfds:mnist' -> ('tfds', 'mnist'); also 'folder:DIR', 'zip:FILE', 'npz:FILE' and
    'fetch:NAME' (a dataset of ganzoo's catalogue, data/catalog.py)."""
    kind, sep, target = source.partition(":")
    if not sep or kind not in SOURCE_KINDS or not target:
        raise DataError(f"data source {source!r} must be 'tfds:NAME', 'folder:DIR', 'zip:FILE', 'npz:FILE', 'fetch:NAME' "
                        "or (volumes) 'shapes:N'")
    if kind == "fetch":
        from ganzoo.data.catalog import get_dataset

        get_dataset(target)  # an unknown name fails here, at validation
    return kind, target


def resolve_source(source: str) -> tuple[str, str]:
    """(kind, target) of a source, with 'fetch:NAME' turned into the local copy it names."""
    kind, target = parse_source(source)
    if kind != "fetch":
        return kind, target
    from ganzoo.data.catalog import fetched_path, get_dataset

    path = fetched_path(target)
    if not path.exists():
        raise DataError(f"dataset {target!r} is not in the cache yet: fetch it with `ganzoo data fetch {target}` "
                        f"(or point data.source at a local copy)")
    return get_dataset(target).kind, str(path)


def fit_to_shape(images: np.ndarray, image_shape) -> np.ndarray:
    """Center-crop to the target aspect ratio, resize (antialiased area filter), match channels."""
    import tensorflow as tf

    height, width, channels = image_shape
    if images.ndim == 3:
        images = images[..., None]
    out = []
    for start in range(0, len(images), _CHUNK):
        x = tf.convert_to_tensor(images[start : start + _CHUNK])
        if x.shape[-1] != channels:
            if x.shape[-1] == 1 and channels == 3:
                x = tf.repeat(x, 3, axis=-1)
            elif x.shape[-1] in (3, 4) and channels == 1:
                x = tf.cast(tf.round(tf.image.rgb_to_grayscale(x[..., :3])), tf.uint8)
            elif x.shape[-1] == 4 and channels == 3:
                x = x[..., :3]
            else:
                raise DataError(f"cannot convert {x.shape[-1]}-channel images to {channels} channels")
        h, w = int(x.shape[1]), int(x.shape[2])
        if (h, w) != (height, width):
            crop_h, crop_w = min(h, w * height // width), min(w, h * width // height)
            x = tf.image.crop_to_bounding_box(x, (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w)
            x = tf.image.resize(tf.cast(x, tf.float32), (height, width), method="area", antialias=True)
            x = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
        out.append(x.numpy())
    return np.concatenate(out) if out else np.zeros((0, height, width, channels), np.uint8)


def fit_each_to_shape(images: list[np.ndarray], image_shape) -> np.ndarray:
    """`fit_to_shape` for decoded images that may differ in size: each run of same-sized images
    is fitted in one call (resizing image by image costs ~6 ms of eager dispatch each)."""
    runs, start = [], 0
    for end in range(1, len(images) + 1):
        if end == len(images) or images[end].shape != images[start].shape:
            runs.append(fit_to_shape(np.stack(images[start:end]), image_shape))
            start = end
    return np.concatenate(runs) if runs else np.zeros((0, *image_shape), np.uint8)


def fit_as_they_come(images, image_shape) -> np.ndarray:
    """`fit_each_to_shape` over an iterable of images, holding at most _FIT_RUN of them (or
    _FIT_RUN_BYTES) unfitted: a set of large photos is never all in memory at full size."""
    fitted, held, held_bytes = [], [], 0
    for image in images:
        held.append(image)
        held_bytes += image.nbytes
        if len(held) == _FIT_RUN or held_bytes >= _FIT_RUN_BYTES:
            fitted.append(fit_each_to_shape(held, image_shape))
            held, held_bytes = [], 0
    return np.concatenate([*fitted, fit_each_to_shape(held, image_shape)])


def tfds_data_dir(data_dir: str | None) -> str | None:
    return data_dir or os.environ.get("TFDS_DATA_DIR") or None


@contextlib.contextmanager
def _absl_errors_only():
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        absl_logger.setLevel(level)


def _downloads_over_network(builder) -> bool:
    # tfds.testing.mock_data swaps in a download_and_prepare that fetches nothing
    return type(builder).download_and_prepare.__module__.startswith("tensorflow_datasets.core")


def _download_urls(builder) -> list[str]:
    try:
        return list(builder.url_infos or ())  # the URLs in the dataset's registered checksums
    except Exception:  # a builder without a checksums file: let tfds try
        return []


def unresolved_hosts(urls) -> list[str]:
    """Hosts of `urls` whose names this machine cannot resolve. Checked before a tfds download
    because offline, tensorflow-datasets retries each file ten times with back-off (3.5 minutes
    for MNIST, measured) before it gives up; a name lookup fails in milliseconds. Hosts reached
    through a proxy are skipped: the proxy resolves them."""
    proxies = {scheme: url for scheme, url in urllib.request.getproxies().items() if scheme != "no"}
    hosts = sorted({urllib.parse.urlsplit(url).hostname for url in urls} - {None})
    return [host for host in hosts if (not proxies or urllib.request.proxy_bypass(host)) and _resolves(host) is False]


NAME_LOOKUP_TIMEOUT_S = 5.0


def _resolves(host: str) -> bool | None:
    """Whether `host` resolves; None when the resolver has not answered within
    NAME_LOOKUP_TIMEOUT_S (getaddrinfo itself has no timeout): a slow name server is not an
    absent one, so tfds then tries as it would have."""
    answer: list[bool] = []

    def lookup():
        try:
            socket.getaddrinfo(host, None)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(NAME_LOOKUP_TIMEOUT_S)
    return answer[0] if answer else None


def tfds_split(name: str, split: str, data_dir: str | None, download: bool):
    """The `tf.data.Dataset` of a tfds split, prepared (downloaded) first where it is not and
    `download` allows; every way this fails is a one-line DataError."""
    import tensorflow_datasets as tfds

    data_dir = tfds_data_dir(data_dir)
    where = data_dir or "~/tensorflow_datasets"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises DatasetNotFoundError and friends
        raise DataError(f"unknown tensorflow-datasets name {name!r}: {str(error).splitlines()[0]}") from None
    with _absl_errors_only():  # an unprepared dir: "Variant folder ... has no dataset_info.json"
        prepared = builder.is_prepared()
    if not prepared:
        if not download:
            raise DataError(
                f"tfds dataset {name!r} is not prepared in {where} and downloading is off; "
                "point TFDS_DATA_DIR (or data.data_dir) at a prepared data dir"
            )
        unresolved = unresolved_hosts(_download_urls(builder)) if _downloads_over_network(builder) else []
        if unresolved:
            raise DataError(
                f"tfds dataset {name!r} is not prepared in {where} and its download host {unresolved[0]} "
                "cannot be resolved (offline?); point TFDS_DATA_DIR (or data.data_dir) at a prepared data dir"
            )
        try:
            builder.download_and_prepare()
        except Exception as error:
            raise DataError(
                f"tfds dataset {name!r} could not be downloaded into {where} ({type(error).__name__}); "
                "on an offline machine point TFDS_DATA_DIR (or data.data_dir) at a prepared data dir"
            ) from None
    try:
        # Every caller reads the split once (into memory or a patch bank): tfds' automatic cache
        # of small datasets would only copy it, and warns when max_examples stops reading early.
        return builder.as_dataset(split=split, read_config=tfds.ReadConfig(try_autocache=False))
    except Exception as error:
        raise DataError(f"tfds dataset {name!r} has no split {split!r}: {str(error).splitlines()[0]}") from None


def load_tfds(name: str, split: str, data_dir: str | None, download: bool,
              image_shape=None, max_examples: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (uint8 [N, H, W, C]) and labels of a tfds split (its first `max_examples`, 0: all;
    only those are decoded), fitted to `image_shape` unless it is None (as stored). Datasets whose
    images differ in size (oxford_flowers102, cycle_gan/*, ...) need a shape: they are fitted as
    they stream, a few hundred at a time."""
    import tensorflow_datasets as tfds

    dataset = tfds_split(name, split, data_dir, download)
    if max_examples:
        dataset = dataset.take(max_examples)
    if "image" not in dataset.element_spec:
        raise DataError(f"tfds dataset {name!r} has no 'image' feature")
    uniform = dataset.element_spec["image"].shape.is_fully_defined()
    if not uniform and image_shape is None:
        raise DataError(f"tfds dataset {name!r} has images of different sizes: give an image shape to fit them to")
    labels = []

    def images_as_they_come():
        for example in tfds.as_numpy(dataset.batch(_CHUNK) if uniform else dataset):
            if "label" in example:
                labels.append(np.atleast_1d(example["label"]))
            yield example["image"]

    if uniform:
        images = list(images_as_they_come())
        images = np.concatenate(images) if images else []
        if len(images) and image_shape is not None:
            images = fit_to_shape(images, image_shape)
    else:
        images = fit_as_they_come(images_as_they_come(), image_shape)
    if not len(images):
        raise DataError(f"tfds dataset {name!r} split {split!r} is empty")
    return images, (np.concatenate(labels).astype(np.int32) if labels else None)


def load_folder(folder: str, channels: int, image_shape=None, max_examples: int = 0):
    """Every image below `folder` (its first `max_examples` in name order, 0: all) and labels from
    first-level subfolder names when there are any. Images: a list as stored, or with
    `image_shape` one uint8 array fitted as they are decoded (see `decode_all`)."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"image folder {folder} holds no {'/'.join(sorted(IMAGE_SUFFIXES))} files")
    classes = sorted({p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1})
    labelled = classes and all(len(p.relative_to(root).parts) > 1 for p in files)
    files = files[:max_examples or None]
    images = decode_all(((str(path), path.read_bytes) for path in files), channels, image_shape)
    labels = None
    if labelled:
        index = {name: i for i, name in enumerate(classes)}
        labels = np.array([index[p.relative_to(root).parts[0]] for p in files], np.int32)
    return images, labels


def decode_image(data: bytes, channels: int, where: str) -> np.ndarray:
    import tensorflow as tf

    try:
        return tf.io.decode_image(data, channels=channels, expand_animations=False).numpy()
    except Exception:
        raise DataError(f"corrupt or unreadable image: {where}") from None


def decode_all(encoded, channels: int, image_shape=None):
    """Images from (where, read bytes) pairs: a list as stored, or with `image_shape` one uint8
    array fitted in runs as they are decoded, so a folder of large photos is never all in memory
    at full size."""
    decoded = (decode_image(read(), channels, where) for where, read in encoded)
    return list(decoded) if image_shape is None else fit_as_they_come(decoded, image_shape)


def load_zip(path: str, channels: int, inside: str | None = None, image_shape=None, max_examples: int = 0):
    """Every image in a zip archive (its first `max_examples` in name order, 0: all); with
    `inside`, only those in a folder of that name (e.g. 'trainA'). A list as stored, or with
    `image_shape` one uint8 array (see `decode_all`)."""
    import zipfile

    if not Path(path).is_file():
        raise DataError(f"zip file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if Path(n).suffix.lower() in IMAGE_SUFFIXES
                           and (inside is None or inside in Path(n).parts[:-1]))
            encoded = ((f"{path}:{n}", functools.partial(archive.read, n)) for n in names[:max_examples or None])
            return decode_all(encoded, channels, image_shape)
    except zipfile.BadZipFile:
        raise DataError(f"{path} is not a readable zip file") from None


def load_npz(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    if not Path(path).is_file():
        raise DataError(f"npz file {path} does not exist")
    try:
        with np.load(path) as archive:
            key = next((k for k in ("images", "x") if k in archive), None)
            if key is None:
                raise DataError(f"npz file {path} has no 'images' array (keys: {', '.join(archive.files)})")
            images = archive[key]
            labels = next((archive[k] for k in ("labels", "y") if k in archive), None)
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"cannot read npz file {path}: {error}") from None
    if images.dtype != np.uint8:
        if images.size and (images.min() < 0 or images.max() > 1):
            raise DataError(f"npz images in {path} must be uint8, or floats in [0, 1]")
        images = np.round(images * 255).astype(np.uint8)
    return images, (None if labels is None else labels.astype(np.int32))


def load_images(
    source: str,
    image_shape,
    split: str = "train",
    data_dir: str | None = None,
    download: bool = True,
    max_examples: int = 0,
) -> ImageData:
    """Real images as uint8 [N, H, W, C] at `image_shape` (None: as stored; tfds and npz
    sources only), with labels where the source has them."""
    kind, target = resolve_source(source)
    if kind == "shapes":
        raise DataError(f"{source} holds 3D volumes, not images: it is data for a volume model (gan3d)")
    if image_shape is None and kind in ("folder", "zip"):
        raise DataError(f"a {kind} of image files needs an image shape to decode its images at")
    if kind == "tfds":
        images, labels = load_tfds(target, split, data_dir, download, image_shape, max_examples)
    elif kind == "npz":
        images, labels = load_npz(target)
        if max_examples:  # the other sources stop reading at max_examples
            images, labels = images[:max_examples], None if labels is None else labels[:max_examples]
        if image_shape is not None:
            images = fit_to_shape(images, image_shape)
    else:
        if kind == "folder":
            images, labels = load_folder(target, image_shape[-1], image_shape, max_examples)
        else:
            images, labels = load_zip(target, image_shape[-1], image_shape=image_shape, max_examples=max_examples), None
        if not len(images):
            raise DataError(f"{source} holds no {'/'.join(sorted(IMAGE_SUFFIXES))} files")
    return ImageData(images, labels, f"{source} ({split}, {len(images)} images)")


def benchmark_images(image_shape, count: int = 4096) -> tuple[np.ndarray, str]:
    """MNIST-shaped presets train on real MNIST when tfds has it; others on uniform noise images
    (throughput does not depend on the pixels)."""
    if tuple(image_shape) == (28, 28, 1):
        try:
            data = load_images("tfds:mnist", image_shape, download=False, max_examples=count)
            return data.images, data.description
        except DataError:
            pass  # no prepared MNIST here: noise images time the same
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (count, *image_shape), dtype=np.uint8), f"{count} uniform-noise images"
