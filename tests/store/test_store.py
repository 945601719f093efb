"""The results store against SQLite and a real PostgreSQL server: record, filter, page, export, delete, and never
a half-written record."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hamacho_core.errors import ConfigError
from hamacho_core.store import NewResult, ResultFilter, ResultNotFound, ResultStore, StoreError, picture_sha256

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _result(index: int, verdict: str = "good", picture: bytes | None = b"png-bytes", **labels: object) -> NewResult:
    return NewResult("検査A:20250101-120000", f"部品_{index}.png", picture_sha256(b"%d" % index), 1.0 + index,
                     0.3 if verdict == "good" else 0.8, verdict, 2.0, 3.0, 0.5, 0.5,
                     [{"region": 1, "x": 1, "y": 2, "width": 3, "height": 4, "area_px": 12, "peak_score": 0.9,
                       "peak_x": 2, "peak_y": 3}] if verdict == "defect" else [],
                     taken_at=DAY + timedelta(hours=index), picture=picture,
                     normalized_map=np.full((4, 5), 0.25, np.float32), **labels)  # type: ignore[arg-type]


def test_a_recorded_result_reads_back_field_for_field(store: ResultStore) -> None:
    [result_id] = store.add([_result(1, "defect", part_id="4711", line="L1", shift="早番")])
    got = store.get(result_id)
    assert (got.run_id, got.picture_name, got.part_id, got.line, got.shift) == (
        "検査A:20250101-120000", "部品_1.png", "4711", "L1", "早番")
    assert got.verdict == "defect" and got.raw_score == 2.0 and got.image_threshold == 2.0
    assert got.taken_at == DAY + timedelta(hours=1) and got.taken_at.tzinfo is not None
    assert got.defect_regions[0]["width"] == 3 and got.picture_sha256 == picture_sha256(b"1")
    assert store.file(got.picture_path).read_bytes() == b"png-bytes"
    assert store.file(got.map_path).suffix == ".png"


def test_filters_and_pages(store: ResultStore) -> None:
    store.add([_result(i, "defect" if i % 4 == 0 else "good", part_id=f"P{i}", shift="A" if i < 6 else "B")
               for i in range(10)])
    assert store.list(ResultFilter(verdict="defect"))[1] == 3
    assert [r.part_id for r in store.list(ResultFilter(part_id="P7"))[0]] == ["P7"]
    since, until = DAY + timedelta(hours=2), DAY + timedelta(hours=5)
    assert store.list(ResultFilter(since=since, until=until))[1] == 3  # 2, 3, 4: until excluded
    assert store.list(ResultFilter(shift="B"))[1] == 4 and store.list(ResultFilter(run_id="other:run"))[1] == 0
    first, total = store.list(limit=4)
    second, _ = store.list(limit=4, offset=4)
    assert total == 10 and [r.picture_name for r in first][0] == "部品_9.png"  # newest picture first
    assert not {r.id for r in first} & {r.id for r in second}


def test_export_csv_and_parquet_hold_every_matching_row(store: ResultStore) -> None:
    store.add([_result(i, "defect" if i % 2 else "good") for i in range(6)])
    defects = ResultFilter(verdict="defect")
    frame = pd.read_csv(io.BytesIO(store.export(defects, "csv")), encoding="utf-8-sig")
    assert len(frame) == 3 and set(frame["verdict"]) == {"defect"} and frame["picture_name"][0] == "部品_1.png"
    assert json.loads(frame["defect_regions"][0])[0]["area_px"] == 12
    parquet = pd.read_parquet(io.BytesIO(store.export(ResultFilter(), "parquet")))
    assert len(parquet) == 6 and str(parquet["taken_at"].dt.tz) == "UTC"
    with pytest.raises(ConfigError, match="csv or parquet"):
        store.export(ResultFilter(), "xlsx")


def test_delete_removes_the_row_and_its_kept_files(store: ResultStore) -> None:
    ids = store.add([_result(1), _result(2)])
    kept = [store.file(store.get(ids[0]).picture_path), store.file(store.get(ids[0]).map_path)]
    assert store.delete(ids[0]).id == ids[0]
    assert not any(p.exists() for p in kept)
    with pytest.raises(ResultNotFound, match="GET /v1/results"):
        store.get(ids[0])
    with pytest.raises(ResultNotFound):
        store.delete(ids[0])
    assert store.delete_matching(ResultFilter()) == 1 and store.count() == 0


def test_a_failed_transaction_records_nothing_and_keeps_no_file(store: ResultStore) -> None:
    bad = _result(2)
    bad.verdict = "maybe"
    with pytest.raises(ConfigError, match="verdict"):
        store.add([_result(1), bad])
    too_long = _result(3)
    too_long.part_id = "x" * 5000  # PostgreSQL refuses it in the INSERT; SQLite stores it (no length limit)
    try:
        store.add([_result(4), too_long])
    except StoreError:
        assert store.count() == 0
    else:
        assert store.count() == 2
    kept = [p for p in store.files_dir.rglob("*") if p.is_file()]
    assert len(kept) == 2 * store.count()  # a picture and a map per recorded row, nothing else


def test_orphan_files_left_by_a_crash_are_swept(store: ResultStore) -> None:
    [result_id] = store.add([_result(1)])
    orphan = store.files_dir / "2026" / "03" / "02" / "crashed.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    assert store.sweep_orphans(min_age_s=3600) == 1 and not orphan.exists()
    assert store.file(store.get(result_id).picture_path) is not None  # a recorded file stays


def test_only_the_record_without_keeping_pictures(database_url: str, tmp_path: Path) -> None:
    store = ResultStore(database_url, tmp_path / "files", keep_pictures=False)
    try:
        [result_id] = store.add([_result(1)])
        assert store.get(result_id).picture_path is None and not (tmp_path / "files").exists()
    finally:
        store.close()


def test_reopening_migrates_once_and_keeps_the_rows(database_url: str, tmp_path: Path) -> None:
    first = ResultStore(database_url, tmp_path / "files")
    first.add([_result(1)])
    first.close()
    again = ResultStore(database_url, tmp_path / "files")
    try:
        assert again.count() == 1
    finally:
        again.close()


def test_a_bad_database_setting_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="not supported"):
        ResultStore("mysql://x@localhost/db", tmp_path)
    with pytest.raises(ConfigError, match="not a database URL"):
        ResultStore("not a url", tmp_path)
    with pytest.raises(StoreError, match="HAMACHO_DATABASE_URL"):
        ResultStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", tmp_path)
    monkeypatch.setenv("HAMACHO_KEEP_PICTURES", "perhaps")
    with pytest.raises(ConfigError, match="HAMACHO_KEEP_PICTURES"):
        ResultStore.for_workspace(tmp_path)


def test_the_default_is_sqlite_in_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAMACHO_DATABASE_URL", raising=False)
    store = ResultStore.for_workspace(tmp_path)
    try:
        store.add([_result(1)])
        assert (tmp_path / ".results" / "results.sqlite").is_file()
        assert "sqlite" in store.shown_url
    finally:
        store.close()


def test_the_store_layer_imports_no_service_or_ui() -> None:
    import ast

    root = Path(__file__).resolve().parents[2] / "hamacho_core" / "store"
    for source in root.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        names = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {n for n in names if n.split(".")[0] in ("streamlit", "fastapi", "ui", "ray", "click")
                    or n.startswith(("hamacho_core.api", "hamacho_core.jobs", "hamacho_core.cli"))}, source
