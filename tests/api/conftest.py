"""Fixtures for the API tests: a workspace with one tiny trained run, and the app over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import KEY, LIMITS, PROJECT, RUN
from fastapi.testclient import TestClient
from postgres_server import postgres  # noqa: F401 - the session's PostgreSQL server, a fixture

from hamacho_core.api import create_app
from hamacho_core.demo import make_demo_dataset
from hamacho_core.pipeline import TrainConfig, train


@pytest.fixture(scope="session")
def trained_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding project 検査A with one trained run (128 px square, a few seconds on 2 cores)."""
    home = tmp_path_factory.mktemp("api") / "workspace"
    project = home / PROJECT
    make_demo_dataset(project / "data", n_good=12, n_bad_per_type=2, size=128, seed=3)
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / RUN),
                      image_size=128, resize="square", write_csv=False, accelerator="cpu"))
    return home


@pytest.fixture()
def workspace(trained_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the trained workspace (tests may add runs or jobs)."""
    home = tmp_path / "workspace"
    shutil.copytree(trained_workspace, home)
    return home


@pytest.fixture(scope="session")
def shared_client(trained_workspace: Path) -> Iterator[TestClient]:
    """One app over the shared workspace for read-only tests (the model stays loaded between them)."""
    app = create_app(trained_workspace, KEY, LIMITS, accelerator="cpu")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client

