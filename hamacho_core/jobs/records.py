"""A job's record: one JSON file per job in ``<project>/jobs/<id>.json``, the only channel between processes.

The server writes a record while the job waits (queued) and when it ends abnormally (cancelled before start,
dead worker, server restarted); the worker process owns it while the job runs (status, stage, progress, log,
result). Every write is atomic (temporary file + rename), so a reader never sees half a record.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hamacho_core.persistence import atomic_write_text

__all__ = ["ACTIVE", "JOBS_DIR", "STAGE_WEIGHTS", "Job", "load_job", "load_jobs"]

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
JOBS_DIR = "jobs"
DEFAULT_TRAINER = "hamacho_core.pipeline:train"

# Share of a training's time spent in each stage (measured on the demo set, 2-core CPU), in the order they run.
# Stages not listed (other trainers) count with a small weight of their own.
STAGE_WEIGHTS: dict[str, float] = {
    "checking images": 0.05, "extracting features": 0.35, "coreset": 0.15, "predicting": 0.30,
    "reading masks": 0.02, "writing outputs": 0.13,
}
_OTHER_STAGE = 0.05


@dataclass
class Job:
    """One job and its live status (times are Unix seconds; 0 = not yet)."""

    id: str
    project: str  # project folder
    config: dict[str, Any]  # TrainConfig fields
    status: str = "queued"  # queued | running | done | failed | cancelled | interrupted
    stage: str = ""
    done: int = 0  # steps done in the current stage
    total: int = 0  # steps of the current stage
    stage_started: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    log: list[str] = field(default_factory=list)
    error: str = ""
    run_dir: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    estimated_seconds: float = 0.0  # the caller's estimate of the whole job (0 = unknown)
    trainer: str = DEFAULT_TRAINER  # "module:function" called as function(TrainConfig, progress)
    pid: int = 0  # the worker process while running
    owner_pid: int = 0  # the server process that queued the job
    stages_seen: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ progress
    @property
    def fraction(self) -> float:
        """Share of the current stage done."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def overall_fraction(self) -> float:
        """Share of the whole job done (stage weights of ``STAGE_WEIGHTS``; never falls back at a new stage)."""
        if self.status == "done":
            return 1.0
        if self.status != "running" or not self.stage:
            return 0.0
        order = list(STAGE_WEIGHTS)
        weight = STAGE_WEIGHTS.get(self.stage, _OTHER_STAGE)
        if self.stage in STAGE_WEIGHTS:
            before = sum(STAGE_WEIGHTS[name] for name in order[:order.index(self.stage)])
        else:
            before = sum(STAGE_WEIGHTS.get(name, _OTHER_STAGE) for name in self.stages_seen if name != self.stage)
        total = sum(STAGE_WEIGHTS.values()) + _OTHER_STAGE * sum(s not in STAGE_WEIGHTS for s in self.stages_seen)
        return min(0.99, (before + weight * self.fraction) / total)

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left for the whole job: its pace so far, or the estimate before there is one (None = unknown)."""
        if self.status != "running":
            return None
        elapsed = self.elapsed(now)
        fraction = self.overall_fraction
        if fraction >= 0.05 and elapsed > 1.0:
            return max(0.0, elapsed / fraction * (1.0 - fraction))
        if self.estimated_seconds:
            return max(0.0, self.estimated_seconds - elapsed)
        return None

    def expected_seconds(self) -> float:
        """Whole-job duration to plan the queue with (estimate, else a minute)."""
        return self.estimated_seconds or 60.0

    def elapsed(self, now: float | None = None) -> float:
        if not self.started:
            return 0.0
        return (self.finished or now or time.time()) - self.started

    # ------------------------------------------------------------------ identity and storage
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


def load_job(path: Path) -> Job | None:
    """The job recorded in ``path`` (None when missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Job(**{k: v for k, v in data.items() if k in Job.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def load_jobs(project: Path) -> list[Job]:
    """Jobs recorded in a project's folder, newest first (unreadable files are skipped)."""
    jobs = [job for path in sorted((Path(project) / JOBS_DIR).glob("*.json")) if (job := load_job(path))]
    return sorted(jobs, key=lambda job: job.created + job.id, reverse=True)
