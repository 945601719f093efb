"""The job queue of one server: jobs wait in a FIFO queue and run in worker processes, ``workers`` at a time.

Used by the app (one manager per Streamlit server) and by the REST API; no Streamlit here. The interface:

    manager = JobManager(workers=1)
    job = manager.submit(project, config, estimated_seconds=40)   # queued; its key is the run folder
    job = manager.submit(project, inference_config, kind="inference")  # an inference; its key is its folder
    manager.get(job.key)            # the live record (queue position and wait for a waiting one)
    manager.cancel(job.key)         # a waiting job is dropped; a running one's process is stopped
    manager.jobs(project)           # the project's jobs, newest first
    manager.recover(projects)       # after a restart: jobs left queued or running become "interrupted"

A worker that dies (out-of-memory kill, segfault, ``kill -9``) marks its job failed with the reason, and the
queue goes on. Worker processes die with the server (see ``worker.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from hamacho_core.errors import ConfigError
from hamacho_core.jobs.records import (
    ACTIVE,
    DEFAULT_INFERRER,
    DEFAULT_TRAINER,
    INFERENCE,
    KINDS,
    TRAIN,
    Job,
    job_id,
    load_job,
    load_jobs,
    record_path,
)
from hamacho_core.jobs.worker import discard
from hamacho_core.limits import env_count
from hamacho_core.runtime import pid_alive

__all__ = ["JobManager", "QueueSlot", "default_workers"]

POLL_SECONDS = 0.2  # how often the manager looks at its worker processes
CANCEL_GRACE_SECONDS = 10.0  # a cancelled worker that has not stopped by then is killed


def default_workers() -> int:
    """Worker processes from ``HAMACHO_WORKERS`` (default 1: one training at a time uses every core).

    Raises:
        ConfigError: a value that is not a positive whole number.
    """
    return env_count("HAMACHO_WORKERS", 1)


@dataclass(frozen=True)
class QueueSlot:
    """Where a waiting job stands: ``position`` 1 = next to start; ``wait_seconds`` = estimated wait."""

    position: int
    wait_seconds: float


def _signal_reason(returncode: int) -> str:
    if returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
        hint = {"SIGKILL": " (killed: out of memory, or stopped by hand; see the system log)",
                "SIGSEGV": " (a crash in native code)", "SIGABRT": " (aborted by native code)"}.get(name, "")
        return f"the worker process died of {name}{hint}; the server and the other jobs went on"
    return f"the worker process exited with code {returncode} before finishing"


class JobManager:
    """Queue and worker processes; thread-safe (the app shares one instance among every session)."""

    def __init__(self, workers: int | None = None, trainer: str = DEFAULT_TRAINER, python: str = sys.executable,
                 inferrer: str = DEFAULT_INFERRER):
        self.workers = default_workers() if workers is None else workers
        self.trainer = trainer
        self.inferrer = inferrer
        self._python = python
        self._queue: deque[str] = deque()  # keys of waiting jobs, first to start first
        self._waiting: dict[str, Job] = {}
        self._running: dict[str, tuple[Job, subprocess.Popen]] = {}
        self._cancel_at: dict[str, float] = {}  # key -> time a running job was asked to stop
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hamacho-jobs", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ interface
    def submit(self, project: Path, config: object, estimated_seconds: float = 0.0, kind: str = TRAIN,
               stage_plan: dict[str, float] | None = None) -> Job:
        """Queue a job for ``config``.

        Kind "train": a TrainConfig whose ``run_dir`` is set (a new folder; its name is the job id). Kind
        "inference": an :class:`~hamacho_core.jobs.inference.InferenceJobConfig`; its ``folder``
        (``<project>/inference/<name>``, may hold the uploaded pictures already) is the key, the id
        ``inference-<name>``. ``stage_plan``: planned seconds per stage (``TrainPlan.stages``), for the time estimate.

        Raises:
            ConfigError: the job's folder is not set, an unknown kind, or an invalid inference config.
            FileExistsError: the run folder exists already.
        """
        if kind not in KINDS:
            raise ConfigError(f"the job kind must be one of {', '.join(KINDS)}, not {kind!r}")
        folder = Path(getattr(config, "folder" if kind == INFERENCE else "run_dir", "") or "")
        if not str(folder) or str(folder) == ".":
            raise ConfigError("the job's folder (config.run_dir, or config.folder of an inference) must be set")
        if kind == INFERENCE:
            config.validate()  # type: ignore[attr-defined]
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder.mkdir(parents=True, exist_ok=False)
        job = Job(id=job_id(folder, kind), project=str(project), config=asdict(config),  # type: ignore[call-overload]
                  run_dir=str(folder), estimated_seconds=float(estimated_seconds), kind=kind,
                  stage_plan={str(k): float(v) for k, v in (stage_plan or {}).items()},
                  trainer=self.inferrer if kind == INFERENCE else self.trainer, owner_pid=os.getpid())
        job.add_log("queued")
        with self._lock:
            job.save()
            self._waiting[job.key] = job
            self._queue.append(job.key)
        self._wake.set()
        return job

    def get(self, key: str) -> Job | None:
        """The job whose key (run folder) is ``key``: live, or from its record; None when unknown."""
        with self._lock:
            if key in self._waiting:
                return self._waiting[key]
            running = key in self._running
        job = load_job(record_path(key))
        if job is not None and job.status in ACTIVE and not running:
            job = self._interrupt(job)
        return job

    def queue_slot(self, key: str) -> QueueSlot | None:
        """Position and estimated wait of a waiting job (None when it is not waiting)."""
        with self._lock:
            if key not in self._waiting:
                return None
            ahead = list(self._queue)[:list(self._queue).index(key)]
            now = time.time()
            # each free worker takes the next job; a worker is free after its running job's time left
            free_at = sorted(now + (job.eta_seconds(now) if job.eta_seconds(now) is not None
                                    else max(0.0, job.expected_seconds() - job.elapsed(now)))
                             for job in (self._record(k) for k in self._running))
            free_at += [now] * (self.workers - len(free_at))
            for other in ahead:
                free_at.sort()
                free_at[0] += self._waiting[other].expected_seconds()
            return QueueSlot(len(ahead) + 1, max(0.0, min(free_at) - now))

    def cancel(self, key: str) -> Job | None:
        """Drop a waiting job, or stop a running job's process. Finished jobs are left as they are."""
        with self._lock:
            job = self._waiting.pop(key, None)
            if job is not None:
                self._queue.remove(key)
                job.status, job.finished = "cancelled", time.time()
                job.add_log("cancelled before it started")
                discard(job, always=True)
                job.save()
                return job
            if key in self._running and key not in self._cancel_at:
                _, process = self._running[key]
                self._cancel_at[key] = time.time()
                _kill(process, signal.SIGTERM)
        self._wake.set()
        return self.get(key)

    def jobs(self, project: Path, kind: str | None = None) -> list[Job]:
        """The project's jobs (of ``kind``, default all), newest first (one left active by a stopped server shows as
        interrupted)."""
        with self._lock:
            waiting = {job.id: job for job in self._waiting.values() if Path(job.project) == Path(project)}
            running = {job.id for job, _ in self._running.values() if Path(job.project) == Path(project)}
        out = []
        for job in load_jobs(project):
            if kind is not None and job.kind != kind:
                continue
            if job.id in waiting:
                out.append(waiting[job.id])
            elif job.status in ACTIVE and job.id not in running:
                out.append(self.get(job.key) or job)  # checked again under the lock: it may have just started
            else:
                out.append(job)
        return out

    def active(self, project: Path, kind: str | None = None) -> list[Job]:
        return [job for job in self.jobs(project, kind) if job.status in ACTIVE]

    def recover(self, projects: list[Path]) -> int:
        """Mark the jobs a stopped server left queued or running as interrupted (at start-up); returns how many."""
        count = 0
        for project in projects:
            for job in load_jobs(project):
                if job.status in ACTIVE and (found := self.get(job.key)) is not None and found.status == "interrupted":
                    count += 1
        return count

    def wait(self, key: str, timeout: float = 600.0) -> Job:
        """Block until a job has ended and its worker process is gone (for tests and scripts)."""
        end = time.time() + timeout
        while time.time() < end:
            job = self.get(key)
            if job is not None and job.status not in ACTIVE and self.pid(key) is None:
                return job
            time.sleep(0.05)
        raise TimeoutError(key)

    def pid(self, key: str) -> int | None:
        """Process id of a running job's worker."""
        with self._lock:
            entry = self._running.get(key)
            return entry[1].pid if entry else None

    # ------------------------------------------------------------------ internals
    def _record(self, key: str) -> Job:
        job, _ = self._running[key]
        return load_job(job.path()) or job

    def _interrupt(self, job: Job) -> Job:
        """A job recorded as active that no live process serves is interrupted (another live server's are not)."""
        if job.owner_pid and job.owner_pid != os.getpid() and pid_alive(job.owner_pid):
            return job  # queued or running under another server sharing the workspace (e.g. the REST API)
        if job.status in ACTIVE:
            job.status, job.finished = "interrupted", job.finished or time.time()
            job.error = job.error or "the server stopped before this job finished"
            job.add_log("interrupted: the server stopped before this job finished")
            discard(job, always=True)
            try:
                job.save()
            except OSError:
                pass
        return job

    def _loop(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                self._reap()
                self._start_waiting()
            except Exception:  # noqa: BLE001 - the loop must survive anything (a full disk, a vanished project)
                time.sleep(1.0)

    def _start_waiting(self) -> None:
        with self._lock:
            while self._queue and len(self._running) < self.workers:
                key = self._queue.popleft()
                job = self._waiting.pop(key)
                job.status, job.started = "running", time.time()
                job.add_log("starting a worker process")
                job.save()
                # the manager's own long-lived thread starts the worker: its parent-death signal follows this thread
                with job.path().with_suffix(".log").open("wb") as output:  # the worker's own messages
                    process = subprocess.Popen([self._python, "-m", "hamacho_core.jobs.worker", str(job.path()),
                                                str(os.getpid())], start_new_session=True,
                                               stdout=output, stderr=subprocess.STDOUT, env=self._worker_env())
                self._running[key] = (job, process)

    def _worker_env(self) -> dict[str, str]:
        """The server's environment; with several workers, each gets its share of the cores (no oversubscription)."""
        env = dict(os.environ)
        if self.workers > 1 and "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // self.workers))
        return env

    def _reap(self) -> None:
        with self._lock:
            entries = list(self._running.items())
        for key, (job, process) in entries:
            cancel_at = self._cancel_at.get(key)
            if process.poll() is None:
                if cancel_at is not None and time.time() - cancel_at > CANCEL_GRACE_SECONDS:
                    _kill(process, signal.SIGKILL)
                continue
            stderr = _tail(job.path().with_suffix(".log"))
            record = load_job(job.path()) or job
            if record.status in ACTIVE:  # the worker died without writing its end
                if cancel_at is not None:
                    record.status, record.error = "cancelled", "cancelled"
                    record.add_log("cancelled (worker stopped)")
                else:
                    record.status, record.error = "failed", _signal_reason(process.returncode)
                    record.add_log(f"failed: {record.error}")
                    if stderr.strip():
                        record.log.append(stderr.strip())
                record.finished = time.time()
                discard(record, always=True)
                record.save()
            with self._lock:
                self._running.pop(key, None)
                self._cancel_at.pop(key, None)


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_bytes()[-size:].decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the worker's process group (the worker and any helper processes it started)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
