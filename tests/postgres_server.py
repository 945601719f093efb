"""A real PostgreSQL server for the tests, started once per test session in a temporary folder.

Debian's ``postgresql`` package (``make postgres`` installs it) puts ``initdb`` and ``pg_ctl`` under
``/usr/lib/postgresql/<version>/bin``. The cluster lives in a fresh folder below /tmp, listens on a free
127.0.0.1 port and a unix socket in that folder, trusts local connections, and is stopped and removed at the end.
PostgreSQL refuses to run as root: as root, the server runs as ``nobody`` (through ``runuser``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "find_binaries", "postgres", "shared_server", "stop_shared_server"]


def find_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb and pg_ctl (or those on PATH), None when absent."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0)
                     if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(folders):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    binaries: Path
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://hamacho@127.0.0.1:{self.port}/postgres"

    def _run(self, *arguments: str) -> None:
        subprocess.run([*self.as_user, *arguments], check=True, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls) -> PostgresServer:
        binaries = find_binaries()
        if binaries is None:
            raise FileNotFoundError("initdb/pg_ctl not found: install Debian's postgresql package (make postgres)")
        folder = Path(tempfile.mkdtemp(prefix="hamacho-pg-"))
        as_user = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            shutil.chown(folder, "nobody")
            as_user = ["runuser", "-u", "nobody", "--"]
        server = cls(folder, _free_port(), binaries, as_user)
        server._run(str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "hamacho", "--auth=trust",
                    "-E", "UTF8", "--no-locale", "--no-sync")
        options = f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        server._run(str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                    "-t", "60", "-o", options, "start")
        return server

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=hamacho dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://hamacho@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


_SERVER: list[PostgresServer] = []
_FAILED: list[str] = []


def shared_server() -> PostgresServer:
    """The session's server, started on first call (raises RuntimeError with the reason when it cannot start)."""
    if _FAILED:
        raise RuntimeError(_FAILED[0])
    if not _SERVER:
        try:
            _SERVER.append(PostgresServer.start())
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or ""
            _FAILED.append(f"PostgreSQL could not start: {error} {detail}".strip())
            raise RuntimeError(_FAILED[0]) from error
    return _SERVER[0]


def stop_shared_server() -> None:
    while _SERVER:
        _SERVER.pop().stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (import this fixture into a conftest), or a skip saying why there is none."""
    try:
        server = shared_server()
    except RuntimeError as error:
        pytest.skip(str(error))
    yield server
    stop_shared_server()
