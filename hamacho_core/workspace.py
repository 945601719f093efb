"""Folders the workbench writes to or reads from: writability checks, names kept inside their root, import roots.

One place for the path rules every door uses:

* :func:`default_workspace` - the app's workspace folder (``HAMACHO_HOME``, default ``./workspace``), the same for
  the app, the API and the CLI; :func:`project_data_dir` and :func:`new_stamp` - a project's dataset folder and a
  fresh timestamp name (``<project>/runs/<stamp>``), the same for the app and the API.
* :func:`writable_folder` - create a folder when missing and prove it can be written, or raise a
  :class:`WorkspaceError` naming the folder and what to do (below a regular file, read-only, full disk).
* :func:`inside` - ``root / name`` resolved, refused when it would leave ``root`` (``..``, absolute paths, links).
* :func:`import_roots` / :func:`check_import_source` - the "server folder" import reads only below the folders in
  ``HAMACHO_IMPORT_ROOTS`` (``:``-separated; none set = server-folder import is off).
"""

from __future__ import annotations

import errno
import os
import tempfile
from datetime import datetime
from pathlib import Path

from hamacho_core.errors import WorkspaceError

__all__ = ["HOME_VARIABLE", "IMPORT_ROOTS_VARIABLE", "PROJECT_DATA", "PROJECT_RUNS", "check_import_source",
           "default_workspace", "describe_os_error", "import_roots", "inside", "new_stamp", "project_data_dir",
           "writable_folder"]

HOME_VARIABLE = "HAMACHO_HOME"
IMPORT_ROOTS_VARIABLE = "HAMACHO_IMPORT_ROOTS"
PROJECT_DATA, PROJECT_RUNS = "data", "runs"  # <project>/data/ (the dataset), <project>/runs/<stamp>/ (trained runs)

_ADVICE = {
    errno.ENOSPC: "free some space on that disk or point the setting to another disk",
    errno.EDQUOT: "free some space (disk quota exceeded) or point the setting to another disk",
    errno.EROFS: "the disk is mounted read-only: mount it writable or choose another folder",
    errno.EACCES: "give the user running hamacho write permission, or choose another folder",
    errno.EPERM: "give the user running hamacho write permission, or choose another folder",
    errno.ENOTDIR: "a regular file stands where a folder is needed: move that file or choose another folder",
    errno.EEXIST: "a regular file stands where a folder is needed: move that file or choose another folder",
}


def describe_os_error(error: OSError, folder: str | Path, setting: str = "HAMACHO_HOME") -> str:
    """One sentence: what failed, in which folder, and what to do."""
    advice = _ADVICE.get(error.errno or 0, "check the folder and its disk").replace("the setting", setting)
    reason = error.strerror or str(error)
    return f"cannot write in {folder}: {reason} ({advice}; the folder is set by {setting})"


def default_workspace() -> Path:
    """The app's workspace folder: ``HAMACHO_HOME``, default ``./workspace``, with ``~`` expanded, resolved.

    Only the path: nothing is created (``writable_folder(default_workspace())`` creates and checks it).
    """
    return Path(os.environ.get(HOME_VARIABLE, "./workspace")).expanduser().resolve()


def project_data_dir(project: Path) -> Path:
    """A project's dataset folder: ``<project>/data/``, or the project itself when it holds ``good/`` directly."""
    if not (project / PROJECT_DATA).is_dir() and (project / "good").is_dir():
        return project
    return project / PROJECT_DATA


def new_stamp(parent: Path) -> str:
    """A timestamp name (``20250131-142501``, then ``-2``, ``-3`` ...) not yet used below ``parent``."""
    base = datetime.now().strftime("%Y%m%d-%H%M%S")
    name, n = base, 1
    while (parent / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def writable_folder(folder: str | Path, setting: str = "HAMACHO_HOME") -> Path:
    """The folder, resolved, created when missing, after writing and removing a tiny probe file in it.

    Raises:
        WorkspaceError: it cannot be created or written (message names the folder, the cause and ``setting``).
    """
    folder = Path(folder).expanduser()
    try:
        folder = folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".hamacho-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise WorkspaceError(describe_os_error(error, folder, setting)) from error
    return folder


def inside(root: str | Path, *parts: str | Path) -> Path:
    """``root`` joined with ``parts``, resolved (links followed), refused when the result leaves ``root``.

    Raises:
        WorkspaceError: the path would leave ``root`` (``..``, an absolute part, a link pointing outside).
    """
    base = Path(root).expanduser().resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        shown = "/".join(str(p) for p in parts)
        raise WorkspaceError(f"{shown!r} would leave {base}: names must stay inside it (no '..', no absolute path)")
    return target


def import_roots(environ: dict[str, str] | None = None) -> list[Path]:
    """The folders below which server-side imports may read (``HAMACHO_IMPORT_ROOTS``; empty = none allowed)."""
    text = (os.environ if environ is None else environ).get(IMPORT_ROOTS_VARIABLE, "")
    return [Path(p).expanduser().resolve() for p in text.split(os.pathsep) if p.strip()]


def check_import_source(source: str | Path, roots: list[Path] | None = None) -> Path:
    """The resolved source folder when it lies below one of the import roots.

    Raises:
        WorkspaceError: no import root is configured, or the folder is outside all of them.
    """
    roots = import_roots() if roots is None else roots
    if not roots:
        raise WorkspaceError(f"importing a server folder is off: set {IMPORT_ROOTS_VARIABLE} to the folders it may "
                             "read (separated by ':'), or upload the pictures or a ZIP instead")
    resolved = Path(source).expanduser().resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise WorkspaceError(f"{resolved} is outside the folders allowed for import ({allowed}): copy the pictures "
                             f"below one of them, or add its folder to {IMPORT_ROOTS_VARIABLE}")
    return resolved
