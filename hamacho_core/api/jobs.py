"""Training jobs behind a small interface, so the endpoints do not depend on where the job system lives.

:class:`JobBackend` is what the endpoints call. :class:`AppJobBackend` adapts the app's job system (one queue,
status in ``<project>/jobs/<id>.json``, cancel through the progress callback): a job started through the API is
seen by the app and the other way round, since both read the same job files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hamacho_core.api.runs import RUNS, NotFound, is_complete, parse_id, run_id
from hamacho_core.errors import HamachoError

__all__ = ["AppJobBackend", "JobBackend", "JobView"]


@dataclass
class JobView:
    """A job as the API shows it."""

    id: str
    project: str
    status: str
    stage: str = ""
    done: int = 0
    total: int = 0
    created: str = ""
    error: str = ""
    run_id: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class JobBackend(Protocol):
    """What the train and jobs endpoints need."""

    def submit(self, project_dir: Path, options: dict[str, Any]) -> JobView:
        """Queue training of the project's dataset with TrainConfig options; raises HamachoError when invalid."""

    def get(self, job_id: str) -> JobView:
        """The job; raises NotFound."""

    def cancel(self, job_id: str) -> JobView:
        """Ask the job to stop (nothing happens to a finished job); raises NotFound."""


class AppJobBackend:
    """The app's job system (``ui.jobs.JobManager``), started on first use."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self._manager: Any = None
        self._lock = threading.Lock()

    def _jobs(self) -> Any:
        with self._lock:
            if self._manager is None:
                try:
                    from ui.jobs import JobManager
                except ImportError as error:
                    raise HamachoError("training through the API needs the app's job system (the ui package "
                                       "beside hamacho_core): run `hamacho serve` from the project folder") from error
                self._manager = JobManager()
            return self._manager

    def submit(self, project_dir: Path, options: dict[str, Any]) -> JobView:
        from ui.training import make_config

        config = make_config(project_dir, **options)
        job = self._jobs().submit(project_dir, config)
        return self._view(job)

    def get(self, job_id: str) -> JobView:
        return self._view(self._find(job_id))

    def cancel(self, job_id: str) -> JobView:
        job = self._find(job_id)
        self._jobs().cancel(job.key)
        return self._view(self._find(job_id))

    def _find(self, job_id: str) -> Any:
        project, name = parse_id(job_id, "job")
        project_dir = self.workspace / project
        if project_dir.is_dir() and "/" not in name:
            for job in self._jobs().jobs(project_dir):
                if job.id == name:
                    return job
        raise NotFound(f"no job {job_id!r}: use the id that POST /v1/projects/<project>/train answered")

    def _view(self, job: Any) -> JobView:
        project_dir = Path(job.project)
        run_dir = Path(job.run_dir)
        done_run = None
        if job.status == "done" and is_complete(run_dir):
            done_run = run_id(project_dir.name, run_dir.relative_to(project_dir / RUNS))
        return JobView(f"{project_dir.name}:{job.id}", project_dir.name, job.status, job.stage, job.done, job.total,
                       job.created, job.error, done_run, list(job.log[-20:]))
