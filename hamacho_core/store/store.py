"""The results store: every recorded prediction as one row, and the pictures and maps kept beside it on request.

SQLite in the workspace by default (``<workspace>/.results/results.sqlite``, write-ahead log: readers never wait for
the writer), PostgreSQL when ``HAMACHO_DATABASE_URL`` says so (``postgresql://user:password@host/db``, driven by
psycopg 3). SQLAlchemy writes every statement; Alembic brings the tables up to date on every open.

Nothing is half-written: the kept files are written first, each atomically (temporary file + rename), then all
rows of a request in one transaction; a failed transaction removes the files it would have pointed to, and
:meth:`ResultStore.sweep_orphans` removes those a crash left behind (a file no row points to).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hamacho_core.errors import ConfigError, HamachoError
from hamacho_core.faults import checkpoint
from hamacho_core.store.models import Result

__all__ = ["DATABASE_VARIABLE", "KEEP_VARIABLE", "RECORD_VARIABLE", "VERDICTS", "NewResult", "ResultFilter",
           "ResultNotFound", "ResultStore", "StoreError", "StoredResult", "default_url", "picture_sha256",
           "with_time_zone"]

logger = logging.getLogger("hamacho.store")

DATABASE_VARIABLE = "HAMACHO_DATABASE_URL"  # default: SQLite in the workspace
KEEP_VARIABLE = "HAMACHO_KEEP_PICTURES"  # 1 = keep each recorded picture and its map beside the row (default 0)
RECORD_VARIABLE = "HAMACHO_RECORD_RESULTS"  # 0 = record nothing from the API and the app (default 1)
STORE_FOLDER = ".results"  # inside the workspace: the SQLite file and the kept pictures
VERDICTS = ("good", "defect")
MAX_PAGE = 1000  # rows per list request
EXPORT_COLUMNS = [f.name for f in Result.__table__.columns]


class StoreError(HamachoError):
    """The results store cannot be opened, read or written."""


class ResultNotFound(HamachoError):
    """No recorded result with that id."""


def picture_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_url(workspace: Path) -> str:
    """``HAMACHO_DATABASE_URL``, else SQLite in ``<workspace>/.results/``."""
    given = os.environ.get(DATABASE_VARIABLE, "").strip()
    if given:
        return given
    return f"sqlite:///{(workspace / STORE_FOLDER / 'results.sqlite').as_posix()}"


def env_flag(name: str, default: bool) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off.

    Raises:
        ConfigError: any other value.
    """
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={text!r} is not a yes/no value: use 1 or 0")


@dataclass
class NewResult:
    """A prediction to record (the caller's scores, thresholds and labels; files kept when the store keeps them)."""

    run_id: str
    picture_name: str
    picture_sha256: str
    raw_score: float
    norm_score: float
    verdict: str
    image_threshold: float
    pixel_threshold: float
    image_norm: float
    pixel_norm: float
    defect_regions: list[dict[str, Any]] = field(default_factory=list)
    part_id: str | None = None
    line: str | None = None
    shift: str | None = None
    taken_at: datetime | None = None  # default: the time of the write
    source: str = "api"
    picture: bytes | None = field(default=None, repr=False)  # the file as received (kept when asked)
    normalized_map: np.ndarray | None = field(default=None, repr=False)  # (H, W) in [0, 1] (kept as a gray PNG)


@dataclass
class StoredResult:
    """A recorded result as read back (times in UTC; file paths relative to the store's files folder)."""

    id: int
    recorded_at: datetime
    taken_at: datetime
    source: str
    run_id: str
    image_threshold: float
    pixel_threshold: float
    image_norm: float
    pixel_norm: float
    picture_sha256: str
    picture_name: str
    part_id: str | None
    line: str | None
    shift: str | None
    raw_score: float
    norm_score: float
    verdict: str
    defect_regions: list[dict[str, Any]]
    picture_path: str | None
    map_path: str | None

    @classmethod
    def from_row(cls, row: Result) -> StoredResult:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["recorded_at"], values["taken_at"] = _utc(row.recorded_at), _utc(row.taken_at)
        return cls(**values)


@dataclass(frozen=True)
class ResultFilter:
    """Which results: every field left None matches all. ``since`` inclusive, ``until`` exclusive."""

    run_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    verdict: str | None = None
    part_id: str | None = None
    line: str | None = None
    shift: str | None = None

    def where(self) -> list[Any]:
        clauses = []
        for name in ("run_id", "verdict", "part_id", "line", "shift"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(getattr(Result, name) == value)
        if self.since is not None:
            clauses.append(Result.taken_at >= _utc(self.since))
        if self.until is not None:
            clauses.append(Result.taken_at < _utc(self.until))
        return clauses


def with_time_zone(name: str, moment: datetime | None) -> datetime | None:
    """``moment`` as given, or ConfigError when it has no time zone (a naive time names a different instant on each
    server, so what a caller records or asks for must say its zone)."""
    if moment is not None and moment.tzinfo is None:
        raise ConfigError(f"{name} needs a time zone, e.g. 2026-12-07T08:30:00+09:00 or ...Z for UTC")
    return moment


def _utc(moment: datetime) -> datetime:
    """Aware UTC (SQLite gives naive datetimes back: they were written in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"{DATABASE_VARIABLE}={url!r} is not a database URL: use e.g. "
                          "postgresql://user:password@host:5432/hamacho, or leave it unset for SQLite") from error
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 (requirements.txt), not psycopg2
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"{DATABASE_VARIABLE}: the {backend!r} database is not supported: use PostgreSQL "
                          "(postgresql://...) or leave it unset for SQLite in the workspace")
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the Monitor page) never block the writer (the API)
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; a crash loses no committed page
    cursor.close()


def _migrate(engine: Engine) -> None:
    """Bring the tables to the newest revision (Alembic; the scripts ship inside this package)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    for attempt in range(3):  # two processes opening a new store at once: the second sees the first's tables
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


class ResultStore:
    """Recorded predictions in a database, kept pictures and maps in ``files_dir``.

    Args:
        url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
        files_dir: folder for kept pictures and maps.
        keep_pictures: keep each recorded picture and its normalized map (off: only the row).

    Raises:
        ConfigError: the URL is not usable. StoreError: the database cannot be reached or migrated.
    """

    def __init__(self, url: str, files_dir: str | Path, keep_pictures: bool = False):
        self.url = url
        self.files_dir = Path(files_dir)
        self.keep_pictures = keep_pictures
        self.engine = _engine(url)
        try:
            _migrate(self.engine)
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise StoreError(self._advice("cannot be opened", error)) from error
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_workspace(cls, workspace: str | Path, url: str | None = None,
                      keep_pictures: bool | None = None) -> ResultStore:
        """The store of a workspace: ``url`` or ``HAMACHO_DATABASE_URL`` or SQLite in ``<workspace>/.results``;
        pictures kept per ``keep_pictures`` or ``HAMACHO_KEEP_PICTURES``."""
        workspace = Path(workspace)
        keep = env_flag(KEEP_VARIABLE, False) if keep_pictures is None else keep_pictures
        return cls(url or default_url(workspace), workspace / STORE_FOLDER / "pictures", keep)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def shown_url(self) -> str:
        """Where the store is, for messages and pages: the SQLite file, or the URL without its password."""
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            return f"SQLite {url.database}"
        return url.render_as_string(hide_password=True)

    def _advice(self, what: str, error: Exception) -> str:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
        return (f"the results store {self.shown_url} {what}: {reason} (check that the database is running and "
                f"reachable, the disk has space, and {DATABASE_VARIABLE} is right)")

    @contextmanager
    def _session(self, what: str) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as error:
            raise StoreError(self._advice(what, error)) from error

    # ------------------------------------------------------------------------------------------- writing
    def add(self, items: Sequence[NewResult]) -> list[int]:
        """Record results in one transaction (all or none); keep their files first when the store keeps pictures.

        Returns:
            The new ids, in order.
        Raises:
            StoreError: the write failed (then nothing is recorded and no kept file stays).
        """
        if not items:
            return []
        now = datetime.now(UTC)
        written: list[Path] = []
        try:
            rows = [self._row(item, now, written) for item in items]
            with self._session("cannot be written") as session:
                session.add_all(rows)
                session.flush()
                ids = [row.id for row in rows]
                checkpoint("recording results")  # the reliability tests kill the process here, before the commit
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return ids

    def _row(self, item: NewResult, now: datetime, written: list[Path]) -> Result:
        if item.verdict not in VERDICTS:
            raise ConfigError(f"verdict must be one of {VERDICTS}, got {item.verdict!r}")
        picture_path = map_path = None
        if self.keep_pictures and item.picture is not None:
            picture_path, map_path = self._keep(item, now, written)
        return Result(recorded_at=now, taken_at=_utc(item.taken_at) if item.taken_at else now, source=item.source,
                      run_id=item.run_id, image_threshold=float(item.image_threshold),
                      pixel_threshold=float(item.pixel_threshold), image_norm=float(item.image_norm),
                      pixel_norm=float(item.pixel_norm), picture_sha256=item.picture_sha256,
                      picture_name=item.picture_name[:1000], part_id=item.part_id, line=item.line, shift=item.shift,
                      raw_score=float(item.raw_score), norm_score=float(item.norm_score), verdict=item.verdict,
                      defect_regions=list(item.defect_regions), picture_path=picture_path, map_path=map_path)

    def _keep(self, item: NewResult, now: datetime, written: list[Path]) -> tuple[str, str | None]:
        from hamacho_core.atomic import atomic_write_bytes

        folder = Path(now.strftime("%Y/%m/%d"))
        stem = uuid.uuid4().hex
        suffix = Path(item.picture_name).suffix.lower()[:8] or ".png"
        picture = folder / f"{stem}{suffix}"
        atomic_write_bytes(self.files_dir / picture, item.picture or b"")
        written.append(self.files_dir / picture)
        if item.normalized_map is None:
            return picture.as_posix(), None
        import cv2

        encoded = cv2.imencode(".png", np.uint8(np.clip(item.normalized_map, 0.0, 1.0) * 255))[1].tobytes()
        kept_map = folder / f"{stem}.map.png"
        atomic_write_bytes(self.files_dir / kept_map, encoded)
        written.append(self.files_dir / kept_map)
        return picture.as_posix(), kept_map.as_posix()

    # ------------------------------------------------------------------------------------------- reading
    def list(self, where: ResultFilter = ResultFilter(), limit: int = 100,
             offset: int = 0) -> tuple[list[StoredResult], int]:
        """One page of results, newest picture first, and how many match in all."""
        limit = max(1, min(int(limit), MAX_PAGE))
        with self._session("cannot be read") as session:
            clauses = where.where()
            total = session.scalar(select(func.count()).select_from(Result).where(*clauses)) or 0
            rows = session.scalars(select(Result).where(*clauses).order_by(Result.taken_at.desc(), Result.id.desc())
                                   .limit(limit).offset(max(0, int(offset)))).all()
            return [StoredResult.from_row(r) for r in rows], int(total)

    def get(self, result_id: int) -> StoredResult:
        """Raises: ResultNotFound."""
        with self._session("cannot be read") as session:
            row = session.get(Result, int(result_id))
            if row is None:
                raise ResultNotFound(f"no recorded result {result_id}: GET /v1/results lists them")
            return StoredResult.from_row(row)

    def frame(self, where: ResultFilter = ResultFilter(), columns: Sequence[str] | None = None) -> Any:
        """The matching results as a pandas DataFrame (oldest first); ``columns`` default: all."""
        import pandas as pd

        names = list(columns or EXPORT_COLUMNS)
        with self._session("cannot be read") as session:
            statement = (select(*[getattr(Result, n) for n in names]).where(*where.where())
                         .order_by(Result.taken_at, Result.id))
            rows = session.execute(statement).all()
        frame = pd.DataFrame(rows, columns=names)
        for name in ("recorded_at", "taken_at"):
            if name in frame:
                frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame

    def export(self, where: ResultFilter = ResultFilter(), file_format: str = "csv") -> bytes:
        """The matching results as CSV (UTF-8 with BOM, opens in Excel) or Parquet bytes; regions as JSON text."""
        import json

        frame = self.frame(where)
        frame["defect_regions"] = [json.dumps(r, ensure_ascii=False) for r in frame["defect_regions"]]
        if file_format == "parquet":
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            return buffer.getvalue()
        if file_format != "csv":
            raise ConfigError(f"export format must be csv or parquet, got {file_format!r}")
        frame["recorded_at"] = frame["recorded_at"].map(lambda t: t.isoformat())
        frame["taken_at"] = frame["taken_at"].map(lambda t: t.isoformat())
        return frame.to_csv(index=False).encode("utf-8-sig")

    def file(self, relative: str | None) -> Path | None:
        """A kept file's path (None when not kept or gone)."""
        if not relative:
            return None
        path = (self.files_dir / relative).resolve()
        return path if path.is_relative_to(self.files_dir.resolve()) and path.is_file() else None

    # ------------------------------------------------------------------------------------------ deleting
    def delete(self, result_id: int) -> StoredResult:
        """Delete a result and the files it kept.

        Raises:
            ResultNotFound.
        """
        with self._session("cannot be written") as session:
            row = session.get(Result, int(result_id))
            if row is None:
                raise ResultNotFound(f"no recorded result {result_id}: GET /v1/results lists them")
            gone = StoredResult.from_row(row)
            session.delete(row)
        self._remove_files([gone.picture_path, gone.map_path])
        return gone

    def delete_matching(self, where: ResultFilter) -> int:
        """Delete every matching result and its kept files; returns how many."""
        with self._session("cannot be written") as session:
            clauses = where.where()
            kept = session.execute(select(Result.picture_path, Result.map_path).where(*clauses)).all()
            count = session.execute(delete(Result).where(*clauses)).rowcount
        self._remove_files([p for pair in kept for p in pair])
        return int(count or 0)

    def _remove_files(self, relatives: Sequence[str | None]) -> None:
        for relative in relatives:
            path = self.file(relative)
            if path is not None:
                path.unlink(missing_ok=True)

    def sweep_orphans(self, min_age_s: float = 3600.0) -> int:
        """Remove kept files that no row points to (left by a crash between the file and the row), older than
        ``min_age_s`` (younger ones may belong to a write in progress). Returns how many."""
        if not self.files_dir.is_dir():
            return 0
        with self._session("cannot be read") as session:
            known = {p for pair in session.execute(select(Result.picture_path, Result.map_path)).all()
                     for p in pair if p}
        cutoff, removed = time.time() - min_age_s, 0
        for path in self.files_dir.rglob("*"):
            relative = path.relative_to(self.files_dir).as_posix()
            if path.is_file() and relative not in known and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def run_ids(self) -> list[str]:
        """The runs with recorded results, most recently used first."""
        with self._session("cannot be read") as session:
            latest = func.max(Result.taken_at)
            rows = session.execute(select(Result.run_id, latest).group_by(Result.run_id).order_by(latest.desc()))
            return [str(r[0]) for r in rows]

    def count(self) -> int:
        with self._session("cannot be read") as session:
            return int(session.scalar(select(func.count()).select_from(Result)) or 0)
