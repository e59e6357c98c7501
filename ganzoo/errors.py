"""Errors that the CLI reports as one line (no traceback)."""


class GanzooError(Exception):
    """Base class: a user-facing problem with a clear one-line message."""


class RecipeError(GanzooError):
    """A recipe key is unknown, has the wrong type, or names a missing file."""


class DataError(GanzooError):
    """A dataset cannot be found, downloaded, or decoded."""


class TrainingDiverged(GanzooError):
    """A loss became NaN or Inf; training stopped and the last good checkpoint stays."""


class ModelNotFound(GanzooError):
    """An unknown model name or preset, or a run directory without a model."""


class TrainingFailed(GanzooError):
    """Training could not go on (a full disk, a run held by another process); the run's last
    good checkpoint stays restorable."""


class WrongTask(GanzooError):
    """A command for some kinds of model (tasks) was given a model of another kind."""

    def __init__(self, what: str, model_name: str, task: str, allowed: tuple[str, ...]):
        kinds = " or ".join(name.replace("_", "-") for name in allowed)
        super().__init__(f"{what} holds a {model_name} ({task} model), not a {kinds} model")


class Unconditional(GanzooError):
    """Labels were asked of a model that has no classes."""

    def __init__(self, what: str, source: str | None, model_name: str):
        model = f"{source} holds a {model_name}, which" if source else f"a {model_name}"
        super().__init__(f"{what}: {model} is unconditional (no classes): give a conditional model (cgan)")


class NotAClass(GanzooError):
    """A class label outside a conditional model's classes."""

    def __init__(self, what: str, source: str, label: int, num_classes: int):
        super().__init__(f"{what}: {source} has classes 0 to {num_classes - 1}, got {label}")
