"""Voxel data for 3D generators: occupancy grids uint8 {0, 1} [N, R, R, R, 1] at a model's size.

Axes are [depth, height, width] as in an image stack: index 0 of height is the top, so a view
along depth shows a shape upright. Sources (`data.source` of a recipe):
- `shapes:N` — procedural furniture (chairs, tables, beds, shelves, lamps) made of boxes and
  cylinders with random proportions, N per split, labelled, deterministic by index and split:
  a dataset with no download, for tests and for this CPU.
- `folder:DIR` / `zip:FILE` — `.binvox` (ModelNet/ShapeNet voxelisations), `.npy` / `.npz`
  occupancy arrays and meshes (`.off`, `.obj`, `.stl`, `.ply`; voxelised with trimesh on load);
  files in sub-folders are labelled by sub-folder, in sorted order.
- `npz:FILE` — an array `volumes` (or `images` / `x`) [N, R, R, R(, 1)] and optional `labels`.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganzoo.errors import DataError

SHAPE_CLASSES = ("chair", "table", "bed", "shelf", "lamp")
VOXEL_SUFFIXES = {".binvox", ".npy", ".npz"}
MESH_SUFFIXES = {".off", ".obj", ".stl", ".ply"}
SPLIT_SEEDS = {"train": 0, "test": 1, "validation": 2}


@dataclass(frozen=True)
class VolumeData:
    volumes: np.ndarray  # uint8 {0, 1} [N, R, R, R, 1]
    labels: np.ndarray | None  # int32 [N] or None
    description: str
    class_names: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.max()) + 1


# --------------------------------------------------------------------------- procedural shapes
class _Canvas:
    """Boxes and cylinders in the unit cube (x right, y up, z towards the viewer) drawn into an
    R^3 grid by voxel centres."""

    def __init__(self, resolution: int):
        centres = (np.arange(resolution) + 0.5) / resolution
        # grid[d, h, w] <-> (z, y, x) with h = 0 at the top (y = 1).
        self.z, self.y, self.x = np.meshgrid(centres, centres[::-1], centres, indexing="ij")
        self.grid = np.zeros((resolution,) * 3, bool)

    def box(self, x0, x1, y0, y1, z0, z1):
        self.grid |= (self.x >= x0) & (self.x <= x1) & (self.y >= y0) & (self.y <= y1) & (self.z >= z0) & (self.z <= z1)

    def cylinder(self, cx, cz, radius, y0, y1, top_radius=None):
        """Upright; a different top radius makes a truncated cone (a lamp shade)."""
        top = radius if top_radius is None else top_radius
        along = np.clip((self.y - y0) / max(y1 - y0, 1e-6), 0, 1)
        r = radius + (top - radius) * along
        self.grid |= ((self.x - cx) ** 2 + (self.z - cz) ** 2 <= r**2) & (self.y >= y0) & (self.y <= y1)


def _legs(canvas, x0, x1, z0, z1, top, thickness):
    for x in (x0, x1 - thickness):
        for z in (z0, z1 - thickness):
            canvas.box(x, x + thickness, 0.02, top, z, z + thickness)


def _draw(kind: int, canvas: _Canvas, rng: np.random.Generator, voxel: float) -> None:
    u = rng.uniform
    leg = max(u(0.06, 0.1), 1.5 * voxel)  # at least a voxel and a half: legs never vanish at 32^3
    board = max(u(0.05, 0.09), 1.5 * voxel)
    if kind == 0:  # chair: seat on four legs, a back rest
        w, d, seat = u(0.45, 0.75), u(0.45, 0.7), u(0.35, 0.5)
        x0, z0 = 0.5 - w / 2, 0.5 - d / 2
        canvas.box(x0, x0 + w, seat, seat + board, z0, z0 + d)
        _legs(canvas, x0, x0 + w, z0, z0 + d, seat, leg)
        canvas.box(x0, x0 + w, seat, u(0.8, 0.97), z0, z0 + board)
    elif kind == 1:  # table: a wide top on four legs or one pedestal
        w, d, top = u(0.7, 0.95), u(0.5, 0.9), u(0.5, 0.75)
        x0, z0 = 0.5 - w / 2, 0.5 - d / 2
        canvas.box(x0, x0 + w, top - board, top, z0, z0 + d)
        if rng.random() < 0.7:
            _legs(canvas, x0 + 0.03, x0 + w - 0.03, z0 + 0.03, z0 + d - 0.03, top, leg)
        else:
            canvas.cylinder(0.5, 0.5, u(0.06, 0.1), 0.02, top)
            canvas.cylinder(0.5, 0.5, u(0.2, 0.3), 0.02, 0.02 + board)
    elif kind == 2:  # bed: a long low mattress, a head board, maybe a foot board
        w, d, height = u(0.55, 0.8), u(0.8, 0.95), u(0.15, 0.3)
        x0, z0 = 0.5 - w / 2, 0.5 - d / 2
        canvas.box(x0, x0 + w, 0.02, height, z0, z0 + d)
        canvas.box(x0, x0 + w, 0.02, u(0.45, 0.7), z0, z0 + board)
        if rng.random() < 0.5:
            canvas.box(x0, x0 + w, 0.02, height + u(0.05, 0.15), z0 + d - board, z0 + d)
    elif kind == 3:  # shelf: two side panels, 3-5 boards
        w, d, height = u(0.5, 0.85), u(0.25, 0.45), u(0.75, 0.97)
        x0, z0 = 0.5 - w / 2, 0.5 - d / 2
        canvas.box(x0, x0 + board, 0.02, height, z0, z0 + d)
        canvas.box(x0 + w - board, x0 + w, 0.02, height, z0, z0 + d)
        for y in np.linspace(0.02, height - board, int(rng.integers(3, 6))):
            canvas.box(x0, x0 + w, y, y + board, z0, z0 + d)
    else:  # lamp: a round base, a pole, a shade
        pole_top = u(0.55, 0.8)
        canvas.cylinder(0.5, 0.5, u(0.15, 0.25), 0.02, 0.02 + board)
        canvas.cylinder(0.5, 0.5, max(u(0.025, 0.045), voxel), 0.02, pole_top)
        canvas.cylinder(0.5, 0.5, u(0.25, 0.35), pole_top - 0.05, min(pole_top + u(0.15, 0.25), 0.98), top_radius=u(0.1, 0.18))


def procedural_shapes(count: int, resolution: int, split: str = "train", start: int = 0) -> VolumeData:
    """`count` shapes from index `start` of `split` (classes in turn: chair, table, bed, shelf,
    lamp); shape i of a split is the same at any count and in any process."""
    if split not in SPLIT_SEEDS:
        raise DataError(f"shapes has splits {', '.join(SPLIT_SEEDS)}, not {split!r}")
    volumes = np.zeros((count, resolution, resolution, resolution, 1), np.uint8)
    labels = (np.arange(start, start + count) % len(SHAPE_CLASSES)).astype(np.int32)
    for n in range(count):
        rng = np.random.default_rng([SPLIT_SEEDS[split], start + n])
        canvas = _Canvas(resolution)
        _draw(int(labels[n]), canvas, rng, 1.0 / resolution)
        volumes[n, ..., 0] = canvas.grid
    return VolumeData(volumes, labels, f"shapes ({split}, {count} procedural shapes at {resolution}^3)", SHAPE_CLASSES)


# ------------------------------------------------------------------------------------- files
def read_binvox(data: bytes, where: str = "binvox") -> np.ndarray:
    """A .binvox file -> bool [D, H, W] in ganzoo's axes. binvox stores run-length pairs (value,
    count) with y fastest, then z, then x, and y up."""
    try:
        header_end = data.index(b"data\n") + len(b"data\n")
        header = data[:header_end].decode("ascii").split("\n")
        if not header[0].startswith("#binvox"):
            raise ValueError("not a binvox file")
        dims = next([int(v) for v in line.split()[1:4]] for line in header if line.startswith("dim"))
        pairs = np.frombuffer(data[header_end:], np.uint8)
        values, counts = pairs[0::2], pairs[1::2].astype(np.int64)
        flat = np.repeat(values.astype(bool), counts[: len(values)])
        if flat.size != np.prod(dims):
            raise ValueError(f"{flat.size} voxels for dim {dims}")
    except (ValueError, StopIteration, UnicodeDecodeError, IndexError) as error:
        raise DataError(f"{where} is not a valid .binvox file ({error})") from None
    grid = flat.reshape(dims)  # [x, z, y]
    return np.transpose(grid, (1, 2, 0))[:, ::-1, :]  # -> [z, y (top first), x]


def voxelize_mesh(data: bytes, suffix: str, resolution: int, where: str = "mesh") -> np.ndarray:
    """A mesh file -> bool [R, R, R]: scaled so its longest side spans the grid, centred, solid."""
    try:
        import trimesh
    except ImportError:
        raise DataError("reading meshes needs trimesh: pip install trimesh") from None
    try:
        mesh = trimesh.load(io.BytesIO(data), file_type=suffix.lstrip("."), force="mesh")
        pitch = float(mesh.extents.max()) / (resolution - 1)
        grid = mesh.voxelized(pitch).fill().matrix  # [x, y, z], z up as meshes usually are
    except Exception as error:  # noqa: BLE001 - trimesh raises many kinds
        raise DataError(f"cannot voxelise {where}: {error}") from None
    grid = np.transpose(grid, (1, 2, 0))[:, ::-1, :]  # [x, y, z] z-up -> [depth=y, height=z (top first), width=x]
    return fit_grid(grid, resolution)


def fit_grid(grid: np.ndarray, resolution: int) -> np.ndarray:
    """A bool grid of any size -> [R, R, R]: nearest-neighbour resampled when larger, centred with
    empty space when smaller (ModelNet's 30^3 voxelisations sit in 32^3 with a margin)."""
    grid = np.asarray(grid, bool)
    if grid.ndim == 4 and grid.shape[-1] == 1:
        grid = grid[..., 0]
    if grid.ndim != 3:
        raise DataError(f"an occupancy grid must be [D, H, W], got shape {grid.shape}")
    if max(grid.shape) > resolution:
        scale = max(grid.shape) / resolution
        index = [np.minimum((np.arange(max(1, round(n / scale))) * scale + scale / 2).astype(int), n - 1) for n in grid.shape]
        grid = grid[np.ix_(*index)]
    out = np.zeros((resolution,) * 3, bool)
    offset = [(resolution - n) // 2 for n in grid.shape]
    out[tuple(slice(o, o + n) for o, n in zip(offset, grid.shape))] = grid
    return out


def read_voxel_file(name: str, data: bytes, resolution: int) -> list[np.ndarray]:
    """The grids of one file (an .npz or .npy may hold several)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".binvox":
        return [fit_grid(read_binvox(data, name), resolution)]
    if suffix in MESH_SUFFIXES:
        return [voxelize_mesh(data, suffix, resolution, name)]
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        array = loaded[_volume_key(loaded, name)] if suffix == ".npz" else loaded
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001
        raise DataError(f"cannot read {name}: {error}") from None
    array = np.asarray(array)
    array = array > (127 if array.dtype == np.uint8 and array.max() > 1 else 0.5)  # 0/255 or 0/1 or [0, 1]
    if array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 1 and array.shape[0] != array.shape[1]):
        return [fit_grid(array, resolution)]
    return [fit_grid(volume, resolution) for volume in array]


def _volume_key(archive, name: str) -> str:
    key = next((k for k in ("volumes", "images", "x") if k in archive.files), None)
    if key is None:
        raise DataError(f"{name} has no 'volumes' array (keys: {', '.join(archive.files)})")
    return key


def load_voxel_files(files: list[tuple[str, bytes]], resolution: int, where: str) -> VolumeData:
    """(name, bytes) pairs -> grids, labelled by parent folder when the files sit in several."""
    files = sorted(f for f in files if Path(f[0]).suffix.lower() in VOXEL_SUFFIXES | MESH_SUFFIXES)
    if not files:
        raise DataError(f"{where} holds no {'/'.join(sorted(VOXEL_SUFFIXES | MESH_SUFFIXES))} files")
    folders = sorted({str(Path(name).parent) for name, _ in files})
    grids, labels = [], []
    for name, data in files:
        found = read_voxel_file(name, data, resolution)
        grids += found
        labels += [folders.index(str(Path(name).parent))] * len(found)
    volumes = np.stack(grids).astype(np.uint8)[..., None]
    names = tuple(Path(f).name for f in folders)
    labelled = len(folders) > 1
    return VolumeData(volumes, np.array(labels, np.int32) if labelled else None,
                      f"{where} ({len(volumes)} volumes at {resolution}^3)", names if labelled else ())


def load_volumes(source: str, resolution: int, split: str = "train", max_examples: int = 0) -> VolumeData:
    """A recipe's volume source at `resolution`^3 (see the module's docstring)."""
    from ganzoo.data.sources import resolve_source

    kind, target = resolve_source(source)
    if kind == "shapes":
        try:
            count = int(target)
        except ValueError:
            raise DataError(f"shapes:N takes a number of shapes per split, got {target!r}") from None
        return procedural_shapes(min(count, max_examples) if max_examples else count, resolution, split)
    if kind == "folder":
        root = Path(target)
        if not root.is_dir():
            raise DataError(f"folder {target} does not exist")
        files = [(str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file()]
    elif kind == "zip":
        try:
            with zipfile.ZipFile(target) as archive:
                files = [(n, archive.read(n)) for n in archive.namelist() if not n.endswith("/")]
        except (OSError, zipfile.BadZipFile) as error:
            raise DataError(f"cannot read zip file {target}: {error}") from None
    elif kind == "npz":
        if not Path(target).is_file():
            raise DataError(f"npz file {target} does not exist")
        data_bytes = Path(target).read_bytes()  # read once: the grids and the labels come from it
        grids = read_voxel_file(target, data_bytes, resolution)
        with np.load(io.BytesIO(data_bytes), allow_pickle=False) as archive:
            labels = archive["labels"].astype(np.int32) if "labels" in archive.files else None
        data = VolumeData(np.stack(grids).astype(np.uint8)[..., None], labels, f"{target} ({len(grids)} volumes)")
    else:
        raise DataError(f"{source} is an image source; volumes come from shapes:N, folder:, zip: or npz:")
    if kind in ("folder", "zip"):
        data = load_voxel_files(files, resolution, target)
    if max_examples:
        data = VolumeData(data.volumes[:max_examples], None if data.labels is None else data.labels[:max_examples],
                          data.description, data.class_names)
    return data
