"""A process killed while recording leaves no half-written record: killed after a request's kept files are written
and before its commit, the store holds none of that request's rows (the requests before it whole), stays readable
and writable, and the files no row points to are swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hamacho_core.store import NewResult, ResultStore

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
import numpy as np
from hamacho_core.store import NewResult, ResultStore
store = ResultStore(sys.argv[1], sys.argv[2], keep_pictures=True)
for request in range(2):
    store.add([NewResult("p:r", f"{request}-{i}.png", "0" * 64, 1.0, 0.4, "good", 1.0, 1.0, 0.5, 0.5,
                         picture=b"png", normalized_map=np.zeros((4, 4))) for i in range(3)])
"""


@pytest.mark.parametrize("request_killed", [1, 2])
def test_a_kill_while_recording_leaves_no_half_written_record(database_url: str, tmp_path: Path,
                                                               request_killed: int) -> None:
    files = tmp_path / "files"
    ResultStore(database_url, files).close()  # the tables exist before the writer starts
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HAMACHO_TEST_KILL_AT": f"recording results:{request_killed}"}
    outcome = subprocess.run([sys.executable, "-c", WRITER, database_url, str(files)], env=env, capture_output=True,
                             text=True, timeout=120)
    assert outcome.returncode == -9, outcome.stderr  # SIGKILL, after the files and before the commit
    store = ResultStore(database_url, files, keep_pictures=True)
    try:
        recorded = 3 * (request_killed - 1)
        assert store.count() == recorded
        kept = [p for p in files.rglob("*") if p.is_file()]
        assert len(kept) == 2 * 3 * request_killed  # a picture and a map per picture of every request begun
        assert store.sweep_orphans(min_age_s=0) == 6  # the killed request's
        assert all(store.file(r.picture_path) and store.file(r.map_path) for r in store.list()[0])
        store.add([NewResult("p:r", "after.png", "0" * 64, 1.0, 0.4, "good", 1.0, 1.0, 0.5, 0.5)])
        assert store.count() == recorded + 1  # still writable
    finally:
        store.close()
