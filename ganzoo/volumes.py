"""Volumes people can look at: shaded renders made in TensorFlow (so TensorBoard's callback can
draw them) and files made from occupancy grids (.obj / .glb meshes via marching cubes, .npz).

Occupancy grids are float [N, D, H, W, 1] in [0, 1] (or uint8 0..255), axes as in
ganzoo/data/voxels.py: height index 0 is the top. A voxel is solid where occupancy > 0.5.
Mesh output imports scikit-image and trimesh; rendering and everything else here does not.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

THRESHOLD = 0.5
MESH_FORMATS = (".obj", ".glb")


def camera_rotation(yaw_degrees: float = 35.0, pitch_degrees: float = 25.0) -> np.ndarray:
    """World (x right, y up, z towards the viewer) -> camera: turned about y, then tilted down."""
    yaw, pitch = math.radians(yaw_degrees), math.radians(pitch_degrees)
    turn = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    tilt = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    return (tilt @ turn).astype(np.float32)


def render(volumes, size: int | None = None, yaw: float = 35.0, pitch: float = 25.0):
    """Shaded renders [N, size, size, 1] in [-1, 1] (background -1) of occupancy grids, seen from
    above and to the side: rays march through the grid (nearest voxel), the first solid voxel's
    depth gives the surface, and its slope gives Lambert shading. TensorFlow ops only."""
    import tensorflow as tf

    volumes = tf.convert_to_tensor(volumes)
    if volumes.dtype == tf.uint8:
        volumes = tf.cast(volumes, tf.float32) / 255.0
    volumes = tf.cast(volumes, tf.float32)[..., 0] > THRESHOLD  # [N, D, H, W]
    resolution = int(volumes.shape[1])
    size = size or 2 * resolution
    samples = 2 * resolution  # depth samples per ray: two per voxel
    # Camera-space points of every pixel and depth sample, in units of the grid's half size.
    extent = math.sqrt(3.0)  # a rotated unit cube fits in +-sqrt(3) / 2 * 2
    u = tf.linspace(-extent / 1.6, extent / 1.6, size)
    t = tf.linspace(extent, -extent, samples)  # from the camera (+z) into the scene
    cam_v, cam_u, cam_t = tf.meshgrid(-u, u, t, indexing="ij")  # rows top-down
    points = tf.stack([cam_u, cam_v, cam_t], axis=-1)  # [size, size, samples, 3] (x, y, z)
    world = tf.einsum("ijkc,cd->ijkd", points, tf.constant(camera_rotation(yaw, pitch)))  # camera -> world: R^T p
    index = tf.cast(tf.floor((world + 1.0) / 2.0 * resolution), tf.int32)  # x, y, z voxel indices
    inside = tf.reduce_all((index >= 0) & (index < resolution), axis=-1)
    x, y, z = tf.unstack(tf.clip_by_value(index, 0, resolution - 1), axis=-1)
    voxel = tf.stack([z, resolution - 1 - y, x], axis=-1)  # -> [d, h, w]
    occupied = tf.map_fn(lambda grid: tf.gather_nd(grid, voxel) & inside, volumes, fn_output_signature=tf.bool)
    hit = tf.reduce_any(occupied, axis=-1)  # [N, size, size]
    first = tf.argmax(tf.cast(occupied, tf.int32), axis=-1, output_type=tf.int32)
    depth = tf.cast(first, tf.float32) / samples * 2 * extent  # distance from the camera plane
    depth = tf.where(hit, depth, 2 * extent)
    # Surface slope from depth differences between neighbouring pixels (clipped at silhouettes),
    # on depth smoothed over 3x3 pixels so voxel steps do not stripe flat faces.
    step = 2 * extent / 1.6 / size
    depth = tf.nn.avg_pool2d(depth[..., None], 3, 1, "SAME")[..., 0]
    dx = tf.clip_by_value((depth[:, :, 2:] - depth[:, :, :-2]) / (2 * step), -4, 4)
    dy = tf.clip_by_value((depth[:, 2:, :] - depth[:, :-2, :]) / (2 * step), -4, 4)
    dx = tf.pad(dx, [[0, 0], [0, 0], [1, 1]])
    dy = tf.pad(dy, [[0, 0], [1, 1], [0, 0]])
    # The surface (u, v, -depth) has the camera-facing normal (d depth/du, d depth/dv, 1); image
    # rows run down, so d/dv = -d/drow.
    normal = tf.stack([dx, -dy, tf.ones_like(dx)], axis=-1)
    normal = normal / tf.norm(normal, axis=-1, keepdims=True)
    light = tf.constant([-0.4, 0.6, 0.7]) / tf.norm(tf.constant([-0.4, 0.6, 0.7]))
    lambert = tf.maximum(tf.reduce_sum(normal * light, axis=-1), 0.0)
    shade = 0.25 + 0.75 * lambert - 0.15 * (depth / (2 * extent))  # a little darker further back
    image = tf.where(hit, tf.clip_by_value(shade, 0.05, 1.0) * 2 - 1, -1.0)
    return image[..., None]


def render_numpy(volumes, size: int | None = None) -> np.ndarray:
    """`render` as a NumPy array, a batch at a time."""
    volumes = np.asarray(volumes)
    return np.concatenate([np.asarray(render(volumes[i : i + 16], size)) for i in range(0, len(volumes), 16)]) \
        if len(volumes) else np.zeros((0, size or 2 * volumes.shape[1], size or 2 * volumes.shape[1], 1), np.float32)


def to_uint8_occupancy(volumes) -> np.ndarray:
    """[0, 1] occupancy -> uint8 0..255 (round(255 p)): what the SavedModel serves."""
    return np.clip(np.round(np.asarray(volumes, np.float32) * 255.0), 0, 255).astype(np.uint8)


def mesh_of(volume, threshold: float = THRESHOLD):
    """A trimesh.Trimesh of one grid's 0.5 iso-surface (marching cubes on the grid padded with
    empty space, so shapes touching the border are closed), in voxel units, y up; None when the
    grid is empty."""
    import trimesh
    from skimage import measure

    grid = np.asarray(volume, np.float32)
    grid = grid[..., 0] if grid.ndim == 4 else grid
    if grid.max() <= threshold or grid.min() > threshold:
        return None
    padded = np.pad(grid, 1)
    vertices, faces, normals, _ = measure.marching_cubes(padded, threshold)
    d, h, w = (vertices - 1).T
    # [d, h, w] -> (x = w, y = up = R - 1 - h, z = d), centred on the origin.
    size = grid.shape[0]
    points = np.stack([w, size - 1 - h, d], axis=1) - (size - 1) / 2
    # Swapping axes mirrors the mesh, so faces turn around to keep normals pointing out.
    return trimesh.Trimesh(points, faces[:, ::-1], process=False)


def write_meshes(volumes, folder: Path, formats=MESH_FORMATS, start: int = 0) -> list[Path]:
    """<folder>/shape_XXXXXX.obj / .glb for each grid (an empty grid is skipped)."""
    from ganzoo.files import atomic_write_bytes

    written = []
    for i, volume in enumerate(volumes):
        mesh = mesh_of(volume)
        if mesh is None:
            continue
        for suffix in formats:
            path = folder / f"shape_{start + i:06d}{suffix}"
            atomic_write_bytes(path, mesh.export(file_type=suffix[1:]) if suffix == ".glb" else mesh.export(file_type="obj").encode())
            written.append(path)
    return written
