"""Run directories: runs/<NNNNN>-<recipe>/, never overwritten, with a `latest` link."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from pathlib import Path

from ganzoo.errors import GanzooError, ModelNotFound

RECIPE_FILE = "recipe.toml"
MODEL_FILE = "model.keras"
CHECKPOINT_DIR = "checkpoints"
BEST_DIR = "best"  # the checkpoint with the best evaluation so far ([evaluation] keep_best)
BEST_FILE = "best.json"  # in BEST_DIR: which metric, value and step
LOG_DIR = "logs"
HISTORY_FILE = "history.jsonl"
SAMPLES_FILE = "samples.png"
RUN_LOG = "run.log"  # one block per start: strategy, replicas, devices, host
METRICS_FILE = "metrics.jsonl"  # one line per evaluation, with its protocol
LOCK_FILE = ".lock"  # held by the process training the run (who it is, inside)
_RUN_NAME = re.compile(r"^(\d{5})-")
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")


def check_model_location(path: str | Path) -> Path:
    """PATH, if it can hold a trained model: a run directory (its model.keras or its recipe and
    checkpoints), a run's best/ (the checkpoint its evaluation kept) or a .keras file. Needs no
    TensorFlow, so a mistyped path is answered at once."""
    path = Path(path)
    if path.is_dir() and ((path / MODEL_FILE).is_file() or (path / RECIPE_FILE).is_file()):
        return path
    if best_of_run(path) is not None:
        return path
    if path.is_file() and path.suffix == ".keras":
        return path
    if path.name == BEST_DIR and (path.parent / RECIPE_FILE).is_file():
        raise ModelNotFound(f"{path} does not exist: run {path.parent} has kept no best checkpoint (its recipe's "
                            "[evaluation] keep_best, measured every_epochs)")
    raise ModelNotFound(f"{path} is neither a run directory, a run's {BEST_DIR}/ nor a .keras file (nor zoo:NAME)")


def best_of_run(path: str | Path) -> Path | None:
    """The run directory when PATH is its best/ folder (the checkpoint that its recipe's
    evaluation kept, built from the run's recipe); None otherwise."""
    path = Path(path)
    if path.name == BEST_DIR and path.is_dir() and (path.parent / RECIPE_FILE).is_file():
        return path.parent
    return None


def checkpoints_newest_first(directory: Path) -> list[Path]:
    """Every checkpoint prefix in the folder by its index file (whatever the manager's state file says)."""
    found = [(int(m.group(1)), p.with_suffix("")) for p in Path(directory).glob("ckpt-*.index")
             if (m := _CHECKPOINT_INDEX.match(p.name))]
    return [prefix for _, prefix in sorted(found, reverse=True)]


def checkpoint_step(prefix: Path) -> int:
    return int(_CHECKPOINT_INDEX.match(Path(prefix).name + ".index").group(1))


def best_record(run_dir: str | Path) -> dict | None:
    """{"metric", "value", "step"} of the checkpoint in a run's best/, or None. best.json says
    it, written just after the checkpoint; a run killed between the two leaves the newer
    checkpoint and the older best.json, so that checkpoint's value is then read from the
    evaluation that kept it (metrics.jsonl, written before either)."""
    best_dir = Path(run_dir) / BEST_DIR
    try:
        record = json.loads((best_dir / BEST_FILE).read_text())
    except (OSError, ValueError):
        record = None
    saved = checkpoints_newest_first(best_dir)
    if not saved or (record is not None and record.get("step") == checkpoint_step(saved[0])):
        return record
    step, metric = checkpoint_step(saved[0]), record["metric"] if record else kept_metric(run_dir)
    values = [row["metrics"][metric] for row in json_lines(Path(run_dir) / METRICS_FILE)
              if row.get("step") == step and "checkpoint" not in row and metric in row.get("metrics", {})]
    return {"metric": metric, "value": values[-1], "step": step} if values else record


def kept_metric(run_dir: str | Path) -> str:
    """The run's recipe's [evaluation] keep_best (read without building the recipe)."""
    import tomllib

    try:
        return tomllib.loads((Path(run_dir) / RECIPE_FILE).read_text()).get("evaluation", {}).get("keep_best", "")
    except (OSError, ValueError):
        return ""


def json_lines(path: Path) -> list[dict]:
    """The records of a .jsonl file of the run (history, metrics); a line torn by a kill is left out."""
    rows = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def run_of(path: str | Path) -> Path:
    """The run directory that PATH belongs to: the run for its best/, else PATH itself."""
    return best_of_run(path) or Path(path)


def model_name_at(path: str | Path) -> str | None:
    """The zoo name of the model at PATH (a run's recipe names it; a .keras file's config names
    its class), read without TensorFlow; None when it cannot be told (loading then says why)."""
    import tomllib
    import zipfile

    from ganzoo.registry import builtin_catalog

    path = run_of(check_model_location(path))
    try:
        if path.is_dir() and (path / RECIPE_FILE).is_file():
            return str(tomllib.loads((path / RECIPE_FILE).read_text())["model"]["name"])
        config = _keras_config(path)
        module, class_name = config["module"], config["class_name"]
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return None
    return next((entry.name for entry in builtin_catalog()
                 if entry.class_name == class_name and module.startswith("ganzoo.models.")), None)


def model_config_at(path: str | Path) -> dict | None:
    """The constructor arguments of the model at PATH (a run's recipe: its preset with its
    overrides; a .keras file: its config), read without TensorFlow; None when they cannot be told."""
    import tomllib
    import zipfile

    from ganzoo.registry import builtin_entry

    path = run_of(check_model_location(path))
    try:
        if path.is_dir() and (path / RECIPE_FILE).is_file():
            model = tomllib.loads((path / RECIPE_FILE).read_text())["model"]
            entry = builtin_entry(str(model["name"]))
            return {**entry.presets[model["preset"]], **model.get("overrides", {})} if entry else None
        return dict(_keras_config(path)["config"])
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return None


def _keras_config(path: Path) -> dict:
    """config.json of a .keras file, or of a run directory's model.keras."""
    import zipfile

    with zipfile.ZipFile(path / MODEL_FILE if path.is_dir() else path) as archive:
        return json.loads(archive.read("config.json"))


def check_run_dir(path: str | Path) -> Path:
    """PATH, if it is a run directory (it has its recipe), as resuming needs."""
    path = Path(path)
    if not (path / RECIPE_FILE).is_file():
        raise ModelNotFound(f"{path} is not a run directory (no {RECIPE_FILE})")
    return path


def new_run_dir(out: str | Path, recipe_name: str) -> Path:
    """Creates the next free runs/<NNNNN>-<name>/ (mkdir is atomic: concurrent runs never share one)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    while True:
        numbers = [int(m.group(1)) for p in out.iterdir() if (m := _RUN_NAME.match(p.name))]
        run_dir = out / f"{max(numbers, default=-1) + 1:05d}-{recipe_name}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        point_latest(out, run_dir)
        return run_dir


def remove_if_empty(run_dir: Path) -> bool:
    """Removes a run that ended before writing a checkpoint or a model (so it holds nothing to
    resume or use: its recipe, and perhaps the start of its logs); `latest` then points at the
    newest run that remains. Returns whether it was removed."""
    import shutil

    run_dir = Path(run_dir)
    if (run_dir / MODEL_FILE).exists() or any((run_dir / CHECKPOINT_DIR).glob("ckpt-*")):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    out = run_dir.parent
    remaining = sorted(p for p in out.iterdir() if _RUN_NAME.match(p.name) and p.is_dir())
    if remaining:
        point_latest(out, remaining[-1])
    elif (out / "latest").is_symlink():
        (out / "latest").unlink()
    return True


def point_latest(out: Path, run_dir: Path) -> None:
    link = out / "latest"
    tmp = out / f".latest.tmp{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    except OSError:
        pass  # file systems without symlinks: the numbered directory is what counts


def append_result(run_dir: Path, result: dict) -> None:
    """One evaluation result as a line of the run's metrics.jsonl, on disk before returning."""
    with open(Path(run_dir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def locked(run_dir: Path):
    """Holds an exclusive OS lock on the run while a process trains it: a second `ganzoo train`
    on the same run directory stops with a line naming the holder instead of writing the same
    checkpoints. The OS drops the lock when the holder exits, however it ends (SIGKILL too)."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): runs are not guarded
        yield
        return
    path = Path(run_dir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise GanzooError(f"{run_dir} is being trained by {holder}; wait for it to end or train another run directory") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
