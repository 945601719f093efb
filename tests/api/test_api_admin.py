"""The old tool's model and picture endpoints in today's form: runs (delete, load, unload), several runs in one
predict request (uploads and server paths), dataset pictures (add, list, details, delete), and runs served from
outside the workspace (`hamacho serve --runs`)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from api_support import KEY, LIMITS, PROJECT, RUN, RUN_ID, demo_pictures
from fastapi.testclient import TestClient

from hamacho_core.api import create_app
from hamacho_core.jobs.records import Job
from hamacho_core.labels import open_refusals


def _client(workspace: Path, **options: object) -> TestClient:
    client = TestClient(create_app(workspace, KEY, LIMITS, accelerator="cpu", record=False, **options),
                        raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {KEY}"
    return client


def _files(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "image/png")) for p in paths]


def test_runs_load_unload_and_the_cache(trained_workspace: Path) -> None:
    with _client(trained_workspace) as client:
        assert client.get("/v1/models").json()["loaded"] == []
        assert client.post(f"/v1/runs/{quote(RUN_ID)}/load").json()["loaded"] == [RUN_ID]
        assert client.app.state.models.loads == 1
        assert client.post(f"/v1/runs/{quote(RUN_ID)}/unload").json()["loaded"] == []
        assert client.post(f"/v1/runs/{quote(PROJECT)}:nothing/load").status_code == 404


def test_a_run_used_by_a_job_is_not_deleted(workspace: Path) -> None:
    run_dir = workspace / PROJECT / "runs" / RUN
    job = Job(id="inference-20250102-000000", project=str(workspace / PROJECT), config={"run": str(run_dir)},
              status="running", run_dir=str(workspace / PROJECT / "inference" / "20250102-000000"), kind="inference")
    job.save()
    with _client(workspace) as client:
        refused = client.delete(f"/v1/runs/{quote(RUN_ID)}")
        assert refused.status_code == 409 and "inference-20250102-000000" in refused.json()["error"]
        job.status = "done"
        job.save()
        assert client.delete(f"/v1/runs/{quote(RUN_ID)}").json() == {"id": RUN_ID, "deleted": True}
        assert not run_dir.exists() and client.get(f"/v1/runs/{quote(RUN_ID)}").status_code == 404


def test_one_request_scores_uploads_and_server_paths_with_several_runs(workspace: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    runs = workspace / PROJECT / "runs"
    shutil.copytree(runs / RUN, runs / "20250102-000000")
    second = f"{PROJECT}:20250102-000000"
    pictures = demo_pictures(workspace, 1)
    monkeypatch.setenv("HAMACHO_IMPORT_ROOTS", str(pictures[0].parent.parent))
    with _client(workspace) as client:
        answer = client.post("/v1/predict", files=_files(pictures[:1]),
                             data={"run_ids": [RUN_ID, second], "paths": [str(pictures[1].parent)]})
        assert answer.status_code == 200, answer.text
        first, other = answer.json()["runs"]
        assert (first["run_id"], other["run_id"]) == (RUN_ID, second)
        assert len(first["results"]) == 1 + len(list(pictures[1].parent.glob("*.png")))
        assert [r["raw_score"] for r in first["results"]] == [r["raw_score"] for r in other["results"]]
        outside = client.post("/v1/predict", data={"run_ids": [RUN_ID], "paths": ["/etc"]})
        assert outside.status_code == 422 and "HAMACHO_IMPORT_ROOTS" in outside.json()["error"]
        assert client.post("/v1/predict", data={"run_ids": [RUN_ID]}).status_code == 422
        assert client.post("/v1/predict", data={"run_ids": [f"{PROJECT}:nothing"],
                                                "paths": [str(pictures[0])]}).status_code == 404


def test_dataset_pictures_are_added_listed_detailed_and_deleted(workspace: Path) -> None:
    picture = demo_pictures(workspace, 1)[0]
    url = f"/v1/projects/{quote(PROJECT)}/pictures"
    with _client(workspace) as client:
        before = client.get(url, params={"kind": "good"}).json()["total"]
        added = client.post(url, data={"kind": "bad"}, files=[
            ("files", ("新傷/追加.png", picture.read_bytes(), "image/png")),
            ("files", ("notes.txt", b"hello", "text/plain")),
            ("files", ("broken.png", b"\x89PNG not really", "image/png"))])
        assert added.status_code == 201, added.text
        body = added.json()
        assert body["written"] == ["bad/新傷/追加.png"] and len(body["problems"]) == 2
        refused = {Path(r.name).name: r.who for r in open_refusals(workspace / PROJECT)}
        assert refused.get("notes.txt") == refused.get("broken.png") == "api"  # kept until dismissed, as the app's
        assert client.get(url, params={"kind": "good"}).json()["total"] == before
        details = client.get(f"{url}/{quote('bad/新傷/追加.png')}").json()
        assert details["defect_type"] == "新傷" and details["width"] == details["height"] == 128
        assert details["sha256"] == hashlib.sha256(picture.read_bytes()).hexdigest()
        assert client.delete(f"{url}/{quote('bad/新傷/追加.png')}").json()["path"] == "bad/新傷/追加.png"
        assert client.get(f"{url}/{quote('bad/新傷/追加.png')}").status_code == 404
        assert client.get(f"{url}/{quote('../../config.yaml')}").status_code == 404
        assert client.get("/v1/projects/nothing/pictures").status_code == 404


def test_serve_takes_a_results_root_with_the_same_ids(trained_workspace: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(trained_workspace / PROJECT / "runs" / RUN, results / "washer" / "patchcore")
    (tmp_path / "empty").mkdir()
    with _client(tmp_path / "empty", run_paths=[results]) as client:
        assert [r["id"] for r in client.get("/v1/runs").json()["runs"]] == ["washer:patchcore"]
        picture = demo_pictures(trained_workspace, 1)[-1:]
        answer = client.post("/v1/runs/washer:patchcore/predict", files=_files(picture))
        assert answer.status_code == 200 and answer.json()["results"][0]["verdict"] == "defect"
    with _client(tmp_path / "empty", run_paths=[results / "washer" / "patchcore"]) as client:
        assert client.get("/v1/runs/washer:patchcore").json()["id"] == "washer:patchcore"
