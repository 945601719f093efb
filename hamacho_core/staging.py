"""Runs written under a hidden name and renamed into place when complete; what a killed process left, found and
cleaned.

A run is written under a hidden temporary name beside its folder (``.<name>.<pid>.partial``) and renamed to its
folder only when everything is written (:func:`staged_run_dir`), so a crash at any point never leaves a half run
that looks trained: the run listing skips hidden folders, and :func:`interrupted_runs` / :func:`clean_interrupted`
find and remove what a killed process left behind. Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from hamacho_core import faults
from hamacho_core.errors import WorkspaceError
from hamacho_core.runtime import pid_alive
from hamacho_core.workspace import describe_os_error, writable_folder

__all__ = ["STAGING_SUFFIX", "clean_interrupted", "interrupted_runs", "staged_run_dir"]

STAGING_SUFFIX = ".partial"


def _staging_name(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}.{os.getpid()}{STAGING_SUFFIX}"


@contextlib.contextmanager
def staged_run_dir(run_dir: str | Path) -> Iterator[Path]:
    """A hidden folder to write a run into; it becomes ``run_dir`` when the block ends without error.

    On error (a full disk, a cancel, any exception) the folder is removed and the error raised again (an OSError as
    :class:`WorkspaceError`). A killed process leaves ``.<name>.<pid>.partial`` behind: hidden from the run
    listing, found by :func:`interrupted_runs`, removed by :func:`clean_interrupted`. An existing complete run at
    ``run_dir`` (the CLI reuses ``<result-path>/<category>/<model>``) is replaced; files the new run does not write
    (e.g. ``inference_results/``) are carried over.

    Yields:
        The staging folder (empty).
    """
    run_dir = Path(run_dir)
    writable_folder(run_dir.parent, "the result path")
    clean_interrupted(run_dir.parent)
    staging = _staging_name(run_dir)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        _publish(staging, run_dir)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise WorkspaceError(describe_os_error(error, run_dir.parent, "the result path")) from error
        raise


def _publish(staging: Path, run_dir: Path) -> None:
    """Rename the complete staging folder to ``run_dir`` (replacing an empty folder or an older run)."""
    faults.checkpoint("publishing run")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        old = run_dir.parent / f".{run_dir.name}.{os.getpid()}.old"
        for entry in run_dir.iterdir():
            if not (staging / entry.name).exists():
                entry.rename(staging / entry.name)
        os.replace(run_dir, old)
        faults.checkpoint("replacing run")  # a kill here is repaired by clean_interrupted
        os.replace(staging, run_dir)
        shutil.rmtree(old, ignore_errors=True)
        return
    if run_dir.is_dir():
        run_dir.rmdir()  # an empty placeholder (the app's job creates it when queued)
    os.replace(staging, run_dir)


def _owner_alive(folder: Path) -> bool:
    """True when the process that named this staging folder (``.<name>.<pid>.<suffix>``) still runs."""
    pid_text = folder.name.rsplit(".", 2)[-2] if folder.name.count(".") >= 3 else ""
    if not pid_text.isdigit():
        return False
    return int(pid_text) == os.getpid() or pid_alive(int(pid_text))


def interrupted_runs(root: str | Path) -> list[Path]:
    """Folders below ``root`` left by a run whose process died before it finished (staging or old-run folders)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for pattern in (f".*{STAGING_SUFFIX}", ".*.old"):
        found += [p for p in root.rglob(pattern) if p.is_dir() and not _owner_alive(p)]
    return sorted(found)


def clean_interrupted(root: str | Path) -> list[Path]:
    """Remove what :func:`interrupted_runs` finds; returns the removed folders.

    A process killed while replacing an older run (between its two renames) left ``.<name>.<pid>.old`` and no
    ``<name>``: the complete new run (``.<name>.<pid>.partial``) is put in place then, or else the old one.
    """
    leftovers = interrupted_runs(root)
    for old in [p for p in leftovers if p.name.endswith(".old")]:
        name, pid = old.name[1:].rsplit(".", 2)[:2]
        target, staging = old.parent / name, old.parent / f".{name}.{pid}{STAGING_SUFFIX}"
        if not target.exists():
            os.replace(staging if staging.is_dir() else old, target)
    removed = []
    for folder in leftovers:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
