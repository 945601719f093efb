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

from hamacho_core.atomic import atomic_write_text

__all__ = ["ACTIVE", "INFERENCE", "INFERENCE_STAGE_WEIGHTS", "JOBS_DIR", "KINDS", "STAGE_WEIGHTS", "TRAIN", "Job",
           "job_id", "load_job", "load_jobs", "record_path"]

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
JOBS_DIR = "jobs"
DEFAULT_TRAINER = "hamacho_core.pipeline:train"
DEFAULT_INFERRER = "hamacho_core.jobs.inference:run_inference_job"
TRAIN, INFERENCE = "train", "inference"  # job kinds
KINDS = (TRAIN, INFERENCE)

# Share of a training's time spent in each stage (measured on the demo set, 2-core CPU), in the order they run.
# Stages not listed (other trainers) count with a small weight of their own.
STAGE_WEIGHTS: dict[str, float] = {
    "checking images": 0.05, "extracting features": 0.35, "coreset": 0.15, "predicting": 0.30,
    "reading masks": 0.02, "writing outputs": 0.13,
}
# The same for an inference job (hamacho_core.pipeline.infer; the writer threads finish after the last batch).
INFERENCE_STAGE_WEIGHTS: dict[str, float] = {"checking images": 0.05, "predicting": 0.75, "writing outputs": 0.20}
_OTHER_STAGE = 0.05
STARTING = "starting"  # planning.STARTING: the start-up before a training's first stage
PLAN_PRIOR = 0.25  # share of the plan taken as already run at the planned pace (eta_seconds)


@dataclass
class Job:
    """One job and its live status (times are Unix seconds; 0 = not yet)."""

    id: str
    project: str  # project folder
    config: dict[str, Any]  # TrainConfig fields (kind "train") or InferenceJobConfig fields (kind "inference")
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
    run_dir: str = ""  # the job's folder (its key): the run folder of a training, the inference folder of an inference
    metrics: dict[str, Any] = field(default_factory=dict)  # training: image metrics; inference: picture counts
    estimated_seconds: float = 0.0  # the caller's estimate of the whole job (0 = unknown)
    trainer: str = DEFAULT_TRAINER  # "module:function" called as function(config, progress)
    pid: int = 0  # the worker process while running
    owner_pid: int = 0  # the server process that queued the job
    stages_seen: list[str] = field(default_factory=list)
    kind: str = TRAIN  # "train" | "inference" (records written before kinds existed are trainings)
    stage_plan: dict[str, float] = field(default_factory=dict)  # planned seconds per stage, in order (TrainPlan.stages)

    # ------------------------------------------------------------------ progress
    @property
    def fraction(self) -> float:
        """Share of the current stage done."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def overall_fraction(self) -> float:
        """Share of the whole job done (stage weights of the job's kind; never falls back at a new stage)."""
        if self.status == "done":
            return 1.0
        if self.status != "running" or not self.stage:
            return 0.0
        if self.stage_plan:
            return min(0.99, self._planned_done() / max(sum(self.stage_plan.values()), 1e-9))
        weights = INFERENCE_STAGE_WEIGHTS if self.kind == INFERENCE else STAGE_WEIGHTS
        order = list(weights)
        weight = weights.get(self.stage, _OTHER_STAGE)
        if self.stage in weights:
            before = sum(weights[name] for name in order[:order.index(self.stage)])
        else:
            before = sum(weights.get(name, _OTHER_STAGE) for name in self.stages_seen if name != self.stage)
        total = sum(weights.values()) + _OTHER_STAGE * sum(s not in weights for s in self.stages_seen)
        return min(0.99, (before + weight * self.fraction) / total)

    def _planned_done(self) -> float:
        """Planned seconds of the work done so far: the start-up, the stages passed, the current stage's share."""
        plan = self.stage_plan
        if self.stage in plan:  # every planned stage before this one is done (also one that was skipped)
            order = list(plan)
            return sum(plan[name] for name in order[:order.index(self.stage)]) + plan[self.stage] * self.fraction
        # a stage outside the plan (a sealed hold-out's scoring): the planned stages seen so far are done
        return plan.get(STARTING, 0.0) + sum(plan.get(name, 0.0) for name in self.stages_seen if name != self.stage)

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left for the whole job (None = unknown).

        With a stage plan (a training's ``TrainPlan.stages``): the planned seconds left, scaled by the pace so far
        (seconds taken per planned second), that pace shrunk toward the plan's own while little is done (as if a
        quarter of the plan had already run at the planned pace). Early on the estimate is therefore the plan's,
        not the first seconds extrapolated: the start-up and the first small stages say little about the rest.
        Without one: the pace so far from 5 % on, the caller's whole-job estimate before.
        """
        if self.status != "running":
            return None
        elapsed = self.elapsed(now)
        if self.stage_plan:
            total = sum(self.stage_plan.values())
            done = self._planned_done() if self.stage else self.stage_plan.get(STARTING, 0.0) * min(
                1.0, elapsed / max(self.stage_plan.get(STARTING, 0.0), 1e-9))
            prior = PLAN_PRIOR * total
            pace = (elapsed + prior) / (done + prior)
            return max(0.0, (total - done) * pace)
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

    @property
    def output(self) -> Path:
        """An inference job's output folder (``<folder>/output``; written whole or not at all)."""
        return Path(self.run_dir) / "output"

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


def job_id(folder: Path, kind: str = TRAIN) -> str:
    """The id of the job whose folder is ``folder``: the run folder's name, ``inference-<name>`` for an inference
    (run folders and inference folders are both named by their start time: the prefix keeps the ids apart)."""
    return f"{INFERENCE}-{folder.name}" if kind == INFERENCE else folder.name


def record_path(key: str) -> Path:
    """Where the record of the job whose key (folder) is ``key`` lives: ``<project>/jobs/<id>.json``.

    A training's folder is ``<project>/runs/<name>``, an inference's ``<project>/inference/<name>``.
    """
    folder = Path(key)
    kind = INFERENCE if folder.parent.name == INFERENCE else TRAIN
    return folder.parent.parent / JOBS_DIR / f"{job_id(folder, kind)}.json"


def load_jobs(project: Path) -> list[Job]:
    """Jobs recorded in a project's folder, newest first (unreadable files are skipped)."""
    jobs = [job for path in sorted((Path(project) / JOBS_DIR).glob("*.json")) if (job := load_job(path))]
    return sorted(jobs, key=lambda job: job.created + job.id, reverse=True)
