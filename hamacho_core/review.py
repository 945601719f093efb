"""The review loop: from a run's wrong verdicts, through label changes, to a retrained run compared with it.

* :func:`pending_changes` - the label changes made since a run was trained (still in force): "retrain with 5 changes".
* :func:`retrain_config` - the run's settings on the corrected data, writing a new run of the project.
* :func:`changes_between` - the label changes between two runs of the project.
* :func:`corrected` - a run's evaluation with its pictures where they are now and labelled as they are now, so that
  ``comparison.compare_runs`` pairs the pictures of the old run with the new run's and judges both runs against the
  corrected labels.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hamacho_core.labels import DEFECT, LOCAL, LabelChange, LabelError, append_entries, changes_since, history, label_of
from hamacho_core.workspace import project_data_dir

if TYPE_CHECKING:
    from hamacho_core.config import TrainConfig
    from hamacho_core.evaluation import Evaluation

__all__ = ["RETRAIN", "changes_between", "corrected", "pending_changes", "pictures_in_project", "record_retrain",
           "retrain_config", "retrain_summary", "retrained_from", "run_created"]

RETRAIN = "retrain"
_PLACE = {"dataset_root", "category", "result_path", "run_dir", "data_format", "good_file_list", "bad_file_list",
          "mask_file_list"}


def run_created(run_dir: str | Path) -> datetime:
    """When the run was saved (its config.yaml's ``created``, local time)."""
    from hamacho_core.persistence import read_config

    return datetime.fromisoformat(str(read_config(run_dir)["created"])).astimezone()


def pictures_in_project(project: Path, run_dir: str | Path, pictures: Sequence[str | Path]) -> list[Path]:
    """Where a run's test pictures are in the project's data folder, also when the project was moved or copied
    after training (the run saved absolute paths below its data folder then). The run's config is read once."""
    from hamacho_core.persistence import read_config

    data = project_data_dir(Path(project))
    trained_on: Path | None = None
    places = []
    for picture in pictures:
        path = Path(picture)
        if not path.is_relative_to(data):
            if trained_on is None:
                settings = read_config(run_dir).get("settings") or {}
                trained_on = Path(str(settings.get("dataset_root", ""))) / str(settings.get("category", ""))
            path = data / path.relative_to(trained_on) if path.is_relative_to(trained_on) else path
        places.append(path)
    return places


def pending_changes(project: Path, run_dir: str | Path) -> list[LabelChange]:
    """The project's label changes made after the run was trained and not undone."""
    return changes_since(project, run_created(run_dir))


def changes_between(project: Path, old_run: str | Path, new_run: str | Path) -> list[LabelChange]:
    """Label changes in force that were made after ``old_run`` and before ``new_run`` was saved."""
    end = run_created(new_run)
    return [c for c in pending_changes(project, old_run) if datetime.fromisoformat(c.when) <= end]


def retrain_config(project: Path, run_dir: str | Path) -> TrainConfig:
    """The run's settings (model, backbone, size, split, seed, ...) on the project's data as it is now, writing to a
    new run folder of the project (``config.project_train_config``).

    Raises:
        ModelFileError: the run's config.yaml cannot be read. ConfigError: its settings are no longer valid.
    """
    from hamacho_core.config import TrainConfig, project_train_config
    from hamacho_core.persistence import read_config

    settings = read_config(run_dir).get("settings") or {}
    names = {f.name for f in dataclasses.fields(TrainConfig)} - _PLACE
    return project_train_config(Path(project), {k: v for k, v in settings.items() if k in names})


def corrected(evaluation: Evaluation, project: Path, changes: list[LabelChange]) -> Evaluation:
    """The evaluation with each picture's path and label as the label changes left them (the scores unchanged)."""
    data = project_data_dir(Path(project)).resolve()
    where: dict[str, str] = {}
    for change in changes:
        for source, target in change.moves:
            where[str(data / source)] = str(data / target)
    paths, labels, types = [], evaluation.labels.copy(), list(evaluation.defect_types)
    for index, path in enumerate(evaluation.paths):
        key = str(Path(path).resolve())
        moved = key
        while moved in where:
            moved = where[moved]
        paths.append(moved if moved != key else path)
        if moved != key and Path(moved).is_relative_to(data):
            try:
                label = label_of(Path(moved).relative_to(data).as_posix())
            except LabelError:
                continue
            labels[index] = int(label.startswith(DEFECT))
            types[index] = label.partition(":")[2] if label.startswith(DEFECT) else "good"
    return dataclasses.replace(evaluation, paths=paths, labels=np.asarray(labels), defect_types=types)


def record_retrain(project: Path, old_run: str | Path, new_run: str | Path, changes: list[LabelChange],
                   who: str = LOCAL) -> None:
    """A line of the project's history: ``new_run`` retrains ``old_run`` with these label changes."""
    append_entries(Path(project), [{"action": RETRAIN, "id": uuid.uuid4().hex[:12],
                                    "when": datetime.now(UTC).isoformat(timespec="microseconds"), "who": who or LOCAL,
                                    "old_run": str(old_run), "new_run": str(new_run),
                                    "changes": [c.id for c in changes]}])


def retrained_from(project: Path, run_dir: str | Path) -> Path | None:
    """The run that ``run_dir`` retrained with label changes (None when it was not a retrain)."""
    for entry in reversed(history(Path(project))):
        if entry["action"] == RETRAIN and Path(entry.get("new_run", "")) == Path(run_dir):
            old = Path(entry.get("old_run", ""))
            return old if old.is_dir() else None
    return None


def retrain_summary(changes: list[LabelChange]) -> dict[str, Any]:
    """How many pictures each kind of change touched (for the button's words)."""
    out = {"good": 0, "defect": 0, "excluded": 0, "added": 0}
    for change in changes:
        key = "added" if change.action == "add" else change.after.partition(":")[0]
        out[key] = out.get(key, 0) + 1
    return out
