"""Which kinds of model (tasks) each command takes, in one place: the CLI refuses another kind
from the model's catalog entry before TensorFlow loads, the library functions (ganzoo/actions.py)
again from the loaded model; and the metrics a kind cannot give. Light: imports nothing."""

SAMPLE = ("generation", "style", "volume")  # sample latents, write images or volumes
EVALUATE = SAMPLE  # statistics of samples against real data (FID, KID, coverage, ...)
TRUNCATION = ("style",)  # a tracked average w to truncate towards
STYLE_MIX = ("style",)
INTERPOLATE = ("style", "volume")
SUPER_RESOLUTION = ("super_resolution",)  # upscale, evaluate-sr
TRANSLATE = ("translation",)

# Metrics a kind's features cannot give, and why: `ganzoo evaluate` and a recipe's [evaluation]
# refuse them (time-to-quality leaves them out).
_VOXELS_ONLY = "it compares binary samples voxel by voxel (IoU), for volume models"
_PIECES_ONLY = "it counts connected pieces of binary samples, for volume models"
REFUSED_METRICS = {
    "generation": {"nna": _VOXELS_ONLY, "fragments": _PIECES_ONLY},
    "style": {"nna": _VOXELS_ONLY, "fragments": _PIECES_ONLY},
    "volume": {"kid": "on the volume classifier's features real grids against real ones gave KID -0.008 and "
                      "three draws of a trained generator 0.005-0.014: it cannot tell them apart; use fid or nna"},
}


def refused_metric(kind: str, names: list[str]) -> str | None:
    """'NAME does not measure KIND models: why' for the first of `names` the kind cannot give; None if none."""
    refused = REFUSED_METRICS.get(kind, {})
    return next((f"{name} does not measure {kind} models: {refused[name]}" for name in names if name in refused), None)
