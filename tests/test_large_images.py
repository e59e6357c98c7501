"""Large images bound memory: exported image signatures refuse images over the export's pixel
limit before any decoding or network work, the super-resolution SavedModel upscales allowed ones
tile by tile in its graph, and `ganzoo translate` tiles with whole-image normalisation statistics."""

from __future__ import annotations

import subprocess
import sys
import zlib

import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.export import export_saved_model
from ganzoo.tasks.base import ServingLimits


def png_bytes(width: int, height: int) -> bytes:
    """A black RGB PNG of any size: a few hundred KB on disk however large it is decoded."""
    row = b"\x00" * (1 + 3 * width)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def sr_export(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    model = ganzoo.create_model("srgan", "tiny")
    base = tmp_path_factory.mktemp("sr")
    version_dir = export_saved_model(model, base, "sr", limits=ServingLimits(max_pixels=64 * 64, tile=16))
    return model, version_dir, tf.saved_model.load(str(version_dir)).signatures


def test_the_savedmodel_upscales_tile_by_tile_as_the_whole_image(sr_export):
    """A 45 x 38 image is 9 tiles of 16: every signature equals the generator on the whole image."""
    model, _, signatures = sr_export
    image = np.random.default_rng(0).integers(0, 256, (2, 45, 38, 3), dtype=np.uint8)
    whole = model.sampling_generator(image.astype("float32") / 127.5 - 1, training=False).numpy()
    tiled = signatures["upscale"](image=tf.constant(image.astype("float32") / 127.5 - 1))["images"].numpy()
    assert tiled.shape == (2, 180, 152, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)  # convolutions of other sizes round differently
    served = signatures["serving_default"](image=tf.constant(image))["images"].numpy()
    assert np.abs(served.astype(int) - np.clip(np.round((whole + 1) * 127.5), 0, 255)).max() <= 1
    png = signatures["upscale_png"](image_bytes=tf.io.encode_png(image[0]))["png_bytes"]
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), served[0])


@pytest.mark.parametrize("signature", ["serving_default", "upscale"])
def test_images_over_the_limit_are_refused_naming_it(sr_export, signature):
    _, _, signatures = sr_export
    dtype = np.uint8 if signature == "serving_default" else np.float32
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"at most 4096 pixels per image"):
        signatures[signature](image=tf.constant(np.zeros((1, 65, 64, 3), dtype)))


def test_a_png_bomb_is_refused_from_its_header_in_bounded_memory(sr_export, tmp_path):
    """A 20000 x 20000 PNG (400 MB of pixels, 1.2 GB decoded) against the same export: refused
    before decoding; the process stays far below what decoding it would take (before: past 10 GB)."""
    _, version_dir, _ = sr_export
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(20000, 20000))
    script = f"""
import tensorflow as tf
from ganzoo.bench.memory import peak_memory_mib
signature = tf.saved_model.load({str(version_dir)!r}).signatures["upscale_png"]
try:
    signature(image_bytes=tf.constant(open({str(bomb)!r}, "rb").read()))
    print("served")
except tf.errors.InvalidArgumentError as error:
    print("refused", "20000 x 20000" in str(error).replace("] [", " ").replace("[", "").replace("]", ""), "at most 4096" in str(error))
print(int(peak_memory_mib()))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out[:3] == ["refused", "True", "True"], out
    assert int(out[-1]) < 1500, f"peak {out[-1]} MiB"


def test_files_that_are_not_png_or_jpeg_are_refused(sr_export):
    _, _, signatures = sr_export
    for data in (b"GIF89a" + b"\0" * 40, b"", b"\x89PN"):
        with pytest.raises(tf.errors.InvalidArgumentError, match="image_bytes must be one PNG or JPEG file"):
            signatures["upscale_png"](image_bytes=tf.constant(data))
    jpeg = tf.io.encode_jpeg(np.zeros((70, 70, 3), np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 4096 pixels"):
        signatures["upscale_png"](image_bytes=jpeg)


def test_translation_signatures_refuse_images_over_the_limit(tmp_path):
    model = ganzoo.create_model("cyclegan", "tiny")
    version_dir = export_saved_model(model, tmp_path, "cg", limits=ServingLimits(max_pixels=32 * 32))
    signatures = tf.saved_model.load(str(version_dir)).signatures
    assert signatures["a2b"](image=tf.zeros([1, 32, 32, 3], tf.uint8))["images"].shape == (1, 32, 32, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 1024 pixels"):
        signatures["b2a"](image=tf.zeros([1, 36, 32, 3], tf.uint8))


def test_tiled_translation_equals_the_whole_image():
    """Whole-image normalisation statistics, built tile by tile, and a margin that covers the
    receptive field: the tiles give the whole-image translation (to a uint8 level)."""
    model = ganzoo.create_model("cyclegan", "tiny")
    image = np.random.default_rng(1).integers(0, 256, (150, 118, 3), dtype=np.uint8)
    whole = model.translate_any_size(image, "a2b")
    tiled = model.translate_tiled(image, "a2b", tile=32)
    assert tiled.shape == image.shape and np.abs(tiled.astype(int) - whole).max() <= 1
    with pytest.raises(ValueError, match="tile must be a multiple of 4"):
        model.translate_tiled(image, tile=30)


def test_translating_a_large_image_stays_in_bounded_memory(tmp_path):
    """A 2000 x 2000 image with the tiny preset peaked at 2765 MiB translated whole (3000 x 3000:
    6.3 GB); tiled, at 887 MiB."""
    from PIL import Image

    ganzoo.create_model("cyclegan", "tiny").save(tmp_path / "cg.keras")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    script = f"""
from ganzoo.actions import translate
from ganzoo.bench.memory import peak_memory_mib
[path] = translate({str(tmp_path / "cg.keras")!r}, [{str(tmp_path / "big.png")!r}], {str(tmp_path / "out")!r})
print(path, int(peak_memory_mib()))
"""
    path, peak = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()[-2:]
    assert int(peak) < 1600, f"peak {peak} MiB"
    assert tf.io.decode_png(tf.io.read_file(path)).shape == (2000, 2000, 3)
