"""The API contract through FastAPI's TestClient: runs, predict, train/jobs, and every error as JSON."""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from api_support import KEY, LIMITS, PROJECT, RUN, RUN_ID, demo_pictures, png_bytes
from fastapi.testclient import TestClient

from hamacho_core.api import ApiLimits, check_bind_address, create_app
from hamacho_core.errors import ConfigError
from hamacho_core.persistence import update_thresholds

PREDICT = f"/v1/runs/{quote(RUN_ID)}/predict"


def _files(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "image/png")) for p in paths]


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]
    assert "Traceback" not in body["error"]
    return body["error"]


# ------------------------------------------------------------------------------------------------ health, runs
def test_health_needs_no_key_and_names_the_device(trained_workspace: Path) -> None:
    with TestClient(create_app(trained_workspace, KEY, LIMITS)) as client:
        body = client.get("/health").json()
    assert body["status"] == "ok" and body["version"] and body["device"].startswith(("cpu", "cuda"))


def test_runs_list_complete_runs_with_metrics_and_thresholds(shared_client: TestClient) -> None:
    runs = shared_client.get("/v1/runs").json()["runs"]
    assert [r["id"] for r in runs] == [RUN_ID]
    run = runs[0]
    assert run["project"] == PROJECT and run["model"] == "patchcore" and run["input_shape"] == [128, 128]
    assert run["tiles"] == 1 and 0.0 <= run["metrics"]["image_auroc"] <= 1.0 and "image_f1" in run["metrics"]
    assert run["metric_sources"]["image_f1"] == "fitted" and run["metric_sources"]["honest_f1"] == "cross-fitted"
    assert run["thresholds"]["image_norm"] == 0.5 and run["thresholds"]["method"] == "adaptive"


def test_incomplete_and_damaged_runs_are_not_listed(workspace: Path) -> None:
    runs = workspace / PROJECT / "runs"
    (runs / "20250102-000000").mkdir()  # a job that has not saved its model yet
    (runs / "20250102-000000" / "config.yaml").write_text("model: patchcore\n", encoding="utf-8")
    (runs / "20250103-000000").mkdir()  # damaged
    (runs / "20250103-000000" / "config.yaml").write_text(": : :", encoding="utf-8")
    shutil.copytree(runs / RUN, runs / ".20250104-000000.1.partial")  # still being written (staged_run_dir)
    shutil.copytree(runs / RUN, runs / "nested" / "20250105-000000")  # no <project>:<folder> id for it
    no_evaluation = shutil.copytree(runs / RUN, runs / "20250106-000000")
    (no_evaluation / "evaluation.json").unlink()  # training writes the evaluation last
    with TestClient(create_app(workspace, KEY, LIMITS)) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        assert [r["id"] for r in client.get("/v1/runs").json()["runs"]] == [RUN_ID]
        _error(client.get(f"/v1/runs/{quote(PROJECT)}:20250102-000000"), 404)


def test_one_run_has_its_settings(shared_client: TestClient) -> None:
    run = shared_client.get(f"/v1/runs/{quote(RUN_ID)}").json()
    assert run["id"] == RUN_ID and run["settings"]["image_size"] == 128 and run["detector"]["backbone"]
    assert run["input_shape_reason"]


# --------------------------------------------------------------------------------------------------- predict
def test_predict_scores_every_picture_with_verdict_and_regions(shared_client: TestClient,
                                                               trained_workspace: Path) -> None:
    paths = demo_pictures(trained_workspace)
    body = shared_client.post(PREDICT, files=_files(paths)).json()
    assert body["run_id"] == RUN_ID and [r["filename"] for r in body["results"]] == [p.name for p in paths]
    for result in body["results"]:
        assert result["problem"] is None and 0.0 <= result["norm_score"] <= 1.0
        assert result["verdict"] == ("defect" if result["norm_score"] > 0.5 else "good")
        assert result["image_norm"] == 0.5 and result["heat_map_png"] is None
        for region in result["defect_regions"]:
            assert region["peak_score"] > result["pixel_norm"] and region["area_px"] >= 1
    assert body["results"][-1]["verdict"] == "defect" and body["results"][-1]["defect_regions"]


def test_maps_come_back_as_pngs_in_the_original_geometry(shared_client: TestClient) -> None:
    image = np.full((90, 150, 3), 120, np.uint8)
    cv2.circle(image, (75, 45), 20, (200, 60, 60), -1)
    body = shared_client.post(PREDICT, files=[("files", ("odd.png", png_bytes(image), "image/png"))],
                              data={"maps": "true"}).json()
    result = body["results"][0]
    heat = cv2.imdecode(np.frombuffer(base64.b64decode(result["heat_map_png"]), np.uint8), cv2.IMREAD_UNCHANGED)
    mask = cv2.imdecode(np.frombuffer(base64.b64decode(result["mask_png"]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert heat.shape == (90, 150, 3) and mask.shape == (90, 150)
    assert set(np.unique(mask)) <= {0, 255}
    assert int((mask > 0).sum()) == sum(r["area_px"] for r in result["defect_regions"])


def test_thresholds_per_request_change_the_verdict_not_the_score(shared_client: TestClient,
                                                                 trained_workspace: Path) -> None:
    files = _files(demo_pictures(trained_workspace, 1)[:1])
    default = shared_client.post(PREDICT, files=files).json()["results"][0]
    strict = shared_client.post(PREDICT, files=files, data={"image_norm": "0.02", "pixel_norm": "0.02"}).json()
    result = strict["results"][0]
    assert result["raw_score"] == default["raw_score"] and result["image_norm"] == 0.02
    assert result["verdict"] == ("defect" if result["norm_score"] > 0.02 else "good")
    assert len(result["defect_regions"]) >= len(default["defect_regions"])
    # The old tool's rule, as the CLI: inside [0, 1] but outside (0.01, 0.99) -> 0.5 with a warning.
    edge = shared_client.post(PREDICT, files=files, data={"image_norm": "0.995"}).json()
    assert edge["results"][0]["image_norm"] == 0.5 and "0.995" in edge["warnings"][0]


def test_thresholds_saved_in_the_app_apply_without_a_restart(workspace: Path) -> None:
    with TestClient(create_app(workspace, None, LIMITS, accelerator="cpu")) as client:
        files = _files(demo_pictures(workspace, 1)[:1])
        assert client.post(PREDICT, files=files).json()["results"][0]["image_norm"] == 0.5
        update_thresholds(workspace / PROJECT / "runs" / RUN, image_norm=0.7)
        assert client.post(PREDICT, files=files).json()["results"][0]["image_norm"] == 0.7
        assert client.app.state.models.loads == 1  # the model was not reloaded for it


def test_unusable_files_get_a_problem_and_the_others_a_score(shared_client: TestClient,
                                                             trained_workspace: Path) -> None:
    good = demo_pictures(trained_workspace, 1)[0]
    huge = np.zeros((1100, 1000), np.uint8)  # 1.1 Mpx > the 1 Mpx limit of the test app
    files = [("files", ("notes.txt", b"not a picture", "text/plain")), ("files", ("empty.png", b"", "image/png")),
             ("files", ("huge.png", png_bytes(huge), "image/png")), *_files([good])]
    results = shared_client.post(PREDICT, files=files).json()["results"]
    assert [r["filename"] for r in results] == ["notes.txt", "empty.png", "huge.png", good.name]
    assert "not an image" in results[0]["problem"] and results[0]["raw_score"] is None
    assert "empty" in results[1]["problem"] and "HAMACHO_MAX_IMAGE_PIXELS" in results[2]["problem"]
    assert results[3]["problem"] is None and results[3]["raw_score"] is not None


def test_a_second_request_uses_the_cached_model(shared_client: TestClient, trained_workspace: Path) -> None:
    files = _files(demo_pictures(trained_workspace, 1)[:1])
    shared_client.post(PREDICT, files=files)
    loads = shared_client.app.state.models.loads
    shared_client.post(PREDICT, files=files)
    assert shared_client.app.state.models.loads == loads == 1


def test_model_cache_is_bounded_least_recently_used(workspace: Path) -> None:
    runs = workspace / PROJECT / "runs"
    for name in ("20250104-000000", "20250105-000000"):
        shutil.copytree(runs / RUN, runs / name)
    files = _files(demo_pictures(workspace, 1)[:1])
    with TestClient(create_app(workspace, None, LIMITS, cache_size=2, accelerator="cpu")) as client:
        for name in (RUN, "20250104-000000", "20250105-000000", "20250105-000000"):
            assert client.post(f"/v1/runs/{quote(PROJECT)}:{name}/predict", files=files).status_code == 200
        models = client.app.state.models
        assert len(models) == 2 and models.loads == 3
        client.post(PREDICT, files=files)  # evicted before: loaded again
        assert models.loads == 4


def test_concurrent_requests_get_the_scores_of_sequential_ones(shared_client: TestClient,
                                                               trained_workspace: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    paths = demo_pictures(trained_workspace, 2)

    def score(path: Path) -> float:
        answer = shared_client.post(PREDICT, files=_files([path]))
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["raw_score"]

    sequential = [score(p) for p in paths]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(score, paths * 2))
    assert concurrent == sequential * 2


def test_a_run_whose_weights_cannot_be_read_is_409(workspace: Path) -> None:
    (workspace / PROJECT / "runs" / RUN / "weights" / "model.safetensors").write_bytes(b"damaged")
    with TestClient(create_app(workspace, None, LIMITS, accelerator="cpu")) as client:
        message = _error(client.post(PREDICT, files=_files(demo_pictures(workspace, 1)[:1])), 409)
    assert "model.safetensors" in message and "train it again" in message


# ---------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("header", [None, "Bearer wrong-key-0123456789", f"Basic {KEY}", f"Bearer {KEY}x"])
def test_every_v1_endpoint_needs_the_key(trained_workspace: Path, header: str | None) -> None:
    with TestClient(create_app(trained_workspace, KEY, LIMITS)) as client:
        headers = {"Authorization": header} if header else {}
        for method, url in (("GET", "/v1/runs"), ("GET", f"/v1/runs/{quote(RUN_ID)}"), ("POST", PREDICT),
                            ("POST", f"/v1/projects/{quote(PROJECT)}/train"), ("GET", f"/v1/jobs/{quote(RUN_ID)}"),
                            ("DELETE", f"/v1/jobs/{quote(RUN_ID)}")):
            message = _error(client.request(method, url, headers=headers), 401)
            assert "HAMACHO_API_KEY" in message


def test_unknown_run_project_job_and_route_are_404(shared_client: TestClient) -> None:
    for url in ("/v1/runs/nothing:here", "/v1/runs/no-colon", f"/v1/runs/{quote(PROJECT)}:..",
                "/v1/jobs/x:y", "/v1/nowhere"):
        message = _error(shared_client.get(url), 404)
        assert "GET /v1/runs" in message or "/docs" in message or "POST /v1/projects" in message
    picture = _files([Path(__file__)])  # never read: the run is checked first
    _error(shared_client.post("/v1/runs/nothing:here/predict", files=picture), 404)
    _error(shared_client.post("/v1/projects/nothing/train", json={}), 404)
    _error(shared_client.post("/v1/projects/..%2F/train", json={}), 404)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf", "abc"])
def test_bad_threshold_is_422_with_what_to_do(shared_client: TestClient, trained_workspace: Path, value: str) -> None:
    files = _files(demo_pictures(trained_workspace, 1)[:1])
    message = _error(shared_client.post(PREDICT, files=files, data={"image_norm": value}), 422)
    assert "image_norm" in message


def test_empty_upload_is_422(shared_client: TestClient) -> None:
    assert "files" in _error(shared_client.post(PREDICT, data={"maps": "true"}), 422)
    assert "files" in _error(shared_client.post(PREDICT), 422)


def test_too_large_request_and_too_many_files_are_413(shared_client: TestClient, trained_workspace: Path) -> None:
    big = [("files", ("big.png", b"\0" * (LIMITS.max_upload_bytes + 1), "image/png"))]
    assert "HAMACHO_MAX_UPLOAD_BYTES" in _error(shared_client.post(PREDICT, files=big), 413)
    many = _files(demo_pictures(trained_workspace, 1)[:1]) * (LIMITS.max_files + 1)
    assert "HAMACHO_MAX_FILES" in _error(shared_client.post(PREDICT, files=many), 413)


def test_a_chunked_body_is_counted_too(shared_client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(4):
            yield b"x" * (LIMITS.max_upload_bytes // 3)

    response = shared_client.post(PREDICT, content=chunks(), headers={"Content-Type": "multipart/form-data; b=x"})
    _error(response, 413)


def test_bad_train_settings_are_422(shared_client: TestClient) -> None:
    url = f"/v1/projects/{quote(PROJECT)}/train"
    assert "image_size" in _error(shared_client.post(url, json={"image_size": 10}), 422)
    assert "unknown" in _error(shared_client.post(url, json={"unknown": 1}), 422)
    _error(shared_client.post(url, json={"model": "resnet"}), 422)


def test_server_refuses_a_public_address_without_a_key() -> None:
    with pytest.raises(ConfigError, match="HAMACHO_API_KEY"):
        check_bind_address("0.0.0.0", None)
    with pytest.raises(ConfigError, match="16 characters"):
        check_bind_address("0.0.0.0", "short")
    check_bind_address("127.0.0.1", None)
    check_bind_address("::1", None)
    check_bind_address("0.0.0.0", KEY)


def test_serve_command_refuses_a_public_address_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from hamacho_core.cli import main

    monkeypatch.delenv("HAMACHO_API_KEY", raising=False)
    outcome = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert outcome.exit_code != 0 and "HAMACHO_API_KEY" in outcome.output


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMACHO_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("HAMACHO_MAX_IMAGE_PIXELS", "2_000")
    assert ApiLimits.from_env() == ApiLimits(1000, 2000, ApiLimits().max_files)
    monkeypatch.setenv("HAMACHO_MAX_FILES", "many")
    with pytest.raises(ConfigError, match="HAMACHO_MAX_FILES"):
        ApiLimits.from_env()


def test_an_unexpected_error_is_a_json_500_without_traceback(trained_workspace: Path) -> None:
    app = create_app(trained_workspace, None, LIMITS)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    app.state.models.score = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        message = _error(client.post(PREDICT, files=_files(demo_pictures(trained_workspace, 1)[:1])), 500)
    assert "RuntimeError" in message and "secret internals" not in message


# ------------------------------------------------------------------------------------------------ train, jobs
def _wait(client: TestClient, job_id: str, timeout: float = 240.0) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        job = client.get(f"/v1/jobs/{quote(job_id)}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running")


def test_train_starts_a_job_that_ends_in_a_servable_run(workspace: Path) -> None:
    with TestClient(create_app(workspace, KEY, LIMITS, accelerator="cpu")) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        answer = client.post(f"/v1/projects/{quote(PROJECT)}/train",
                             json={"image_size": 64, "resize": "square", "write_csv": False, "accelerator": "cpu"})
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["id"].startswith(f"{PROJECT}:") and job["status"] in ("queued", "running")
        done = _wait(client, job["id"])
        assert done["status"] == "done", done
        assert done["run_id"] == job["id"] and done["log"]
        assert job["id"] in [r["id"] for r in client.get("/v1/runs").json()["runs"]]
        assert client.get(f"/v1/runs/{quote(job['id'])}").json()["input_shape"] == [64, 64]
        # The app sees the API's job: it is in the project's job files.
        assert (workspace / PROJECT / "jobs" / f"{job['id'].split(':')[1]}.json").is_file()


def test_delete_cancels_a_job(workspace: Path) -> None:
    with TestClient(create_app(workspace, None, LIMITS, accelerator="cpu")) as client:
        job = client.post(f"/v1/projects/{quote(PROJECT)}/train", json={"image_size": 64}).json()
        cancelled = client.delete(f"/v1/jobs/{quote(job['id'])}").json()
        assert cancelled["id"] == job["id"]
        assert _wait(client, job["id"])["status"] == "cancelled"
        assert job["id"] not in [r["id"] for r in client.get("/v1/runs").json()["runs"]]
        assert not (workspace / PROJECT / "runs" / job["id"].split(":")[1]).exists()


def test_the_cli_imports_no_web_framework_until_serve() -> None:
    """`hamacho --help` stays fast: fastapi, uvicorn and the api package are imported inside `serve` only."""
    import ast

    import hamacho_core.cli

    tree = ast.parse(Path(hamacho_core.cli.__file__).read_text(encoding="utf-8"))
    top_level = {alias.name.split(".")[0] if isinstance(node, ast.Import) else (node.module or "")
                 for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    assert not top_level & {"fastapi", "uvicorn", "starlette", "hamacho_core.api"}
    inside = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "hamacho_core.api"]
    assert inside, "serve imports hamacho_core.api lazily"
