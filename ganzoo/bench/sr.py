"""`ganzoo bench sr`: the two-stage SRGAN recipes (SRResNet MSE pre-training, then SRGAN from its
generator) each trained for a wall-clock budget, then Set5/Set14-style PSNR/SSIM on the Y channel
beside bicubic upscaling, measured in one process run."""

from __future__ import annotations

import time
from pathlib import Path

from ganzoo.bench.quality import recipes_dir


def train_for(recipe_name: str, overrides: list[str], minutes: float, out: Path) -> dict:
    """Trains recipes/<recipe_name>.toml until `minutes` of wall-clock time have passed (compile
    included) or its planned steps are done; returns the run, its steps and the time taken."""
    from ganzoo.recipes import load_recipe
    from ganzoo.training import load_trained_model, train
    from ganzoo.training.callbacks import TimeBudget, model_step

    recipe = load_recipe(recipes_dir() / f"{recipe_name}.toml", overrides)
    started = time.perf_counter()
    run_dir = train(recipe, out=out, callbacks=[TimeBudget(minutes * 60)], verbose=0)
    seconds = time.perf_counter() - started
    model = load_trained_model(run_dir)
    return {"recipe": recipe, "run": run_dir, "model": model, "steps": model_step(model), "seconds": seconds}


def bench_sr(set_dirs: list[Path], out: Path, srresnet_minutes: float, srgan_minutes: float,
             overrides: list[str] = (), srresnet_lr: float | None = None) -> dict:
    """Returns the stages (recipe, run, steps, seconds) and, per benchmark set, the rows
    bicubic / SRResNet / SRGAN of PSNR and SSIM. `overrides` apply to both recipes;
    `srresnet_lr` replaces the pre-training stage's learning rate only (a short budget gains from
    a larger one than the paper's 1e-4, which the adversarial stage keeps)."""
    from ganzoo.metrics.super_resolution import (
        bicubic_upscaler,
        evaluate_upscaler,
        load_sr_set,
    )

    pretraining = [*overrides, 'name="srresnet_x4_bench"']
    if srresnet_lr:
        pretraining.append(f"optimizer.generator.learning_rate={srresnet_lr}")
    stages = {"SRResNet": train_for("srresnet_x4", pretraining, srresnet_minutes, out)}
    if srgan_minutes > 0:
        init = f'model.init_generator="{stages["SRResNet"]["run"]}"'
        stages["SRGAN"] = train_for("srgan_x4", [*overrides, 'name="srgan_x4_bench"', init], srgan_minutes, out)
    scale = stages["SRResNet"]["model"].scale
    upscalers = {"bicubic": bicubic_upscaler(scale)} | {name: stage["model"].upscale for name, stage in stages.items()}
    sets = {}
    for set_dir in set_dirs:
        pairs = load_sr_set(set_dir, scale)
        sets[f"{Path(set_dir).name} x{scale} ({len(pairs)} images)"] = {
            name: evaluate_upscaler(upscale, pairs, scale) for name, upscale in upscalers.items()
        }
    return {"stages": stages, "sets": sets}


def format_bench_sr(result: dict) -> str:
    lines = [f"{'stage':10s} {'preset':8s} {'loss':12s} {'steps':>7s} {'minutes':>8s} {'batch':>6s} {'G lr':>8s}  run"]
    for name, stage in result["stages"].items():
        model, recipe = stage["model"], stage["recipe"]
        loss = model.content_loss + (f"+{model.adversarial_weight:g}adv" if model.adversarial_weight else "")
        lines.append(f"{name:10s} {recipe.model.preset:8s} {loss:12s} {stage['steps']:7d} "
                     f"{stage['seconds'] / 60:8.1f} {recipe.train.batch_size:6d} {recipe.optimizer.generator.learning_rate:8.0e}  {stage['run']}")
    for set_name, rows in result["sets"].items():
        lines += ["", f"{set_name}: Y-channel PSNR / SSIM, border shaved",
                  f"{'method':10s} {'PSNR dB':>9s} {'SSIM':>8s} {'vs bicubic':>11s}"]
        bicubic = rows["bicubic"]["psnr"]
        lines += [f"{name:10s} {r['psnr']:9.3f} {r['ssim']:8.4f} {r['psnr'] - bicubic:+10.2f}dB" for name, r in rows.items()]
    return "\n".join(lines)
