"""Fixtures of the store tests: a store over SQLite and over a real PostgreSQL server (one per session)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import postgres  # noqa: F401 - the session's PostgreSQL server, a fixture

from hamacho_core.store import ResultStore

_NAMES = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.sqlite'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"store_{next(_NAMES)}")


@pytest.fixture()
def store(database_url: str, tmp_path: Path) -> Iterator[ResultStore]:
    opened = ResultStore(database_url, tmp_path / "pictures", keep_pictures=True)
    yield opened
    opened.close()
