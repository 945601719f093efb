"""`hamacho score` on a real two-node Ray cluster started by the test (`ray start --head` + `ray start --address`,
separate process trees, 1 CPU each): both nodes score; results equal `hamacho inference`'s, like the local
engine's; a worker killed mid-run is replaced and each picture is in the output exactly once. The cluster is
stopped in teardown, even on failure."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import torch
from cluster_support import LocalCluster, child_env

from hamacho_core.pipeline import infer
from hamacho_core.scale.ray_engine import read_parts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    running = LocalCluster()
    try:
        yield running.start()
    finally:
        running.stop()
        left = running.leftovers()
        assert not left, f"Ray processes left running: {[p.pid for p in left]}"


@pytest.fixture(scope="module")
def reference(tiny_run: Path, pictures: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """`hamacho inference`'s rows with 1 torch thread, as each cluster actor (1 CPU) has: equal bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = infer(tiny_run, pictures, tmp_path_factory.mktemp("reference"), accelerator="cpu", write_csv=False)
    finally:
        torch.set_num_threads(threads)
    return pd.DataFrame(result.rows).sort_values("filepath").reset_index(drop=True)


def _arguments(tiny_run: Path, pictures: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "hamacho_core", "score", "--config-path", str(tiny_run), "--input", str(pictures),
            "--output", str(out), "--batch-size", "2", *extra]


def _score(tiny_run: Path, pictures: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_arguments(tiny_run, pictures, out, *extra), env=child_env(), capture_output=True,
                          text=True, timeout=600)


def _assert_same(table: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(table["filepath"]) == list(reference["filepath"])
    np.testing.assert_allclose(table["raw_score"], reference["raw_score"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(table["norm_score"], reference["norm_score"], atol=1e-5, rtol=0)
    assert list(table["pred"]) == list(reference["pred"]) and set(table["problem"]) == {""}


def test_cluster_run_uses_both_nodes_and_equals_local(cluster: LocalCluster, tiny_run: Path, pictures: Path,
                                                      reference: pd.DataFrame, tmp_path: Path) -> None:
    done = _score(tiny_run, pictures, tmp_path, "--address", cluster.address, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "18 scored now" in done.stdout and "on 2 worker(s), 2 node(s)" in done.stdout
    parts = read_parts(tmp_path)
    assert parts["node_id"].nunique() == 2  # each batch records the node that scored it
    assert parts["filepath"].is_unique
    _assert_same(pd.read_parquet(tmp_path / "pred_outputs.parquet"), reference)


def test_killed_worker_is_replaced_and_each_picture_is_scored_once(cluster: LocalCluster, tiny_run: Path,
                                                                   pictures: Path, reference: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    worker_node_pids = {p.pid for p in cluster.worker_tree()}
    run = subprocess.Popen(_arguments(tiny_run, pictures, tmp_path, "--address", cluster.address, "--workers", "2"),
                           env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, seen_before, by_killed = None, 0, set()
    try:
        deadline = time.time() + 300
        while killed is None and time.time() < deadline and run.poll() is None:
            parts = read_parts(tmp_path) if (tmp_path / "parts").exists() else pd.DataFrame()
            for pid in set(parts.get("worker_pid", [])):
                process = psutil.Process(int(pid)) if psutil.pid_exists(int(pid)) else None
                if process is not None and process.ppid() in worker_node_pids:  # an actor on the worker node
                    process.kill()
                    psutil.wait_procs([process], timeout=30)
                    killed, seen_before = int(pid), len(parts)
                    # what it wrote before it died: it may have finished a batch between the read above and the kill
                    after = read_parts(tmp_path)
                    by_killed = set(after.loc[after["worker_pid"] == killed, "filepath"])
                    break
            time.sleep(0.2)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert killed is not None, "no actor of the worker node was seen scoring"
    assert run.returncode == 0, stderr
    assert seen_before < 18  # the kill happened mid-run
    parts = read_parts(tmp_path)
    assert set(parts.loc[parts["worker_pid"] == killed, "filepath"]) == by_killed  # nothing after its death
    live = set(parts.loc[parts["worker_pid"] != killed, "filepath"])
    assert live | by_killed == set(reference["filepath"])  # the rest was scored by live actors
    table = pd.read_parquet(tmp_path / "pred_outputs.parquet")
    assert table["filepath"].is_unique and len(table) == 18  # each picture exactly once, none lost
    _assert_same(table, reference)

