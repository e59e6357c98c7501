"""Shared fixtures. Real data comes from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GANZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
TFDS_DIR = Path(os.environ.get("TFDS_DATA_DIR", SHARED_DATA / "tfds"))


# The README's `-n 2 --dist loadfile` hands each worker whole files. xdist queued them by number
# of tests, so the MNIST quality tests (2 tests, ~8 minutes on a 2-core AVX2 CPU) ran last with the
# other worker idle: pytest 41:47 there, where the files' times (--durations=0) split evenly take
# ~37 minutes. The files that take longest start first; the rest follow in collection order.
# Ordered by the files' total test time in one CI-like run (2026-12-02, 2-core AVX2: 680 s for
# test_cyclegan down to 132 s for test_large_images); the files left out take under 90 s each.
LONGEST_FILES = [
    "test_cyclegan.py", "test_quality.py", "test_execution_settings.py", "test_stylegan.py", "test_bench.py",
    "test_export.py", "test_distribute.py", "test_models.py", "test_metrics.py", "test_training.py", "test_srgan.py",
    "test_faults.py", "test_gan3d.py", "test_large_images.py",
]


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist's own reordering, off: ours below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order


@pytest.fixture(scope="session")
def tfds_dir() -> Path:
    if not (TFDS_DIR / "mnist").is_dir():
        pytest.fail(f"MNIST prepared for tfds is expected in {TFDS_DIR} (set TFDS_DATA_DIR)")
    return TFDS_DIR


def tiny_recipe_text(source: str, steps: int = 20, steps_per_epoch: int = 5, extra: str = "") -> str:
    """A recipe for dcgan/tiny that trains in seconds."""
    return f"""
[model]
name = "dcgan"
preset = "tiny"

[data]
source = "{source}"
max_examples = 512

[train]
steps = {steps}
batch_size = 16
steps_per_epoch = {steps_per_epoch}
seed = 3
jit_compile = false

[optimizer.generator]
learning_rate = 1e-3
options = {{ beta_1 = 0.5 }}

[optimizer.discriminator]
learning_rate = 1e-3
options = {{ beta_1 = 0.5 }}

[logging]
log_every_steps = 2
sample_grid = 16
{extra}
"""


@pytest.fixture
def tiny_recipe(tmp_path, tfds_dir, monkeypatch):
    """Writes tiny.toml training dcgan/tiny on real MNIST; returns its path."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))

    def write(steps: int = 20, steps_per_epoch: int = 5, extra: str = "", name: str = "tiny") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(tiny_recipe_text("tfds:mnist", steps, steps_per_epoch, extra))
        return path

    return write


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server over tmp_path/www (what a dataset's or weight file's public home is in
    the tests): yields (folder, base URL, the paths requested so far)."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
