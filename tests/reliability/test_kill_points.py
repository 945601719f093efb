"""Training killed (SIGKILL) at >= 18 points across every stage: never a half run, data intact, the next one runs.

Each training runs in its own process, forked from a fork server that imported the pipeline and its libraries once
(a fresh ``hamacho`` process per kill would spend most of the test importing them). The process kills itself at the n-th
checkpoint of a stage (``HAMACHO_TEST_KILL_AT``, see ``hamacho_core/faults.py``), chosen from the checkpoints a
traced complete training passed: the first and last of each stage (a middle checkpoint leaves the same kind of state as
its stage's first and last).
"""

from __future__ import annotations

import hashlib
import importlib.util
import multiprocessing
import signal
from pathlib import Path

import pytest
from kill_support import PRELOAD, run_training

from hamacho_core.persistence import clean_interrupted, interrupted_runs, list_runs, read_config
from hamacho_core.synthetic import make_demo_dataset

MIN_KILL_POINTS = 18


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _train(context: multiprocessing.context.BaseContext, settings: dict, environ: dict[str, str]) -> int:
    process = context.Process(target=run_training, args=(settings, environ))
    process.start()
    process.join(timeout=300)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail(f"training with {environ} did not end")
    return process.exitcode


def _kill_points(trace: Path) -> list[str]:
    """First and last checkpoint of every stage the traced training passed."""
    counts: dict[str, int] = {}
    for line in trace.read_text(encoding="utf-8").splitlines():
        stage, _, number = line.rpartition(":")
        counts[stage] = max(counts.get(stage, 0), int(number))
    return [f"{stage}:{n}" for stage, total in counts.items() for n in sorted({1, total})]


@pytest.fixture(scope="module")
def context() -> multiprocessing.context.BaseContext:
    missing = [name for name in PRELOAD if importlib.util.find_spec(name) is None]
    assert not missing, f"the fork server would skip these preloads silently: {missing}"
    found = multiprocessing.get_context("forkserver")
    found.set_forkserver_preload(PRELOAD)
    return found


def test_kills_at_every_stage_leave_no_half_run(tmp_path: Path, context: multiprocessing.context.BaseContext) -> None:
    data = tmp_path / "data"
    make_demo_dataset(data / "demo", n_good=10, n_bad_per_type=1, size=64, seed=1)
    before = _digest(data)
    results = tmp_path / "results"
    settings = {"dataset_root": str(data), "category": "demo", "result_path": str(results), "image_size": 64,
                "write_csv": False, "coreset_ratio": 0.05}
    assert _train(context, settings, {}) == 0
    trace = tmp_path / "trace.txt"  # a second training, replacing the first: every checkpoint is passed
    assert _train(context, settings, {"HAMACHO_TEST_TRACE": str(trace)}) == 0
    [complete] = list_runs(results)
    created = read_config(complete.run_dir)["created"]
    stages = {line.rpartition(":")[0] for line in trace.read_text(encoding="utf-8").splitlines()}
    for needed in ("checking images", "extracting features", "predicting", "writing outputs",
                   "saving model.safetensors", "saving config.yaml", "saving evaluation.safetensors",
                   "saving metrics.json", "publishing run", "replacing run"):
        assert needed in stages, f"no checkpoint {needed!r} in {sorted(stages)}"

    points = _kill_points(trace)
    assert len(points) >= MIN_KILL_POINTS, points
    leftovers = 0
    for point in points:
        assert _train(context, settings, {"HAMACHO_TEST_KILL_AT": point}) == -signal.SIGKILL, point
        leftovers += bool(interrupted_runs(results))
        runs = list_runs(results)
        if point.startswith("replacing run"):  # killed between the two renames: no run listed until repaired
            assert runs == []
            clean_interrupted(results)
            runs = list_runs(results)
        # the earlier complete run (or the new, complete one put in place by the repair) is the only one listed
        assert [r.run_dir for r in runs] == [complete.run_dir], point
        assert (complete.run_dir / "evaluation.json").is_file() and (complete.run_dir / "weights").is_dir(), point
        assert sorted(p.name for p in (results / "demo").iterdir() if not p.name.startswith(".")) == ["patchcore"]
        assert _digest(data) == before, point
    staged = [p for p in points if p.startswith(("writing outputs", "saving", "publishing", "replacing"))]
    assert leftovers == len(staged), "kills while writing leave a hidden staging folder (cleaned later)"

    assert _train(context, settings, {}) == 0  # the next training runs and cleans the leftovers
    [latest] = list_runs(results)
    assert read_config(latest.run_dir)["created"] >= created
    assert interrupted_runs(results) == []
    assert [p for p in (results / "demo").iterdir() if p.name.startswith(".")] == []
    assert _digest(data) == before
    print(f"kill points survived: {len(points)}")  # figure for the closing note
