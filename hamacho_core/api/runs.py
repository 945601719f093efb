"""Runs of the workspace, and a bounded cache of loaded models that scores pictures in one torch thread.

The workspace layout is the core's (``hamacho_core/projects.py``)::

    <workspace>/<project>/runs/<run folder>/config.yaml   a run (hamacho_core.persistence)

A run's id is ``<project>:<run folder>`` (``:`` cannot occur in a project name). Only complete runs are listed
(``persistence.is_complete``): config.yaml readable, weights present, and the evaluation written (training writes it
last).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core.errors import HamachoError, ModelFileError, WorkspaceError
from hamacho_core.persistence import WEIGHTS_PATH, LoadedRun, is_complete, list_runs, load_run, read_config
from hamacho_core.projects import ProjectError, check_name, open_project
from hamacho_core.scoring import PictureScore, score_arrays, with_thresholds
from hamacho_core.thresholds import Normalization
from hamacho_core.workspace import PROJECT_RUNS

__all__ = ["ModelCache", "NotFound", "RunCatalog", "RunInUse", "RunRecord", "find_run", "list_workspace_runs",
           "parse_id", "project_folder_or_404", "run_id"]

RUNS = PROJECT_RUNS


class NotFound(HamachoError):
    """A run, project or job named in the request does not exist."""


class RunInUse(HamachoError):
    """A run that a queued or running job uses."""


@dataclass
class RunRecord:
    """A complete run and its config.yaml."""

    id: str
    project: str
    run_dir: Path
    config: dict[str, Any] = field(repr=False)


def _valid_project(name: str) -> bool:
    try:
        return check_name(name) == name
    except ProjectError:
        return False


def project_folder_or_404(workspace: Path, name: str) -> Path:
    """An existing project's folder (``hamacho_core.projects.open_project``), or NotFound (404)."""
    try:
        return open_project(name, workspace)
    except (ProjectError, WorkspaceError) as error:
        raise NotFound(f"{error}; GET /v1/runs lists the projects' runs, the app creates projects") from error


def run_id(project: str, relative: Path) -> str:
    return f"{project}:{relative.as_posix()}"


def parse_id(identifier: str, kind: str = "run") -> tuple[str, str]:
    """(project, relative folder) of a ``<project>:<folder>`` id.

    Raises:
        NotFound: malformed id, or one that would leave the project's folder.
    """
    project, sep, relative = identifier.partition(":")
    if (not sep or not _valid_project(project) or not relative or relative.startswith(".")
            or any(c in relative for c in "/\\:\0")):
        raise NotFound(f"no {kind} {identifier!r}: ids look like <project>:<run folder>; GET /v1/runs lists them")
    return project, relative


def list_workspace_runs(workspace: Path) -> list[RunRecord]:
    """Every complete, readable run of every project (``persistence.list_runs``), newest first."""
    records = []
    if not workspace.is_dir():
        return records
    for project in sorted(p for p in workspace.iterdir() if p.is_dir() and not p.name.startswith(".")):
        runs = project / RUNS
        if not runs.is_dir():
            continue
        records += [RunRecord(run_id(project.name, run.run_dir.relative_to(runs)), project.name, run.run_dir,
                              run.config)
                    for run in list_runs(runs, complete_only=True) if run.run_dir.parent == runs]  # ids: one level
    return sorted(records, key=lambda r: str(r.config.get("created", "")), reverse=True)


def find_run(workspace: Path, identifier: str) -> RunRecord:
    """The complete run with this id.

    Raises:
        NotFound: no such complete run.
        ModelFileError: the run's config.yaml is damaged or from a newer version.
    """
    project, relative = parse_id(identifier)
    runs = (workspace / project / RUNS).resolve()
    run_dir = (runs / relative).resolve()
    if not run_dir.is_relative_to(runs) or not is_complete(run_dir):
        raise NotFound(f"no complete run {identifier!r} in the workspace: GET /v1/runs lists the runs you can use")
    return RunRecord(identifier, project, run_dir, read_config(run_dir))


@dataclass
class _Entry:
    run: LoadedRun
    stamp: int  # weights file mtime when loaded
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelCache:
    """Loaded runs, least recently used evicted beyond ``capacity``; scoring runs in ``torch_threads`` threads.

    Torch runs in one thread by default (``docs/architecture.md``: a second thread starts a second OpenMP team and
    slows both down); the per-model lock keeps a model in one thread at a time if more threads are allowed.
    Thresholds are read from config.yaml on every call, so thresholds saved in the app apply at once.
    """

    def __init__(self, capacity: int = 4, accelerator: str = "auto", torch_threads: int = 1):
        self.capacity = max(1, capacity)
        self.accelerator = accelerator
        self._entries: OrderedDict[Path, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Path, threading.Lock] = {}
        self._executor = ThreadPoolExecutor(max(1, torch_threads), thread_name_prefix="hamacho-torch")
        self.loads = 0  # models loaded so far (a second request for the same run does not reload)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def score(self, record: RunRecord, images: Sequence[np.ndarray], names: Sequence[str],
              image_norm: float | None = None, pixel_norm: float | None = None,
              keep_maps: bool = False) -> tuple[list[PictureScore], Normalization, list[str]]:
        """Score pictures with a run (loaded on first use).

        Returns:
            (one result per picture, the normalization used, warnings).

        Raises:
            ConfigError: a threshold out of range.
            ModelFileError: the run cannot be loaded.
        """
        normalization, warnings = with_thresholds(Normalization.from_dict(record.config["normalization"]),
                                                  image_norm, pixel_norm)
        if not images:
            return [], normalization, warnings
        future = self._executor.submit(self._score, record.run_dir, images, names, normalization, keep_maps)
        return future.result(), normalization, warnings

    def load(self, record: RunRecord) -> None:
        """Load a run now (in the torch thread), so that its first prediction does not wait for it."""
        self._executor.submit(self._get, record.run_dir).result()

    def unload(self, run_dir: Path) -> bool:
        """Drop a run from memory; False when it was not loaded."""
        with self._lock:
            return self._entries.pop(run_dir, None) is not None

    def loaded(self) -> list[Path]:
        """Loaded run folders, least recently used first."""
        with self._lock:
            return list(self._entries)

    def _score(self, run_dir: Path, images: Sequence[np.ndarray], names: Sequence[str],
               normalization: Normalization, keep_maps: bool) -> list[PictureScore]:
        entry = self._get(run_dir)
        with entry.lock:
            return score_arrays(entry.run.detector, normalization, images, names, keep_maps)

    def _get(self, run_dir: Path) -> _Entry:
        stamp = (run_dir / WEIGHTS_PATH).stat().st_mtime_ns
        with self._lock:
            entry = self._entries.get(run_dir)
            if entry is not None and entry.stamp == stamp:
                self._entries.move_to_end(run_dir)
                return entry
            loading = self._loading.setdefault(run_dir, threading.Lock())
        with loading:  # one load per run even when several requests ask at once
            with self._lock:
                entry = self._entries.get(run_dir)
                if entry is not None and entry.stamp == stamp:
                    return entry
            try:
                # One picture per forward pass, as `hamacho inference` (--batch-size 1): the same scores, bit for bit.
                run = load_run(run_dir, self.accelerator, batch_size=1)
            except ModelFileError as error:
                raise ModelFileError(f"{error}. This run cannot be used: train it again, or use another run "
                                     "(GET /v1/runs)") from error
            entry = _Entry(run, stamp)
            with self._lock:
                self.loads += 1
                self._entries[run_dir] = entry
                self._entries.move_to_end(run_dir)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
                self._loading.pop(run_dir, None)
            return entry


class RunCatalog:
    """The runs a server offers: the workspace's, plus run folders or results roots given to ``hamacho serve``
    (runs trained with ``hamacho train --result-path ROOT``: ``ROOT/<category>/<model>/``).

    Every run has an id of the same form, ``<project>:<run folder>``: a run outside the workspace is named by its
    parent folder and its own (``bottle:patchcore``). A workspace run wins over an outside run of the same id; the
    outside folders are scanned again on each call (a run trained meanwhile appears).
    """

    def __init__(self, workspace: Path, run_paths: Sequence[str | Path] = ()):
        self.workspace = workspace
        self.run_paths = [Path(p).expanduser().resolve() for p in run_paths]
        for path in self.run_paths:
            if not path.is_dir():
                raise NotFound(f"run folder or results root {path} not found: give an existing folder")

    def _outside(self) -> dict[str, RunRecord]:
        found: dict[str, RunRecord] = {}
        for path in self.run_paths:
            for run in list_runs(path, complete_only=True):
                identifier = f"{run.run_dir.parent.name}:{run.run_dir.name}"
                if ":" in run.run_dir.parent.name + run.run_dir.name or identifier in found:
                    continue  # first path wins
                found[identifier] = RunRecord(identifier, run.run_dir.parent.name, run.run_dir, run.config)
        return found

    def list(self) -> list[RunRecord]:
        """Every complete run, the workspace's first, each group newest first."""
        inside = list_workspace_runs(self.workspace)
        ids = {r.id for r in inside}
        outside = sorted((r for i, r in self._outside().items() if i not in ids),
                         key=lambda r: str(r.config.get("created", "")), reverse=True)
        return inside + outside

    def find(self, identifier: str) -> RunRecord:
        """Raises: NotFound, ModelFileError (as :func:`find_run`)."""
        try:
            return find_run(self.workspace, identifier)
        except NotFound:
            outside = self._outside().get(identifier) if self.run_paths else None
            if outside is None:
                raise
            return RunRecord(outside.id, outside.project, outside.run_dir, read_config(outside.run_dir))
