"""Helpers shared by the app tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from hamacho_core.synthetic import make_demo_dataset  # noqa: E402

APP = str(ROOT / "app.py")


def make_project(home: Path, name: str = "検査A", n_good: int = 12, n_bad: int = 2) -> Path:
    """A project folder holding a tiny demo dataset (128 px) in data/."""
    project = home / name
    make_demo_dataset(project / "data", n_good=n_good, n_bad_per_type=n_bad, size=128)
    return project


def open_page(page: str, lang: str = "en", project: str = "検査A", timeout: float = 90) -> AppTest:
    """The app with ``project`` chosen, switched to ``pages/<page>.py``, checked free of exceptions."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["lang"] = lang
    at.session_state["project"] = project
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at
