"""Data a user can get: `ganzoo data fetch` (download from a public home with a sha256 check, or
register a local copy), `fetch:NAME` sources, and shipped recipes that name only such data."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO, SHARED_DATA

from ganzoo.cli import main
from ganzoo.data import catalog, load_images
from ganzoo.data.catalog import DATASETS, PublicDataset, fetch, fetched_path
from ganzoo.data.sources import parse_source
from ganzoo.data.unpaired import load_unpaired
from ganzoo.errors import DataError
from ganzoo.recipes import load_recipe

FACE2ANIME = SHARED_DATA / "cyclegan" / "face2anime_64.zip"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "datasets"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served_entry(monkeypatch, url, archive, kind="zip", name="served"):
    entry = PublicDataset(name=name, description="a test set", licence="test licence", home=url, url=f"{url}/{archive.name}",
                          sha256=sha256(archive), size_bytes=archive.stat().st_size, filename=archive.name, kind=kind)
    monkeypatch.setitem(DATASETS, name, entry)
    return entry


def test_fetch_downloads_checks_the_hash_and_is_read_as_a_source(cache, http_server, monkeypatch):
    root, url, requests = http_server
    (root / FACE2ANIME.name).write_bytes(FACE2ANIME.read_bytes())
    served_entry(monkeypatch, url, FACE2ANIME)
    result = CliRunner().invoke(main, ["data", "fetch", "served"])
    assert result.exit_code == 0, result.output
    assert "licence: test licence" in result.output and str(cache / "served" / FACE2ANIME.name) in result.output
    assert sha256(fetched_path("served")) == sha256(FACE2ANIME)
    assert fetch("served") == fetched_path("served") and len(requests) == 1  # cached: no second download
    a, b = load_unpaired("fetch:served", (32, 32, 3), split="test")
    assert a.shape == b.shape == (200, 32, 32, 3)


def test_a_download_that_does_not_match_the_pinned_hash_is_refused(cache, http_server, monkeypatch):
    root, url, _ = http_server
    (root / FACE2ANIME.name).write_bytes(FACE2ANIME.read_bytes()[:-1] + b"x")  # one byte changed
    entry = served_entry(monkeypatch, url, FACE2ANIME)
    with pytest.raises(DataError, match="cannot download served|did not match the pinned sha256"):
        fetch("served")
    assert not (cache / "served" / entry.filename).exists()


def test_a_folder_dataset_is_unpacked_and_a_path_outside_it_is_refused(cache, http_server, monkeypatch, tmp_path):
    root, url, _ = http_server
    with zipfile.ZipFile(root / "photos.zip", "w") as archive:
        archive.writestr("photos/a.png", (SHARED_DATA / "sr" / "Set5" / "HR" / "baby.png").read_bytes())
    served_entry(monkeypatch, url, root / "photos.zip", kind="folder", name="photos")
    assert (fetch("photos") / "photos" / "a.png").is_file() and not (cache / "photos" / "photos.zip").exists()
    with zipfile.ZipFile(root / "evil.zip", "w") as archive:
        archive.writestr("../../outside.png", b"x")
    served_entry(monkeypatch, url, root / "evil.zip", kind="folder", name="evil")
    with pytest.raises(DataError, match="outside its folder"):
        fetch("evil")
    assert not (cache.parent / "outside.png").exists()


def test_sets_without_a_public_download_take_a_checked_local_copy(cache):
    result = CliRunner().invoke(main, ["data", "fetch", "face2anime_64"])
    assert result.exit_code == 1 and "no public download" in result.output and "Traceback" not in result.output
    with pytest.raises(DataError, match="is not in the cache yet"):
        load_unpaired("fetch:face2anime_64", (32, 32, 3))
    wrong = CliRunner().invoke(main, ["data", "fetch", "anime_faces_64", "--from", str(FACE2ANIME)])
    assert wrong.exit_code == 1 and "sha256 differs" in wrong.output
    result = CliRunner().invoke(main, ["data", "fetch", "face2anime_64", "--from", str(FACE2ANIME)])
    assert result.exit_code == 0, result.output
    a, _ = load_unpaired("fetch:face2anime_64", (64, 64, 3), split="test")
    expected = load_images(f"zip:{FACE2ANIME}", (64, 64, 3)).images  # every image of the archive, A and B
    assert a.shape == (200, 64, 64, 3) and any(np.array_equal(a[0], image) for image in expected)


def test_unknown_dataset_names_fail_at_validation():
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        parse_source("fetch:nope")
    assert CliRunner().invoke(main, ["data", "list"]).output.count("licence:") == len(DATASETS)


RECIPES = sorted((REPO / "recipes").glob("*.toml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_shipped_recipes_name_data_a_user_can_get(path):
    kind, target = parse_source(load_recipe(path).data.source)
    # shapes:N is made by ganzoo itself (procedural volumes), on any machine.
    assert kind in ("tfds", "fetch", "shapes"), f"{path.name} reads {kind}:{target}, which exists only on this machine"


def test_the_readme_data_table_lists_the_catalogue():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Data"):readme.index("## Python API")]
    for name in catalog.DATASETS:
        assert f"`fetch:{name}`" in table


def test_super_resolution_patches_stream_from_tfds(tmp_path):
    """div2k (2K photos) is read one image at a time into the patch bank: tfds' mock data here."""
    import tensorflow_datasets as tfds

    from ganzoo.data.paired import sr_patch_bank

    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        lr, hr, description = sr_patch_bank("tfds:div2k/bicubic_x4", hr_patch=16, scale=4, count=12, seed=0,
                                            data_dir=str(tmp_path))
    assert hr.shape == (12, 16, 16, 3) and lr.shape == (12, 4, 4, 3) and hr.dtype == lr.dtype == np.uint8
    assert "5 images, 12 16px HR patches" in description
