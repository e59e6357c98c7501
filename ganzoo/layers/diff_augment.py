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


def _shifted(x, k: int, axis: int):
    """x moved by the constant k pixels along axis 1 (down) or 2 (right), zeros entering."""
    if k == 0:
        return x
    size, padding = x.shape[axis], [[0, 0]] * 4
    padding[axis] = [k, 0] if k > 0 else [0, -k]
    window = [slice(None)] * 4
    window[axis] = slice(0, size) if k > 0 else slice(-size, None)
    return ops.pad(x, padding)[tuple(window)]


def _shift(x, shift, axis: int, max_shift: int):
    """x shifted by `shift[b]` (|shift| <= max_shift) pixels along `axis`: a sum over the constant
    shifts, each kept where it is the image's own. Pads, slices and products only, so the lazy-R1
    branch's gradient of a gradient compiles with XLA (a gather or transpose there does not)."""
    out = ops.zeros_like(x)
    for k in range(-max_shift, max_shift + 1):
        out = out + _shifted(x, k, axis) * ops.cast(ops.equal(shift, k), x.dtype)[:, None, None, None]
    return out


def translation(x, u, ratio: float = 0.125):
    """Integer shifts of up to ratio * size pixels in y and x, zero-filled."""
    height, width = x.shape[1], x.shape[2]
    max_y, max_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = ops.cast(ops.floor(u[:, 3] * (2 * max_y + 1)), "int32") - max_y
    shift_x = ops.cast(ops.floor(u[:, 4] * (2 * max_x + 1)), "int32") - max_x
    return _shift(_shift(x, shift_y, 1, max_y), shift_x, 2, max_x)


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
