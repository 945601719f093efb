"""Fixtures for the API tests: the session's tiny trained workspace (tests/conftest.py), and the app over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import KEY, LIMITS
from fastapi.testclient import TestClient
from postgres_server import postgres  # noqa: F401 - the session's PostgreSQL server, a fixture

from hamacho_core.api import create_app


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

