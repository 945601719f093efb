"""The worker process of one job: ``python -m hamacho_core.jobs.worker JOB_JSON PARENT_PID``.

It trains or runs an inference (the job's ``kind``; the function named by its ``trainer``), writing status to the
job's JSON record at most every half second, and exits. SIGTERM (cancel) is turned into
:class:`~hamacho_core.errors.Cancelled` at the next progress step, so the pipeline stops cleanly; the server kills
the process if it does not stop soon. The worker dies with the server (Linux parent-death signal), so a server
restart never leaves an orphan job.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hamacho_core.errors import Cancelled, HamachoError
from hamacho_core.jobs.records import INFERENCE, Job, load_job

__all__ = ["discard", "main", "remove_run"]

SAVE_EVERY = 0.5  # seconds between status writes while running
_cancelled = False


def remove_run(folder: Path, always: bool) -> None:
    """Drop the run folder of a stopped job (``always``), or of a failed one that saved no model."""
    if folder.is_dir() and (always or not (folder / "config.yaml").exists()):
        shutil.rmtree(folder, ignore_errors=True)


def discard(job: Job, always: bool) -> None:
    """Drop what a stopped job left: a training's run folder (see :func:`remove_run`); an inference's
    half-written results (its inputs stay, its ``output/`` only ever appears complete)."""
    if job.kind == INFERENCE:
        from hamacho_core.jobs.inference import discard_partial

        discard_partial(job.run_dir)
    else:
        remove_run(Path(job.run_dir), always)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the server dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if parent_pid and os.getppid() != parent_pid:  # the server died before the line above
        os._exit(1)


def _on_sigterm(_signum: int, _frame: object) -> None:
    global _cancelled  # noqa: PLW0603 - a signal handler can only talk through module state
    _cancelled = True


def _resolve(spec: str) -> Callable[..., Any]:
    """The trainer ``module:function``: a callable(config, progress) -> TrainResult (or an inference result)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _finish(job: Job, status: str, error: str = "") -> None:
    job.status, job.error, job.finished = status, error, time.time()
    job.add_log(status if not error or error == status else f"{status}: {error}")
    if status != "done":
        discard(job, always=status == "cancelled")
    job.save()


def _config(job: Job) -> object:
    if job.kind == INFERENCE:
        from hamacho_core.jobs.inference import InferenceJobConfig

        return InferenceJobConfig(**job.config)
    from hamacho_core.config import TrainConfig

    return TrainConfig(**job.config)


def _done_inference(job: Job, result: object) -> None:
    job.metrics = dict(result.metrics)  # type: ignore[attr-defined]
    for warning in getattr(result, "warnings", []):
        job.add_log(f"warning: {warning}")
    job.add_log(f"{job.metrics['n_pictures']} picture(s) scored, {job.metrics['n_defect']} above the threshold, "
                f"{job.metrics['n_problems']} left out")


def run(job: Job) -> Job:
    """Run ``job`` in this process, keeping its record up to date; returns it finished."""
    job.status, job.pid = "running", os.getpid()
    job.started = job.started or time.time()
    job.add_log(f"started (worker process {job.pid})")
    job.save()
    last_save = [0.0]

    def progress(done: int, total: int, stage: str) -> None:
        if _cancelled:
            raise Cancelled(f"{job.kind} cancelled")
        now = time.time()
        if stage != job.stage:
            job.stage, job.stage_started = stage, now
            if stage not in job.stages_seen:
                job.stages_seen.append(stage)
            job.add_log(f"{stage} ({total})")
        job.done, job.total = done, total
        if now - last_save[0] > SAVE_EVERY:
            last_save[0] = now
            job.save()

    try:
        result = _resolve(job.trainer)(_config(job), progress)
    except Cancelled:
        _finish(job, "cancelled", "cancelled")
    except HamachoError as error:
        _finish(job, "failed", str(error))
    except Exception as error:  # noqa: BLE001 - the record must say why, whatever happened
        job.log.append(traceback.format_exc(limit=3))
        _finish(job, "failed", f"{type(error).__name__}: {error}")
    else:
        if job.kind == INFERENCE:
            _done_inference(job, result)
            _finish(job, "done")
            return job
        image = result.metrics.image
        job.metrics = image.to_dict() | {"input_shape": list(result.input_shape)}  # the job record's JSON
        for warning in getattr(result, "warnings", []):
            job.add_log(f"warning: {warning}")
        if result.problems:
            job.add_log(f"{len(result.problems)} file(s) left out or partly used (see the Data page)")
        job.add_log(f"image AUROC {image.auroc:.3f}, F1 {image.f1:.3f}" if image.auroc is not None
                    else f"image F1 {image.f1:.3f}")
        _finish(job, "done")
    return job


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    _die_with_parent(int(args[1]) if len(args) > 1 else 0)
    signal.signal(signal.SIGTERM, _on_sigterm)
    job = load_job(Path(args[0]))
    if job is None:
        print(f"cannot read the job record {args[0]}", file=sys.stderr)
        return 2
    run(job)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
