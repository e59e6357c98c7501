"""What the commands do, one library function each: they take a source (a run directory or a
`.keras` file), load the model, and write files. `ganzoo/cli.py` parses arguments, calls one of
these and prints what it returns."""

from __future__ import annotations

import shutil
from pathlib import Path

from ganzoo import kinds, zoo
from ganzoo.errors import GanzooError, NotAClass, Unconditional
from ganzoo.files import atomic_write_bytes
from ganzoo.images import encode_png, write_images
from ganzoo.tasks import require_task
from ganzoo.training import load_trained_model


def export(source: str | Path, base: str | Path = "saved_models", name: str | None = None,
           tflite: str | None = None, max_pixels: int | None = None) -> Path:
    """A run directory or `.keras` file -> <base>/<name>/<version>/ (+ TFLite in the comma-separated
    modes), its model card beside it, and its entry in <base>/models.config. Returns the version
    directory. `max_pixels` bounds the images an image-input signature accepts."""
    from ganzoo.export.saved_model import export_saved_model
    from ganzoo.export.serving import update_models_config
    from ganzoo.export.tflite import parse_modes
    from ganzoo.tasks.base import ServingLimits

    modes = parse_modes(tflite) if tflite else []
    model = load_trained_model(source)
    # zoo:NAME serves as NAME: two entries of one model (dcgan_mnist, dcgan_fashion_mnist) are two
    # servables, not versions of one
    zoo_name = zoo.entry_name(source)
    name = name or zoo_name or model.registry_name
    limits = ServingLimits() if max_pixels is None else ServingLimits(max_pixels=max_pixels)
    version_dir = export_saved_model(model, base, name, modes, limits)
    card = Path(source) / "MODEL_CARD.md"
    if zoo_name:  # a zoo card and the sample grid it shows
        card = zoo.card_path(zoo_name)
        if card.with_suffix(".png").is_file():
            shutil.copyfile(card.with_suffix(".png"), version_dir / card.with_suffix(".png").name)
    if card.is_file():  # beside the SavedModel; TF Serving ignores files it does not know
        shutil.copyfile(card, version_dir / "MODEL_CARD.md")
    update_models_config(Path(base), name)
    return version_dir


def sample(source: str | Path, out: str | Path, num: int, seed: int = 0, label: int | None = None,
           truncation: float | None = None) -> Path:
    """`num` samples of a generator, written by its task a batch at a time (memory does not grow
    with `num`): images as a PNG grid, a `.npz` or a folder of PNGs; volumes as a folder of meshes
    with a sheet of renders, or a `.npz`."""
    out = Path(out)
    if out.suffix not in (".png", ".npz", ""):  # what any sampling task writes; refused before loading
        raise GanzooError(f"the output must be a .png grid, a .npz file or a folder, got {out.name}")
    model = load_trained_model(source)
    task = require_task(model, *kinds.SAMPLE, what=str(source))
    options = {}
    if truncation is not None:
        require_task(model, *kinds.TRUNCATION, what=f"truncation: {source}")
        options["truncation_psi"] = truncation
    if label is not None and not model.num_classes:
        raise Unconditional("label", str(source), model.registry_name)
    if label is not None and not 0 <= label < model.num_classes:
        raise NotAClass("label", str(source), label, model.num_classes)
    return task.write_samples(model, out, num, seed, label, **options)


def style_panel(source: str | Path, out: str | Path, kind: str, **options) -> Path:
    """A style-mixing grid (kind "mix": rows, cols, crossover, truncation_psi) or a latent
    interpolation strip (kind "interpolate": seeds, steps, truncation_psi) of a style-based
    model, written as a PNG."""
    if Path(out).suffix != ".png":
        raise GanzooError(f"the output must be a .png file, got {Path(out).name}")
    model = load_trained_model(source)
    require_task(model, *(kinds.STYLE_MIX if kind == "mix" else kinds.INTERPOLATE), what=str(source))
    try:
        if kind == "mix":
            images, columns = model.style_mix(options["rows"], options["cols"], options["crossover"], options["truncation_psi"])
        else:
            images, columns = model.interpolation_strip(options["seeds"], options["steps"], options["truncation_psi"])
    except ValueError as error:
        raise GanzooError(str(error)) from None
    return write_images(out, images, columns)


def synthesize(source: str | Path, out_dir: str | Path, per_class: int, seed: int = 0) -> Path:
    """<out_dir>/synthetic.npz: `per_class` images of every class of a conditional model."""
    from ganzoo.data.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(load_trained_model(source), per_class, out_dir, seed, source=str(source))


def upscale(source: str | Path, images: list[Path], out: str | Path, tile: int = 128) -> list[Path]:
    """Upscales image files (any size, tile by tile) into `out`: a .png file for one image, else a
    folder of <name>_x<scale>.png."""
    from ganzoo.metrics.super_resolution import read_rgb

    model = load_trained_model(source)
    require_task(model, *kinds.SUPER_RESOLUTION, what=str(source))
    out = Path(out)
    single_file = out.suffix.lower() == ".png"
    if single_file and len(images) > 1:
        raise GanzooError("the output is a .png file but several images were given: give a folder")
    written = []
    for image in images:
        target = out if single_file else out / f"{Path(image).stem}_x{model.scale}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, encode_png(model.upscale_tiled(read_rgb(image), tile)))
        written.append(target)
    return written


def translate(source: str | Path, images: list[Path], out_dir: str | Path, direction: str = "a2b",
              tile: int = 256, size: int | None = None) -> list[Path]:
    """Translates image files (any size, `tile` pixels at a time: memory does not grow with the
    image) into <out_dir>/<name>_<direction>.png; with `size`, each image is first resized so that
    its shorter side is `size` pixels (the scale the model was trained at, for a model of faces)."""
    from ganzoo.data.bicubic import fit_short_side
    from ganzoo.metrics.super_resolution import read_rgb

    model = load_trained_model(source)
    require_task(model, *kinds.TRANSLATE, what=str(source))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for image in images:
        target = out_dir / f"{Path(image).stem}_{direction}.png"
        try:
            pixels = read_rgb(image)
            translated = model.translate_tiled(fit_short_side(pixels, size) if size else pixels, direction, tile)
        except ValueError as error:
            raise GanzooError(str(error)) from None
        atomic_write_bytes(target, encode_png(translated))
        written.append(target)
    return written


def evaluate_sr(source: str | Path | None, set_dirs: list[Path], scale: int = 4) -> dict[str, dict[str, dict]]:
    """PSNR/SSIM rows (bicubic, and the model when `source` is given) for each benchmark set,
    keyed by "<set name> x<scale> (<n> images)"."""
    from ganzoo.metrics.super_resolution import (
        bicubic_upscaler,
        evaluate_upscaler,
        load_sr_set,
    )

    upscalers = {"bicubic": bicubic_upscaler(scale)}
    if source is not None:
        model = load_trained_model(source)
        require_task(model, *kinds.SUPER_RESOLUTION, what=str(source))
        upscalers[str(source)] = model.upscale
    results = {}
    for set_dir in set_dirs:
        pairs = load_sr_set(set_dir, scale)
        results[f"{Path(set_dir).name} x{scale} ({len(pairs)} images)"] = {
            name: evaluate_upscaler(fn, pairs, scale) for name, fn in upscalers.items()}
    return results
