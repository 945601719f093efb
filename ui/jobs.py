"""Training as background jobs: one worker thread, a queue, status kept in memory and in ``<project>/jobs/*.json``.

The manager lives once per server process (``get_manager`` is wrapped in ``st.cache_resource`` by the pages), so a
browser refresh or a second tab sees the same jobs; the JSON files let a restarted server show finished runs (a job
that was queued or running when the server stopped is shown as interrupted). Cancelling sets a flag that the
progress callback turns into ``hamacho_core.errors.Cancelled``.
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hamacho_core.errors import Cancelled, HamachoError
from hamacho_core.persistence import atomic_write_text
from hamacho_core.pipeline import TrainConfig, TrainResult, train

__all__ = ["ACTIVE", "Job", "JobManager", "load_jobs"]

ACTIVE = ("queued", "running")
JOBS_DIR = "jobs"
_SAVE_EVERY = 0.5  # seconds between status writes while running


@dataclass
class Job:
    """One training job and its live status."""

    id: str
    project: str  # project folder
    config: dict[str, Any]  # TrainConfig fields
    status: str = "queued"  # queued | running | done | failed | cancelled | interrupted
    stage: str = ""
    done: int = 0
    total: int = 0
    stage_started: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    log: list[str] = field(default_factory=list)
    error: str = ""
    run_dir: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Share of the current stage done."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left in the current stage at its pace so far (None before the first step)."""
        if self.status != "running" or not self.done or not self.total:
            return None
        elapsed = (now or time.time()) - self.stage_started
        return max(0.0, elapsed / self.done * (self.total - self.done))

    def elapsed(self, now: float | None = None) -> float:
        if not self.started:
            return 0.0
        return (self.finished or now or time.time()) - self.started

    @property
    def key(self) -> str:
        """Unique across projects: the run folder."""
        return self.run_dir

    def path(self) -> Path:
        return Path(self.project) / JOBS_DIR / f"{self.id}.json"

    def save(self) -> None:
        atomic_write_text(self.path(), json.dumps(asdict(self), ensure_ascii=False, indent=1))

    def add_log(self, line: str) -> None:
        self.log.append(f"{datetime.now():%H:%M:%S} {line}")


def load_jobs(project: Path) -> list[Job]:
    """Jobs recorded in a project's folder, newest first (unreadable files are skipped)."""
    jobs = []
    for path in sorted((project / JOBS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            jobs.append(Job(**{k: v for k, v in data.items() if k in Job.__dataclass_fields__}))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(jobs, key=lambda job: job.created + job.id, reverse=True)


Trainer = Callable[[TrainConfig, Callable[[int, int, str], None]], TrainResult]


class JobManager:
    """A queue of training jobs run one at a time by one worker thread."""

    def __init__(self, trainer: Trainer = train):
        self._trainer = trainer
        self._jobs: dict[str, Job] = {}
        self._cancel: set[str] = set()
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="hamacho-training", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ API used by the pages
    def submit(self, project: Path, config: TrainConfig) -> Job:
        """Queue a training job; ``config.run_dir`` must be set (its name is the job id)."""
        if not config.run_dir:
            raise ValueError("config.run_dir must be set")
        run_dir = Path(config.run_dir)
        run_dir.mkdir(parents=True, exist_ok=False)
        job = Job(id=run_dir.name, project=str(project), config=asdict(config), run_dir=str(run_dir))
        job.add_log("queued")
        with self._lock:
            self._jobs[job.key] = job
            job.save()
        self._queue.put(job.key)
        return job

    def cancel(self, key: str) -> None:
        """Ask a queued or running job (``Job.key``) to stop."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.status not in ACTIVE:
                return
            self._cancel.add(key)
            if job.status == "queued":
                job.status, job.finished = "cancelled", time.time()
                job.add_log("cancelled before it started")
                _remove_run(Path(job.run_dir), always=True)
                job.save()

    def jobs(self, project: Path) -> list[Job]:
        """The project's jobs: live ones from memory, others from their JSON files (stale active ones = interrupted)."""
        with self._lock:
            live = {v.id: v for v in self._jobs.values() if Path(v.project) == Path(project)}
        out = []
        for job in load_jobs(project):
            if job.id in live:
                out.append(live[job.id])
                continue
            if job.status in ACTIVE:
                job.status = "interrupted"
                job.add_log("the server stopped before this job finished")
            out.append(job)
        return out

    def active(self, project: Path) -> list[Job]:
        return [job for job in self.jobs(project) if job.status in ACTIVE]

    def wait(self, key: str, timeout: float = 600.0) -> Job:
        """Block until a job (``Job.key``) ends (for tests and scripts)."""
        end = time.time() + timeout
        while time.time() < end:
            job = self._jobs[key]
            if job.status not in ACTIVE:
                return job
            time.sleep(0.05)
        raise TimeoutError(key)

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            key = self._queue.get()
            job = self._jobs[key]
            if job.status == "queued" and key not in self._cancel:
                self._run(job)
            self._cancel.discard(key)
            self._queue.task_done()

    def _run(self, job: Job) -> None:
        with self._lock:
            job.status, job.started = "running", time.time()
            job.add_log("started")
            job.save()
        last_save = [0.0]

        def progress(done: int, total: int, stage: str) -> None:
            if job.key in self._cancel:
                raise Cancelled("training cancelled")
            now = time.time()
            if stage != job.stage:
                job.stage, job.stage_started = stage, now
                job.add_log(f"{stage} ({total})")
            job.done, job.total = done, total
            if now - last_save[0] > _SAVE_EVERY:
                last_save[0] = now
                job.save()

        try:
            result = self._trainer(TrainConfig(**job.config), progress)
        except Cancelled:
            self._finish(job, "cancelled", "cancelled")
        except HamachoError as error:
            self._finish(job, "failed", str(error))
        except Exception as error:  # noqa: BLE001 - a job must never kill the worker
            self._finish(job, "failed", f"{type(error).__name__}: {error}")
            job.log.append(traceback.format_exc(limit=3))
        else:
            job.metrics = result.metrics.get("image", {}) | {"input_shape": list(result.input_shape)}
            for warning in result.warnings:
                job.add_log(f"warning: {warning}")
            if result.problems:
                job.add_log(f"{len(result.problems)} file(s) left out or partly used (see the Data page)")
            auroc = result.metrics["image"].get("auroc")
            job.add_log(f"image AUROC {auroc:.3f}, F1 {result.metrics['image']['f1']:.3f}" if auroc is not None
                        else f"image F1 {result.metrics['image']['f1']:.3f}")
            self._finish(job, "done", "")

    def _finish(self, job: Job, status: str, error: str) -> None:
        with self._lock:
            job.status, job.error, job.finished = status, error, time.time()
            job.add_log(status if not error or error == status else f"{status}: {error}")
            if status != "done":
                _remove_run(Path(job.run_dir), always=status == "cancelled")
            self._cancel.discard(job.key)
            job.save()


def _remove_run(folder: Path, always: bool) -> None:
    """Drop the run folder of a cancelled job, or of a failed one that saved no model."""
    if folder.is_dir() and (always or not (folder / "config.yaml").exists()):
        shutil.rmtree(folder, ignore_errors=True)
