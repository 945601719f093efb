"""The one door from the API to the upload checks: pictures added through the API pass the same checks and limits as
the app's uploads (bytes, header pixels, a decode, pictures per project), ``hamacho_core.uploads``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hamacho_core.data import Problem
from hamacho_core.limits import Limits
from hamacho_core.uploads import KINDS, save_uploads

__all__ = ["KINDS", "save_pictures"]



def save_pictures(data_dir: Path, kind: str, files: Iterable[tuple[str, bytes]],
                  limits: Limits | None = None) -> tuple[list[Path], list[Problem]]:
    """Write (relative name, bytes) pairs of ``kind`` into a project's dataset folder as the app's uploads do.

    Returns:
        (files written, files left out with the reason).
    """
    report = save_uploads(data_dir, kind, files, limits)
    return report.written, report.problems
