"""Tasks: what differs by kind of model (ganzoo/tasks/base.py says what a task provides). A model
class names its task once (`task = "generation"`); everything else asks `task_of(model)`."""

from __future__ import annotations

from ganzoo.errors import GanzooError, WrongTask
from ganzoo.tasks.base import Task, TFLiteNetwork, TrainingData
from ganzoo.tasks.generation import GenerationTask
from ganzoo.tasks.style import StyleTask
from ganzoo.tasks.super_resolution import SuperResolutionTask
from ganzoo.tasks.translation import TranslationTask
from ganzoo.tasks.volume import VolumeTask

TASKS: dict[str, Task] = {task.name: task for task in (GenerationTask(), StyleTask(), SuperResolutionTask(), TranslationTask(),
                                           VolumeTask())}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise GanzooError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None


def task_of(model) -> Task:
    """The task of a model (or model class)."""
    return get_task(model.task)


def require_task(model, *names: str, what: str = "") -> Task:
    """task_of(model), or a one-line error when it is not one of `names` (a command for one kind)."""
    task = task_of(model)
    if task.name not in names:
        raise WrongTask(what or model.registry_name, model.registry_name, task.name, names)
    return task


__all__ = ["TASKS", "TFLiteNetwork", "Task", "TrainingData", "get_task", "require_task", "task_of"]
