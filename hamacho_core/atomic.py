"""Atomic file writes: a temporary file beside the target, flushed to disk, then renamed over it.

A reader never sees half a file, and a crash leaves the old file (or none) plus at most a hidden temporary. Used
by every writer of the workbench (runs, evaluations, reports, job records); it imports nothing heavy, so a job
manager or a worker that only writes records never loads torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hamacho_core import faults
from hamacho_core.errors import WorkspaceError
from hamacho_core.workspace import describe_os_error

__all__ = ["atomic_write_bytes", "atomic_write_text", "dump_json", "plain"]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    Raises:
        WorkspaceError: the folder cannot be written (full disk, read-only, ...); no temporary file is left.
    """
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        faults.checkpoint(f"saving {path.name}")
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(error, OSError):
            raise WorkspaceError(describe_os_error(error, path.parent)) from error
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def plain(value: Any) -> Any:
    """``value`` with numpy/torch scalars and tensors and paths turned into YAML/JSON-safe builtins."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is loaded: never imported here
    if torch is not None and isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def dump_json(path: str | Path, data: Any) -> None:
    """Atomic JSON write (UTF-8, non-ASCII kept)."""
    atomic_write_text(path, json.dumps(plain(data), ensure_ascii=False, indent=2, allow_nan=True))
