"""Helpers shared by the app tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hamacho_core.demo import make_demo_dataset  # noqa: E402

APP = str(ROOT / "app.py")


def make_project(home: Path, name: str = "検査A", n_good: int = 12, n_bad: int = 2) -> Path:
    """A project folder holding a tiny demo dataset (128 px) in data/."""
    project = home / name
    make_demo_dataset(project / "data", n_good=n_good, n_bad_per_type=n_bad, size=128)
    return project
