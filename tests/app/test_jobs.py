"""The training job manager with a stand-in trainer: queue of one worker, cancel, failure, JSON status, restart."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from hamacho_core.errors import DataError
from hamacho_core.pipeline import TrainConfig, TrainResult
from ui.jobs import JobManager, load_jobs


class FakeTrainer:
    """Calls progress like the core does; can be held at a gate, fail, or run to the end."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.running: list[str] = []
        self.max_parallel = 0
        self.fail = False

    def __call__(self, config: TrainConfig, progress) -> TrainResult:  # noqa: ANN001
        self.running.append(config.run_dir)
        self.max_parallel = max(self.max_parallel, len(self.running))
        try:
            for i in range(1, 4):
                progress(i, 3, "extracting features")
                self.gate.wait(5)
            if self.fail:
                raise DataError("need at least 2 readable good images")
            (Path(config.run_dir) / "config.yaml").write_text("x")
            return TrainResult(Path(config.run_dir), {"image": {"f1": 0.9, "auroc": 0.95}}, [], (128, 128), "")
        finally:
            self.running.remove(config.run_dir)


def _config(project: Path, name: str) -> TrainConfig:
    return TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / name))


def test_jobs_run_one_at_a_time_and_persist(tmp_path: Path) -> None:
    trainer = FakeTrainer()
    manager = JobManager(trainer)
    first = manager.submit(tmp_path, _config(tmp_path, "a"))
    second = manager.submit(tmp_path, _config(tmp_path, "b"))
    statuses = {job.id: job.status for job in manager.jobs(tmp_path)}
    assert statuses["b"] == "queued"
    trainer.gate.set()
    assert manager.wait(first.key).status == "done"
    assert manager.wait(second.key).status == "done"
    assert trainer.max_parallel == 1
    saved = json.loads((tmp_path / "jobs" / "a.json").read_text(encoding="utf-8"))
    assert saved["status"] == "done" and saved["metrics"]["f1"] == 0.9
    assert any("extracting features" in line for line in saved["log"])


def test_cancel_running_and_queued_jobs(tmp_path: Path) -> None:
    trainer = FakeTrainer()
    manager = JobManager(trainer)
    running = manager.submit(tmp_path, _config(tmp_path, "a"))
    queued = manager.submit(tmp_path, _config(tmp_path, "b"))
    while not trainer.running:
        threading.Event().wait(0.01)
    manager.cancel(queued.key)
    manager.cancel(running.key)
    trainer.gate.set()
    assert manager.wait(running.key).status == "cancelled"
    assert manager.wait(queued.key).status == "cancelled"
    assert not (tmp_path / "runs" / "a").exists() and not (tmp_path / "runs" / "b").exists()
    assert trainer.max_parallel == 1


def test_failure_is_a_status_with_the_message(tmp_path: Path) -> None:
    trainer = FakeTrainer()
    trainer.fail = True
    trainer.gate.set()
    manager = JobManager(trainer)
    job = manager.wait(manager.submit(tmp_path, _config(tmp_path, "a")).key)
    assert job.status == "failed" and "2 readable good images" in job.error
    assert not (tmp_path / "runs" / "a").exists()


def test_a_restarted_server_shows_finished_and_interrupted_jobs(tmp_path: Path) -> None:
    trainer = FakeTrainer()
    manager = JobManager(trainer)
    done = manager.submit(tmp_path, _config(tmp_path, "a"))
    trainer.gate.set()
    manager.wait(done.key)
    stale = load_jobs(tmp_path)[0]
    stale.id, stale.run_dir, stale.status = "z", str(tmp_path / "runs" / "z"), "running"
    stale.save()
    restarted = JobManager(FakeTrainer())
    statuses = {job.id: job.status for job in restarted.jobs(tmp_path)}
    assert statuses == {"a": "done", "z": "interrupted"}


def test_eta_and_fraction() -> None:
    from ui.jobs import Job

    job = Job("x", "/p", {}, status="running", done=2, total=10, stage_started=100.0, started=90.0)
    assert job.fraction == 0.2
    assert job.eta_seconds(now=104.0) == 16.0
    assert job.elapsed(now=104.0) == 14.0
