"""Writing files so that readers never see half of one: write beside the target, then rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Iterator

from ganzoo.errors import GanzooError

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path` (same suffix, so writers that check it accept it);
    renamed onto `path` when the block ends without an error, removed otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_name(what: str, name: str) -> str:
    """`name` if it is one safe path component (it names a folder or file ganzoo creates): letters,
    digits, '_', '.' and '-', not starting with '.' or '-' ('..' would leave the parent folder)."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise GanzooError(f"{what} {name!r} must be one path component of letters, digits, '_', '.' and '-' "
                          "that does not start with '.' or '-'")
    return name


def safe_name(text: str, default: str) -> str:
    """`text` made into a name check_name accepts (other characters become '_')."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).lstrip(".-")
    return name or default
