"""Named public datasets that tensorflow-datasets does not carry: `ganzoo data fetch NAME`
downloads one from its public home into the cache (`keras.utils.get_file`, sha256-checked) and a
recipe reads it as `data.source = "fetch:NAME"`.

Some sets have no direct public download (a login wall, or sources whose licences forbid passing
them on): their entries say where the parts come from and pin the sha256 of the archive the
recipes were tuned on, so a user who has a copy registers it with `fetch(name, local_copy=...)`
(the same hash check) and every recipe and run then reads it the same way.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ganzoo.errors import DataError
from ganzoo.files import file_sha256


@dataclass(frozen=True)
class PublicDataset:
    name: str
    description: str
    licence: str
    home: str  # where the data (or each of its parts) comes from
    sha256: str  # of the archive as downloaded / registered
    size_bytes: int
    filename: str  # the archive's name in the cache
    kind: str  # how recipes read it: "zip" (images; CycleGAN's trainA/ trainB/ testA/ testB/) or "folder"
    url: str | None = None  # a direct public download; None: register a local copy instead


DATASETS = {d.name: d for d in (
    PublicDataset(
        name="div2k_valid_hr",
        description="DIV2K validation set: 100 2K-resolution photos (HR only; LR is made by bicubic downscaling), "
                    "a super-resolution test set",
        licence="research and academic use (DIV2K, NTIRE 2017; Agustsson & Timofte 2017)",
        home="https://data.vision.ee.ethz.ch/cvl/DIV2K/",
        url="https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip",
        # The checksum tensorflow-datasets pins for the same file (url_checksums/div2k.txt).
        sha256="20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
        size_bytes=448_993_893, filename="DIV2K_valid_HR.zip", kind="folder"),
    PublicDataset(
        name="face2anime_64",
        description="unpaired 64x64 real faces (A) and anime faces (B): trainA/trainB 1000 each, testA/testB 200 each",
        licence="faces: UTKFace, non-commercial research only; anime faces: no stated licence (research use)",
        home="real faces: UTKFace aligned & cropped (https://susanqq.github.io/UTKFace/); anime faces: the Anime Face "
             "Dataset (https://www.kaggle.com/datasets/splcher/animefacedataset); both behind sign-in, not redistributable",
        sha256="2098f85750b6fd86a798172532322ed58572ce2c599f3f9a0d3f4f5d18d641a7",
        size_bytes=7_777_190, filename="face2anime_64.zip", kind="zip"),
    PublicDataset(
        name="anime_faces_64",
        description="5000 anime faces, 64x64 RGB JPEG",
        licence="no stated licence (research use)",
        home="the Anime Face Dataset (https://www.kaggle.com/datasets/splcher/animefacedataset), behind a Kaggle sign-in",
        sha256="38bd445431fd3892eabf1db0c6f1bc0116d2b037ac9f6a9616a4d986ef51194d",
        size_bytes=18_219_229, filename="anime_faces_64.zip", kind="zip"),
)}


def data_cache_dir() -> Path:
    """$GANZOO_CACHE/datasets (default ~/.cache/ganzoo/datasets)."""
    return Path(os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo") / "datasets"


def get_dataset(name: str) -> PublicDataset:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def fetched_path(name: str) -> Path:
    """Where a fetched dataset lives (an archive, or the folder it was unpacked to)."""
    entry = get_dataset(name)
    path = data_cache_dir() / name / entry.filename
    return path.with_suffix("") if entry.kind == "folder" else path


def fetch(name: str, local_copy: str | Path | None = None) -> Path:
    """Downloads (or, with `local_copy`, copies) dataset `name` into the cache after checking its
    sha256; returns fetched_path(name). A second call finds it there and does nothing."""
    entry = get_dataset(name)
    target = fetched_path(name)
    if target.exists():
        return target
    directory = data_cache_dir() / name
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / entry.filename
    if local_copy is not None:
        local_copy = Path(local_copy)
        if not local_copy.is_file():
            raise DataError(f"{local_copy} is not a file")
        if file_sha256(local_copy) != entry.sha256:
            raise DataError(f"{local_copy} is not {name}: its sha256 differs from the pinned {entry.sha256[:16]}...")
        tmp = archive.with_name(f".{archive.name}.tmp{os.getpid()}")
        shutil.copyfile(local_copy, tmp)
        os.replace(tmp, archive)
    elif entry.url is None:
        raise DataError(f"{name} has no public download ({entry.home}); register a copy you have with its local path")
    else:
        _download(entry, archive)
    if entry.kind == "folder":
        _unpack(archive, target)
    return target


def _download(entry: PublicDataset, archive: Path) -> None:
    import keras

    try:
        keras.utils.get_file(fname=entry.filename, origin=entry.url, file_hash=entry.sha256, hash_algorithm="sha256",
                             cache_dir=str(archive.parent), cache_subdir=".")
    except Exception as error:  # noqa: BLE001 - URL, HTTP and hash errors come in many types
        archive.unlink(missing_ok=True)  # get_file keeps a file whose hash does not match
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"cannot download {entry.name} from {entry.url}: {first}") from None
    if file_sha256(archive) != entry.sha256:  # get_file may also accept a cached file without a check
        archive.unlink()
        raise DataError(f"{entry.url} did not match the pinned sha256 of {entry.name}; the download was removed")


def _unpack(archive: Path, folder: Path) -> None:
    """Unzips into `folder` (members outside it are refused), then removes the archive."""
    import zipfile

    staging = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            if not (staging / member).resolve().is_relative_to(staging.resolve()):
                raise DataError(f"{archive} holds a path outside its folder: {member}")
        zipped.extractall(staging)
    os.replace(staging, folder)
    archive.unlink()
