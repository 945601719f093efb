"""Fault-injection hooks for the reliability tests: kill the process, or fail a write, at a named point.

Two environment variables, read when a checkpoint is reached (never set in normal operation)::

    HAMACHO_TEST_KILL_AT=<stage>:<n>   SIGKILL this process at the n-th checkpoint of <stage> (1-based)
    HAMACHO_TEST_FAIL_AT=<stage>:<n>   raise OSError(ENOSPC, "No space left on device") there instead

Stages are the progress stages (``checking images``, ``extracting features``, ``predicting``, ``writing outputs``,
...) reached through the progress callback that :func:`hooked` wraps, and ``saving <file name>`` reached by every
atomic write after its temporary file is written and before it is renamed (``saving config.yaml``,
``saving model.safetensors``, ``saving evaluation.safetensors``, ...). When ``HAMACHO_TEST_TRACE`` names a file, every
checkpoint passed is appended to it (one line each, ``<stage>:<n>``), so a test can choose where to kill.
Only these hooks live in the engine; the tests' entry points are in ``tests/reliability/``.
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter

from hamacho_core.progress import ProgressCallback

__all__ = ["checkpoint", "hooked"]

_counts: Counter[str] = Counter()


def _matches(variable: str, stage: str, count: int) -> bool:
    spec = os.environ.get(variable, "")
    if not spec:
        return False
    name, _, number = spec.rpartition(":")
    return name == stage and number.isdigit() and int(number) == count


def checkpoint(stage: str) -> None:
    """Count one pass through ``stage``; kill or fail here when the test variables say so (else nothing)."""
    if not (os.environ.get("HAMACHO_TEST_KILL_AT") or os.environ.get("HAMACHO_TEST_FAIL_AT")
            or os.environ.get("HAMACHO_TEST_TRACE")):
        return
    _counts[stage] += 1
    count = _counts[stage]
    if trace := os.environ.get("HAMACHO_TEST_TRACE"):
        with open(trace, "a", encoding="utf-8") as file:
            file.write(f"{stage}:{count}\n")
    if _matches("HAMACHO_TEST_KILL_AT", stage, count):
        os.kill(os.getpid(), signal.SIGKILL)
    if _matches("HAMACHO_TEST_FAIL_AT", stage, count):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def hooked(progress: ProgressCallback | None) -> ProgressCallback | None:
    """``progress`` with a checkpoint at every call (unchanged when no test variable is set)."""
    if not (os.environ.get("HAMACHO_TEST_KILL_AT") or os.environ.get("HAMACHO_TEST_FAIL_AT")
            or os.environ.get("HAMACHO_TEST_TRACE")):
        return progress

    def call(done: int, total: int, stage: str) -> None:
        checkpoint(stage)
        if progress is not None:
            progress(done, total, stage)

    return call

