"""Fixtures for the app tests: a workspace in a temporary folder, a tiny demo project, one trained run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_support import make_project

from hamacho_core.pipeline import TrainConfig, train


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (HAMACHO_HOME)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    monkeypatch.setenv("HAMACHO_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding project 検査A with one trained run (128 px, a few seconds on 2 cores)."""
    home = tmp_path_factory.mktemp("trained") / "workspace"
    project = make_project(home)
    run_dir = project / "runs" / "20250101-120000"
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(run_dir), image_size=128,
                      resize="square", write_csv=False))
    return home


@pytest.fixture()
def trained_home(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained workspace (tests may move thresholds or delete things)."""
    home = tmp_path / "workspace"
    shutil.copytree(trained, home)
    monkeypatch.setenv("HAMACHO_HOME", str(home))
    return home
