"""Jobs in worker processes (hamacho_core.jobs): queue, status through JSON records, cancel, dead workers, restart.

The workers are real processes (``python -m hamacho_core.jobs.worker``) running a stand-in trainer written to a
temporary module: it reports progress like the pipeline and behaves as its run folder's name says (``ok-*``,
``fail-*``, ``hold-*`` waits until a ``release`` file appears, ``crash-*`` segfaults).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from hamacho_core.jobs import Job, JobManager, load_jobs
from hamacho_core.jobs.inference import InferenceJobConfig
from hamacho_core.pipeline import TrainConfig, infer

TRAINER = textwrap.dedent('''
    import ctypes, time
    from pathlib import Path
    from types import SimpleNamespace
    from hamacho_core.errors import DataError
    from hamacho_core.metrics import ImageMetrics, RunMetrics

    def train(config, progress):
        run = Path(config.run_dir)
        mode = run.name.split("-")[0]
        progress(0, 3, "extracting features")
        while mode == "hold" and not (run.parent / "release").exists():
            progress(1, 3, "extracting features")
            time.sleep(0.05)
        if mode == "crash":
            ctypes.string_at(0)
        if mode == "fail":
            raise DataError("need at least 2 readable good images")
        for i in range(1, 4):
            progress(i, 3, "predicting")
        (run / "config.yaml").write_text("x")
        image = ImageMetrics(threshold=0.5, auroc=0.95, average_precision=0.9, f1=0.9, precision=0.9, recall=0.9,
                             accuracy=0.9, tp=9, fp=1, tn=9, fn=1)
        # what the worker reads of a TrainResult (the stand-in's worker never loads torch: it starts fast)
        return SimpleNamespace(run_dir=run, metrics=RunMetrics(image), problems=[], input_shape=(128, 128))
''')


@pytest.fixture()
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "fake_trainer.py").write_text(TRAINER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    return lambda workers=1: JobManager(workers=workers, trainer="fake_trainer:train")


def _config(project: Path, name: str) -> TrainConfig:
    return TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / name))


def _running(manager: JobManager, key: str, timeout: float = 60.0) -> int:
    """Wait until the job's worker has started training; its process id."""
    end = time.time() + timeout
    while time.time() < end:
        job = manager.get(key)
        if job is not None and job.status == "running" and job.stage:
            return job.pid
        time.sleep(0.05)
    raise TimeoutError(key)


def test_jobs_run_in_worker_processes_one_at_a_time_and_persist(tmp_path: Path, manager) -> None:
    jobs = manager()
    first = jobs.submit(tmp_path, _config(tmp_path, "ok-a"), estimated_seconds=5)
    second = jobs.submit(tmp_path, _config(tmp_path, "fail-b"))
    assert {job.id: job.status for job in jobs.jobs(tmp_path)}["fail-b"] == "queued"
    done = jobs.wait(first.key, 120)
    assert done.status == "done" and done.pid not in (0, os.getpid())
    failed = jobs.wait(second.key, 120)
    assert failed.status == "failed" and "2 readable good images" in failed.error
    assert not Path(second.run_dir).exists()  # a failed run that saved nothing leaves nothing
    saved = json.loads((tmp_path / "jobs" / "ok-a.json").read_text(encoding="utf-8"))
    assert saved["status"] == "done" and saved["metrics"]["f1"] == 0.9
    assert any("predicting" in line for line in saved["log"])
    assert failed.started >= done.finished - 0.5  # one worker: the second started after the first ended


def test_kill_9_or_segfault_of_a_worker_fails_its_job_and_the_others_go_on(tmp_path: Path, manager) -> None:
    jobs = manager()
    killed = jobs.submit(tmp_path, _config(tmp_path, "hold-a"))
    crashed = jobs.submit(tmp_path, _config(tmp_path, "crash-b"))
    fine = jobs.submit(tmp_path, _config(tmp_path, "ok-c"))
    os.kill(_running(jobs, killed.key), signal.SIGKILL)
    result = jobs.wait(killed.key, 60)
    assert result.status == "failed" and "SIGKILL" in result.error and "out of memory" in result.error
    assert not Path(killed.run_dir).exists()
    result = jobs.wait(crashed.key, 120)
    assert result.status == "failed" and "SIGSEGV" in result.error
    assert jobs.wait(fine.key, 120).status == "done"
    assert {job.id: job.status for job in load_jobs(tmp_path)} == {"hold-a": "failed", "crash-b": "failed",
                                                                   "ok-c": "done"}


def test_cancel_stops_the_worker_process_and_drops_a_waiting_job(tmp_path: Path, manager) -> None:
    jobs = manager()
    running = jobs.submit(tmp_path, _config(tmp_path, "hold-a"), estimated_seconds=30)
    waiting = jobs.submit(tmp_path, _config(tmp_path, "ok-b"), estimated_seconds=20)
    third = jobs.submit(tmp_path, _config(tmp_path, "ok-c"), estimated_seconds=10)
    pid = _running(jobs, running.key)
    slot_b, slot_c = jobs.queue_slot(waiting.key), jobs.queue_slot(third.key)
    assert slot_b is not None and slot_c is not None
    assert (slot_b.position, slot_c.position) == (1, 2)
    assert 0 < slot_b.wait_seconds and slot_c.wait_seconds == pytest.approx(slot_b.wait_seconds + 20, abs=1)
    assert jobs.cancel(waiting.key).status == "cancelled"
    assert jobs.queue_slot(third.key).position == 1
    jobs.cancel(running.key)
    assert jobs.wait(running.key, 60).status == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not Path(running.run_dir).exists() and not Path(waiting.run_dir).exists()
    assert jobs.wait(third.key, 120).status == "done"  # the queue goes on


def test_two_workers_run_two_jobs_at_once(tmp_path: Path, manager) -> None:
    jobs = manager(workers=2)
    first = jobs.submit(tmp_path, _config(tmp_path, "hold-a"))
    second = jobs.submit(tmp_path, _config(tmp_path, "hold-b"))
    assert _running(jobs, first.key) != _running(jobs, second.key)
    (tmp_path / "runs" / "release").write_text("")
    assert jobs.wait(first.key, 60).status == "done" and jobs.wait(second.key, 60).status == "done"


SERVER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from hamacho_core.config import TrainConfig
    from hamacho_core.jobs import JobManager
    project = Path(sys.argv[1])
    jobs = JobManager(trainer="fake_trainer:train")
    def config(name):
        return TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / name))
    job = jobs.submit(project, config("hold-a"))
    jobs.submit(project, config("ok-b"))
    while not (j := jobs.get(job.key)).stage:
        time.sleep(0.05)
    print(j.pid, flush=True)
    time.sleep(600)
''')


def test_a_killed_server_takes_its_workers_along_and_a_restart_shows_interrupted_jobs(
        tmp_path: Path, manager) -> None:
    manager()  # sets PYTHONPATH for the stand-in trainer
    project = tmp_path / "project"
    project.mkdir()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(project)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(server.stdout.readline())
    finally:
        server.kill()  # kill -9 of the server mid-training
        server.wait(10)
    end = time.time() + 10
    while time.time() < end and Path(f"/proc/{worker}").exists() and "Z" not in _state(worker):
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists() or "Z" in _state(worker), "the worker outlived the server"
    restarted = JobManager(trainer="fake_trainer:train")
    assert restarted.recover([project]) == 2
    statuses = {job.id: job.status for job in load_jobs(project)}
    assert statuses == {"hold-a": "interrupted", "ok-b": "interrupted"}  # written to the records, not only shown
    assert not (project / "runs" / "hold-a").exists()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_overall_progress_never_falls_back_and_eta_uses_it() -> None:
    job = Job("x", "/p", {}, status="running", started=100.0, estimated_seconds=50.0)
    assert job.overall_fraction == 0.0 and job.eta_seconds(now=110.0) == 40.0  # before any step: the estimate
    seen = []
    for stage in ("checking images", "extracting features", "coreset", "predicting", "writing outputs"):
        for done in (0, 5, 10):
            job.stage, job.done, job.total = stage, done, 10
            seen.append(job.overall_fraction)
    assert seen == sorted(seen) and 0.9 < seen[-1] < 1.0
    job.stage, job.done, job.total = "predicting", 0, 10
    assert job.eta_seconds(now=150.0) == pytest.approx(50.0 / job.overall_fraction * (1 - job.overall_fraction))


@pytest.mark.parametrize("speed", [3.0, 1 / 3])
def test_early_time_estimate_follows_the_stage_plan_within_a_sane_factor(speed: float) -> None:
    """A stand-in training on an injected clock: the machine runs the plan 3x faster (or slower) than planned and
    the start-up takes 4 s. From the first report on (the 5 % mark is passed at the first stage), the estimate stays
    within a factor 4 of the true time left; extrapolating the time spent so far by the share done said 10x the
    truth at 5 %."""
    from hamacho_core.planning import STARTING, estimate_stage_seconds

    plan = estimate_stage_seconds(37, 128, (256, 256), 3_789, supervised=True)
    real = {name: (4.0 if name == STARTING else seconds / speed) for name, seconds in plan.items()}
    finish = 100.0 + sum(real.values())
    job = Job("x", "/p", {}, status="running", started=100.0, estimated_seconds=sum(plan.values()), stage_plan=plan)
    assert job.eta_seconds(now=101.0) == pytest.approx(sum(plan.values()) - 1.0, rel=0.2)  # before any report
    clock, ratios = 100.0 + real[STARTING], []
    for stage in [name for name in plan if name != STARTING]:
        job.stage, job.stages_seen = stage, [*job.stages_seen, stage]
        for done in range(11):
            job.done, job.total = done, 10
            at = clock + real[stage] * done / 10
            if at < finish - 0.5:
                ratios.append((job.overall_fraction, job.eta_seconds(now=at) / (finish - at)))
        clock += real[stage]
    assert ratios[0][0] < 0.3 and any(0.04 <= fraction <= 0.3 for fraction, _ in ratios)
    assert all(1 / 4 <= ratio <= 4 for _, ratio in ratios), ratios
    assert job.eta_seconds(now=clock) == pytest.approx(0.0, abs=1.0)


# ------------------------------------------------------------------------------------------------ inference jobs
HOLDING_INFERRER = textwrap.dedent('''
    import time
    from pathlib import Path
    from hamacho_core.jobs.inference import run_inference_job

    def run(config, progress):
        """The real inference job, held after its first scored batch until the job is cancelled."""
        def hold(done, total, stage):
            progress(done, total, stage)
            if stage == "predicting" and done >= 1:
                (Path(config.folder) / "held").write_text("")
                while True:
                    progress(done, total, stage)  # raises Cancelled once the job is cancelled
                    time.sleep(0.05)
        return run_inference_job(config, hold)
''')


def _inference_folder(project: Path, demo_root: Path, n: int = 6) -> Path:
    """An inference folder holding ``n`` demo pictures in input/ (as the app saves uploaded pictures)."""
    pictures = sorted(demo_root.glob("bad/*/*.png")) + sorted(demo_root.glob("good/*.png"))
    folder = project / "inference" / "20250101-000000"
    (folder / "input").mkdir(parents=True)
    for picture in pictures[:n]:
        shutil.copy(picture, folder / "input" / f"{picture.parent.name}_{picture.name}")
    return folder


def test_inference_job_runs_in_a_worker_and_writes_what_infer_writes(
        tmp_path: Path, trained: tuple[Path, str], demo_root: Path) -> None:
    run_dir = trained[0]
    folder = _inference_folder(tmp_path, demo_root)
    jobs = JobManager(workers=1)
    job = jobs.submit(tmp_path, InferenceJobConfig(str(run_dir), str(folder / "input"), str(folder)), kind="inference")
    assert job.id == "inference-20250101-000000" and jobs.get(job.key).kind == "inference"
    done = jobs.wait(job.key, 300)
    assert done.status == "done", done.error
    assert done.pid not in (0, os.getpid())  # scored in a worker process, not in this one
    assert done.metrics["n_pictures"] == 6 and done.overall_fraction == 1.0
    here = infer(run_dir, str(folder / "input"), save_path=tmp_path / "here", write_csv=False)
    ours = pd.read_csv(folder / "output" / "metrics" / "pred_outputs.csv", encoding="utf-8-sig")
    theirs = pd.read_csv(tmp_path / "here" / "metrics" / "pred_outputs.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(ours.drop(columns=["raw_score", "norm_score"]),
                                  theirs.drop(columns=["raw_score", "norm_score"]))
    assert ours["raw_score"].to_numpy() == pytest.approx(theirs["raw_score"].to_numpy(), rel=1e-5, abs=1e-6)
    assert done.metrics["n_defect"] == int(theirs["pred"].sum()) == sum(r["pred"] for r in here.rows)
    assert sorted(p.name for p in (folder / "output" / "images" / "input_image").iterdir()) == sorted(
        p.name for p in (tmp_path / "here" / "images" / "input_image").iterdir())
    assert not (folder / "output.partial").exists()


def test_a_cancelled_inference_job_leaves_no_half_written_output(
        tmp_path: Path, trained: tuple[Path, str], demo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "holding_inferrer.py").write_text(HOLDING_INFERRER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    folder = _inference_folder(tmp_path / "p", demo_root)
    jobs = JobManager(workers=1, inferrer="holding_inferrer:run")
    job = jobs.submit(tmp_path / "p", InferenceJobConfig(str(trained[0]), str(folder / "input"), str(folder),
                                                   write_csv=True), kind="inference")
    end = time.time() + 300
    while not (folder / "held").exists() and time.time() < end and jobs.get(job.key).status in ("queued", "running"):
        time.sleep(0.05)
    assert (folder / "output.partial" / "images").is_dir()  # the job had written part of its results
    jobs.cancel(job.key)
    cancelled = jobs.wait(job.key, 60)
    assert cancelled.status == "cancelled"
    assert not (folder / "output").exists() and not (folder / "output.partial").exists()
    assert len(list((folder / "input").iterdir())) == 6  # the pictures stay



def test_a_restart_interrupts_an_inference_job_and_drops_only_its_partial_results(tmp_path: Path) -> None:
    folder = tmp_path / "inference" / "20250101-000000"
    (folder / "input").mkdir(parents=True)
    (folder / "input" / "a.png").write_bytes(b"x")
    (folder / "output.partial" / "images").mkdir(parents=True)
    config = {"run": "r", "source": str(folder / "input"), "folder": str(folder)}
    Job("inference-20250101-000000", str(tmp_path), config, status="running", run_dir=str(folder),
        kind="inference").save()  # left running by a server that is gone
    assert JobManager(workers=1).recover([tmp_path]) == 1
    assert [(job.kind, job.status) for job in load_jobs(tmp_path)] == [("inference", "interrupted")]
    assert not (folder / "output.partial").exists() and (folder / "input" / "a.png").is_file()
