"""The super-resolution protocol: MATLAB-compatible bicubic resizing and Y-channel PSNR/SSIM that
reproduce the SRGAN paper's bicubic row on Set5 (the proof that the protocol is right)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from ganzoo.cli import main
from ganzoo.data.bicubic import imresize, imresize_batch
from ganzoo.metrics.image_quality import psnr, rgb_to_y, ssim
from ganzoo.metrics.super_resolution import (
    bicubic_upscaler,
    evaluate_upscaler,
    load_sr_set,
)

SR = SHARED_DATA / "sr"


def test_bicubic_resize_keeps_constants_and_matches_matlab_weights():
    flat = np.full((12, 9, 3), 77, np.uint8)
    assert (imresize(flat, 0.25) == 77).all() and (imresize(flat, 4) == 77).all()
    assert imresize(flat, 0.25).shape == (3, 3, 3) and imresize(flat, output_shape=(5, 7)).shape == (5, 7, 3)
    # Upscaling x2 of a ramp: MATLAB's cubic (a = -0.5) interpolates a linear ramp exactly away from the borders.
    ramp = np.arange(16, dtype=np.float64)[None, :].repeat(4, 0)
    up = imresize(ramp, output_shape=(4, 32))
    np.testing.assert_allclose(up[0, 4:-4], np.arange(4, 28) / 2 - 0.25, atol=1e-9)


def test_downscaled_set5_matches_the_matlab_lr_files():
    for pair in load_sr_set(SR / "Set5"):
        ours = imresize(pair.hr, 0.25)
        assert ours.shape == pair.lr.shape
        assert np.abs(ours.astype(int) - pair.lr.astype(int)).mean() < 0.05, pair.name  # MATLAB rounding aside
    # Without antialiasing the inputs differ by several levels on average (the known trap).
    baby = load_sr_set(SR / "Set5")[0]
    assert np.abs(imresize(baby.hr, 0.25, antialias=False).astype(int) - baby.lr.astype(int)).mean() > 2


def test_batched_bicubic_resize_equals_resizing_image_by_image():
    baby = load_sr_set(SR / "Set5")[0].hr
    rng = np.random.default_rng(0)
    corners = [(rng.integers(baby.shape[0] - 40), rng.integers(baby.shape[1] - 28)) for _ in range(7)]
    patches = np.stack([baby[top : top + 40, left : left + 28] for top, left in corners])
    for batch, options in ((patches, {"scale": 0.25}), (patches / 255.0, {"output_shape": (13, 50)})):
        one_by_one = np.stack([imresize(patch, **options) for patch in batch])
        batched = imresize_batch(batch, chunk=3, **options)  # chunks of 3, 3 and 1
        assert batched.dtype == one_by_one.dtype and batched.shape == one_by_one.shape
        # Equal up to summation order: a batched contraction may add in another order than a single
        # image's (1-2 ulp seen on an AVX-512 CPU, none on AVX2), which could also tip a rounding.
        if np.issubdtype(batched.dtype, np.integer):
            assert np.abs(batched.astype(np.int64) - one_by_one).max() <= 1
        else:
            np.testing.assert_allclose(batched, one_by_one, rtol=1e-12, atol=1e-12)
    assert imresize_batch(patches[:0], 0.25).shape == (0, 10, 7, 3)


def test_psnr_and_ssim_definitions():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 40)).astype(np.float64)
    noisy = image + rng.normal(0, 5, image.shape)
    assert psnr(image, noisy) == pytest.approx(10 * np.log10(255**2 / np.mean((image - noisy) ** 2)))
    assert ssim(image, image) == pytest.approx(1.0) and 0 < ssim(image, noisy) < 1
    assert rgb_to_y(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(235.0, abs=1e-6)
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == pytest.approx(16.0)


@pytest.mark.parametrize("name, paper_psnr, tolerance", [("Set5", 28.43, 0.05), ("Set14", 26.09, 0.05)])
def test_bicubic_row_reproduces_the_published_psnr(name, paper_psnr, tolerance):
    result = evaluate_upscaler(bicubic_upscaler(4), load_sr_set(SR / name), scale=4)
    # Set5: the SRGAN paper's 28.43 dB. Set14: these files measure 26.09 (the paper's copy: 25.99).
    assert result["psnr"] == pytest.approx(paper_psnr, abs=tolerance)
    # SSIM as EDSR/RCAN tables report it for bicubic x4 (0.8104 / 0.7027); the SRGAN paper's
    # SSIM implementation gave 0.8211 / 0.7486.
    assert result["ssim"] == pytest.approx({"Set5": 0.8104, "Set14": 0.7027}[name], abs=0.003)


def test_evaluate_sr_command_prints_the_bicubic_row(tmp_path):
    result = CliRunner().invoke(main, ["evaluate-sr", "--set", str(SR / "Set5")])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("bicubic"))
    assert float(row.split()[1]) == pytest.approx(28.43, abs=0.05)
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["evaluate-sr", "--set", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "has no images" in result.output
