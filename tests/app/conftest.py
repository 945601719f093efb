"""Fixtures for the app tests: a workspace in a temporary folder, a tiny demo project, one trained run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (HAMACHO_HOME)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    monkeypatch.setenv("HAMACHO_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def trained(trained_workspace: Path) -> Path:
    """A workspace holding project 検査A with one trained run ``20250101-120000`` (the session's, read-only)."""
    return trained_workspace


@pytest.fixture()
def trained_home(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained workspace (tests may move thresholds or delete things)."""
    home = tmp_path / "workspace"
    shutil.copytree(trained, home)
    monkeypatch.setenv("HAMACHO_HOME", str(home))
    return home
