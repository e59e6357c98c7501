"""MODEL_CARD.md of a run: what was trained on what, for how long, on which hardware, and the
metrics it reached with their protocol. Rewritten at the end of training and after every
`ganzoo evaluate`; `ganzoo export` copies it beside the SavedModel."""

from __future__ import annotations

from pathlib import Path

from ganzoo.files import atomic_write_bytes
from ganzoo.training import runs

MODEL_CARD = "MODEL_CARD.md"


def last_start(run_dir: Path) -> dict[str, str]:
    """The key/value lines of the newest block of run.log."""
    path = run_dir / runs.RUN_LOG
    if not path.is_file():
        return {}
    block = path.read_text().split("started ")[-1]
    fields = {}
    for line in block.splitlines():
        if line.startswith("- ") and ": " in line:
            key, value = line[2:].split(": ", 1)
            fields[key] = value
    return fields


def model_card_text(run_dir: Path) -> str:
    from ganzoo.recipes import load_recipe

    recipe = load_recipe(run_dir / runs.RECIPE_FILE)
    history = runs.json_lines(run_dir / runs.HISTORY_FILE)
    evaluations = runs.json_lines(run_dir / runs.METRICS_FILE)
    start = last_start(run_dir)
    train = recipe.train
    lines = [
        f"# {recipe.name}: {recipe.model.name} ({recipe.model.preset})",
        "",
        recipe.description or "",
        "",
        "## Training",
        f"- Data: {start.get('data', recipe.data.source)}",
        f"- Steps: {history[-1]['step'] if history else 0} of {train.steps}, global batch {train.batch_size}, "
        f"loss {train.loss}, seed {train.seed}",
        f"- Optimizers: G {recipe.optimizer.generator.name} {recipe.optimizer.generator.learning_rate:g}, "
        f"D {recipe.optimizer.discriminator.name} {recipe.optimizer.discriminator.learning_rate:g}",
        f"- Hardware: {start.get('host', 'unknown')}; devices: {start.get('devices', 'unknown')}; "
        f"strategy {start.get('strategy', train.strategy)} with {start.get('replicas', '?')} replica(s); "
        f"precision {start.get('mixed precision', train.mixed_precision)}, XLA {start.get('xla', train.jit_compile)}",
    ]
    if history:
        last = history[-1]
        losses = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("epoch", "step", "elapsed_s", "cpu_s"))
        lines.append(f"- Last logged losses (step {last['step']}): {losses}")
    lines += ["", "## Metrics", ""]
    if evaluations:
        for evaluation in evaluations[-3:]:  # the newest three
            which = f", the {evaluation['checkpoint']}/ checkpoint" if evaluation.get("checkpoint") else ""
            lines += [f"Step {evaluation.get('step')}{which} ({evaluation.get('time', '')}):", "",
                      "| metric | value |", "|---|---:|"]
            lines += [f"| {name} | {value:.5g} |" for name, value in evaluation["metrics"].items()]
            protocol = ", ".join(f"{k}={v}" for k, v in evaluation["protocol"].items())
            lines += ["", f"Protocol: {protocol}", ""]
    else:
        lines.append("Not evaluated yet: `ganzoo evaluate RUN`.")
    lines += ["", "## Samples", "", f"![samples]({runs.SAMPLES_FILE})" if (run_dir / runs.SAMPLES_FILE).is_file() else
              "No sample grid yet.", ""]
    return "\n".join(lines)


def write_model_card(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    path = run_dir / MODEL_CARD
    atomic_write_bytes(path, model_card_text(run_dir).encode())
    return path
