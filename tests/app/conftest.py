"""Fixtures for the app tests: a workspace in a temporary folder, a tiny demo project, one trained run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hamacho_core.demo import make_demo_dataset  # noqa: E402
from hamacho_core.pipeline import TrainConfig, train  # noqa: E402

APP = str(ROOT / "app.py")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (HAMACHO_HOME)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    monkeypatch.setenv("HAMACHO_HOME", str(folder))
    return folder


def make_project(home: Path, name: str = "検査A", n_good: int = 12, n_bad: int = 2) -> Path:
    project = home / name
    make_demo_dataset(project / "data", n_good=n_good, n_bad_per_type=n_bad, size=128)
    return project


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
    import shutil

    home = tmp_path / "workspace"
    shutil.copytree(trained, home)
    monkeypatch.setenv("HAMACHO_HOME", str(home))
    return home
