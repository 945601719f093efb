"""`hamacho score` on the local engine (a real Ray runtime): same scores as `hamacho inference`, unusable pictures
as rows, resume after an interruption, clear errors.

The in-process runs join one local Ray runtime started once for this module (a Ray start costs tens of seconds on
a busy 2-core machine); the runs in subprocesses start and stop their own, as `hamacho score` does.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from cluster_support import child_env, free_port

from hamacho_core.cli import main
from hamacho_core.pipeline import infer
from hamacho_core.scale import OUTPUT_COLUMNS
from hamacho_core.scale.ray_engine import LOCAL_OBJECT_STORE_BYTES, local_workers, read_parts
from hamacho_core.scoring import PRED_COLUMNS


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[None]:
    """A local Ray runtime for this module's in-process runs (each joins it: `hamacho score` starts none while one
    runs in the process); stopped at the end."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=max(2, local_workers()), include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, object_store_memory=LOCAL_OBJECT_STORE_BYTES, configure_logging=True)
    yield
    ray.shutdown()


@pytest.fixture()
def no_ray_runtime() -> None:
    """No Ray runtime in this process (a run joining a cluster must not find the local one)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture(scope="module")
def local_scores(ray_runtime: None, tiny_run: Path, pictures: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """pred_outputs.parquet of one local-engine run over ``pictures`` (2 workers, batches of 4, with maps)."""
    out = tmp_path_factory.mktemp("score_local")
    outcome = CliRunner().invoke(main, ["score", "--config-path", str(tiny_run), "--input", str(pictures),
                                        "--output", str(out), "--workers", "2", "--cpus-per-worker", "1",
                                        "--batch-size", "4", "--maps", "--no-csv"])
    assert outcome.exit_code == 0, outcome.output
    assert "18 picture(s): 18 scored now, 0 already scored (resumed), 0 with a problem" in outcome.output
    table = pd.read_parquet(out / "pred_outputs.parquet")
    table.attrs["out"] = out
    return table


def test_local_scores_equal_hamacho_inference(local_scores: pd.DataFrame, tiny_run: Path, pictures: Path,
                                              tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each actor (1 CPU): the k-NN sums then add up in the same order, bit for bit
    try:
        result = infer(tiny_run, pictures, tmp_path / "inference", batch_size=3, accelerator="cpu", write_csv=False)
    finally:
        torch.set_num_threads(threads)
    expected = pd.DataFrame(result.rows)
    expected = expected.sort_values("filepath").reset_index(drop=True)
    assert list(local_scores.columns) == OUTPUT_COLUMNS
    csv = pd.read_csv(local_scores.attrs["out"] / "pred_outputs.csv", encoding="utf-8-sig")
    assert list(csv.columns) == [*PRED_COLUMNS, "defect_regions", "problem"]
    assert list(local_scores["filepath"]) == list(expected["filepath"])
    assert list(local_scores["output_name"]) == list(expected["output_name"])
    np.testing.assert_allclose(local_scores["raw_score"], expected["raw_score"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(local_scores["norm_score"], expected["norm_score"], atol=1e-5, rtol=0)
    assert list(local_scores["pred"]) == list(expected["pred"])
    assert set(local_scores["problem"]) == {""}
    # --maps: the workers wrote the same picture tree as `hamacho inference`
    theirs = sorted(p.relative_to(tmp_path / "inference").as_posix()
                    for p in (tmp_path / "inference" / "images").rglob("*.png"))
    ours = sorted(p.relative_to(local_scores.attrs["out"]).as_posix()
                  for p in (local_scores.attrs["out"] / "images").rglob("*.png"))
    assert ours == theirs and len(ours) == 5 * 18
    regions = pd.read_csv(tmp_path / "inference" / "metrics" / "defect_regions.csv", encoding="utf-8-sig")
    ours_regions = {(row.output_name, r["region"], r["x"], r["y"], r["area_px"])
                    for row in local_scores.itertuples() for r in json.loads(row.defect_regions)}
    assert ours_regions == {(r.output_name, r.region, r.x, r.y, r.area_px) for r in regions.itertuples()}


def test_local_run_used_two_actors_and_each_picture_once(local_scores: pd.DataFrame) -> None:
    parts = read_parts(local_scores.attrs["out"])
    assert parts["filepath"].is_unique and len(parts) == 18
    assert parts["worker_pid"].nunique() == 2  # both actors loaded the model before the first batch, both scored


def test_bad_pictures_become_problem_rows(ray_runtime: None, tiny_run: Path, pictures: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(pictures / "good", folder)
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "notes.txt").write_text("not a picture", encoding="utf-8")
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([*(str(p) for p in sorted(folder.iterdir())), str(folder / "missing.png")]),
                       encoding="utf-8")
    out = tmp_path / "out"
    outcome = CliRunner().invoke(main, ["score", "--config-path", str(tiny_run), "--input", str(listing),
                                        "--output", str(out), "--batch-size", "8"])
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(out / "pred_outputs.csv", encoding="utf-8-sig", keep_default_na=False)
    assert len(table) == 13 and table["filepath"].is_unique
    problems = table[table["problem"] != ""].set_index("output_name")
    assert sorted(problems.index) == ["broken.png", "missing.png", "notes.txt"]
    assert (problems["verdict"] == "problem").all() and (problems["raw_score"] == "").all()
    assert (table[table["problem"] == ""]["verdict"].isin(["good", "defect"])).all()


def test_resume_after_interruption_scores_each_picture_once(ray_runtime: None, tiny_run: Path, pictures: Path,
                                                           tmp_path: Path, local_scores: pd.DataFrame) -> None:
    """The interrupted run is a real `hamacho score` process; the resuming runs join this module's Ray runtime."""
    out = tmp_path / "out"
    arguments = ["--config-path", str(tiny_run), "--input", str(pictures), "--output", str(out), "--batch-size", "1",
                 "--workers", "1", "--cpus-per-worker", "1"]
    first = subprocess.Popen([sys.executable, "-m", "hamacho_core", "score", *arguments], env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 300
        while len(list((out / "parts").glob("part-*.parquet"))) < 2 and time.time() < deadline:
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.02)
        # Freeze the driver before it can write the other parts (tiny pictures score in milliseconds), queue the
        # interrupt, then let it run: the interrupt lands mid-run whatever the machine's speed.
        first.send_signal(signal.SIGSTOP)
        first.send_signal(signal.SIGINT)
        first.send_signal(signal.SIGCONT)
        output, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode != 0 and "interrupted" in output
    n_first = len(read_parts(out))
    assert 2 <= n_first < 18 and not (out / "pred_outputs.parquet").exists()
    second = CliRunner().invoke(main, ["score", *arguments])
    assert second.exit_code == 0, second.output
    assert f"{18 - n_first} scored now, {n_first} already scored (resumed)" in second.output
    parts = read_parts(out)
    assert len(parts) == 18 and parts["filepath"].is_unique  # nothing scored twice
    table = pd.read_parquet(out / "pred_outputs.parquet")
    np.testing.assert_allclose(table["norm_score"], local_scores["norm_score"], atol=1e-5, rtol=0)
    again = CliRunner().invoke(main, ["score", *arguments])  # complete: nothing left to score
    assert again.exit_code == 0 and "0 scored now, 18 already scored" in again.output


def test_unreachable_cluster_is_a_clear_error(no_ray_runtime: None, tiny_run: Path, pictures: Path,
                                              tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    outcome = CliRunner().invoke(main, ["score", "--config-path", str(tiny_run), "--input", str(pictures),
                                        "--output", str(tmp_path / "out"), "--address", address])
    assert outcome.exit_code != 0
    assert f"cannot reach the Ray cluster at {address}" in outcome.output and "ray start --head" in outcome.output


def test_help_does_not_import_ray() -> None:
    code = ("import sys; from click.testing import CliRunner; from hamacho_core.cli import main; "
            "r = CliRunner().invoke(main, ['score', '--help']); assert '--address' in r.output, r.output; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
