"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout augmentation,
applied to every image the discriminator sees (real and generated), so D cannot memorise a
small dataset and G still gets gradients through the augmentation.

Randomness comes in as uniform draws ([batch, DRAWS_PER_IMAGE] in [0, 1)), so the caller decides
the seed: the training step draws them statelessly from (seed, step, stream) for the global batch.
"""

from __future__ import annotations

from keras import ops

POLICIES = ("color", "translation", "cutout")
DRAWS_PER_IMAGE = 7  # brightness, saturation, contrast, shift y, shift x, cutout y, cutout x


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r}; known: {', '.join(POLICIES)}")
    return parts


def color(x, u):
    """Brightness +-0.5, saturation x[0, 2), contrast x[0.5, 1.5) on [-1, 1] images."""
    x = x + (u[:, 0] - 0.5)[:, None, None, None]
    mean = ops.mean(x, axis=-1, keepdims=True)
    x = (x - mean) * (u[:, 1] * 2.0)[:, None, None, None] + mean
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (u[:, 2] + 0.5)[:, None, None, None] + mean


def _shift_rows(x, shift):
    """x shifted down by `shift[b]` rows (zeros enter), as a gather: differentiable in x."""
    height = x.shape[1]
    rows = ops.arange(height)[None, :] - shift[:, None]  # source row of every output row
    valid = ops.cast((rows >= 0) & (rows < height), x.dtype)
    gathered = ops.take_along_axis(x, ops.clip(rows, 0, height - 1)[:, :, None, None], axis=1)
    return gathered * valid[:, :, None, None]


def translation(x, u, ratio: float = 0.125):
    """Integer shifts of up to ratio * size pixels in y and x, zero-filled."""
    height, width = x.shape[1], x.shape[2]
    max_y, max_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = ops.cast(ops.floor(u[:, 3] * (2 * max_y + 1)), "int32") - max_y
    shift_x = ops.cast(ops.floor(u[:, 4] * (2 * max_x + 1)), "int32") - max_x
    x = _shift_rows(x, shift_y)
    return ops.transpose(_shift_rows(ops.transpose(x, (0, 2, 1, 3)), shift_x), (0, 2, 1, 3))


def cutout(x, u, ratio: float = 0.5):
    """Zeroes one square of ratio * size, centred anywhere in the image."""
    height, width = x.shape[1], x.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = ops.floor(u[:, 5] * (height + 1 - size_y % 2)) - size_y // 2
    left = ops.floor(u[:, 6] * (width + 1 - size_x % 2)) - size_x // 2
    ys = ops.cast(ops.arange(height), "float32")[None, :]
    xs = ops.cast(ops.arange(width), "float32")[None, :]
    inside_y = (ys >= top[:, None]) & (ys < top[:, None] + size_y)
    inside_x = (xs >= left[:, None]) & (xs < left[:, None] + size_x)
    keep = 1.0 - ops.cast(inside_y[:, :, None] & inside_x[:, None, :], x.dtype)
    return x * keep[:, :, :, None]


def diff_augment(x, u, policy: tuple[str, ...]):
    u = ops.cast(u, "float32")
    for name in policy:
        x = {"color": color, "translation": translation, "cutout": cutout}[name](x, u)
    return x
