"""A line engineer's loop through the API, on SQLite and on a real PostgreSQL server: 200 pictures with part ids over
two days, the second from a shifted camera (brighter); the monitor raises day two's drift alarm; the results are
listed, filtered, exported and deleted."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from api_support import KEY, LIMITS, png_bytes
from fastapi.testclient import TestClient

from hamacho_core.api import create_app
from hamacho_core.imageio import read_image
from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.synthetic import make_demo_dataset

PROJECT, RUN = "line", "20260301-070000"
RUN_ID = f"{PROJECT}:{RUN}"
JST = timezone(timedelta(hours=9))
DAY_ONE = datetime(2026, 3, 2, 8, 0, tzinfo=JST)
PER_DAY = 100


@pytest.fixture(scope="module")
def line_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run (64 px) with 8 good test pictures: the drift reference."""
    home = tmp_path_factory.mktemp("line") / "workspace"
    make_demo_dataset(home / PROJECT / "data", n_good=40, n_bad_per_type=1, size=64, seed=5)
    train(TrainConfig(category="data", dataset_root=str(home / PROJECT), run_dir=str(home / PROJECT / "runs" / RUN),
                      image_size=64, resize="square", write_csv=False, accelerator="cpu"))
    return home


@pytest.fixture(scope="module")
def day_pictures(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """A day's parts from the line: 96 good, 4 defective, in a fixed shuffled order."""
    root = make_demo_dataset(tmp_path_factory.mktemp("parts") / "day", n_good=96, n_bad_per_type=1, size=64, seed=17)
    paths = sorted((root / "good").glob("*.png")) + sorted((root / "bad").rglob("*.png"))
    order = np.random.default_rng(0).permutation(len(paths))
    return [read_image(paths[i]) for i in order][:PER_DAY]


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, line_workspace: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"line_{tmp_path.name}".lower())
        monkeypatch.setenv("HAMACHO_DATABASE_URL", url)
    else:
        monkeypatch.delenv("HAMACHO_DATABASE_URL", raising=False)
        monkeypatch.setenv("HAMACHO_HOME", str(tmp_path))  # not used: the store follows the app's workspace
    workspace = tmp_path / "workspace"
    shutil.copytree(line_workspace / PROJECT / "runs", workspace / PROJECT / "runs")  # a fresh SQLite store each
    with TestClient(create_app(workspace, KEY, LIMITS, accelerator="cpu", record=True)) as opened:
        opened.headers["Authorization"] = f"Bearer {KEY}"
        yield opened


def _shifted_camera(image: np.ndarray) -> np.ndarray:
    return np.clip(image.astype(np.int16) + 70, 0, 255).astype(np.uint8)  # brighter lighting / exposure


def test_the_line_engineers_loop(client: TestClient, day_pictures: list[np.ndarray]) -> None:
    predict = f"/v1/runs/{quote(RUN_ID)}/predict"
    for day, camera in ((0, lambda image: image), (1, _shifted_camera)):
        for index, image in enumerate(day_pictures):
            number = day * PER_DAY + index
            taken = DAY_ONE + timedelta(days=day, minutes=4 * index)
            answer = client.post(predict, files=[("files", (f"part_{number:04d}.png", png_bytes(camera(image)),
                                                            "image/png"))],
                                 data={"part_id": f"P{number:04d}", "line": "L1", "taken_at": taken.isoformat(),
                                       "shift": "早番" if index < PER_DAY // 2 else "遅番"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["results"][0]["result_id"] is not None

    # The monitor: day two's scores have moved (the brighter camera), day one's have not.
    monitor = client.get("/v1/monitor", params={"timezone": "Asia/Tokyo", "run_id": RUN_ID}).json()
    [run] = monitor["runs"]
    assert run["run_id"] == RUN_ID and run["reference_pictures"] >= 5
    one, two = run["periods"]
    assert (one["period"], two["period"]) == ("2026-03-02", "2026-03-03")
    assert one["pictures"] == two["pictures"] == PER_DAY
    assert two["drift"] == "alarm" and "0.25" in two["drift_message"], two
    assert one["drift"] != "alarm" and one["psi"] < two["psi"], one
    assert two["mean_norm_score"] > one["mean_norm_score"]
    assert one["defect_rate_low"] <= one["defect_rate"] <= one["defect_rate_high"]
    assert sum(two["histogram"]) == PER_DAY and len(monitor["bins"]) == len(two["histogram"]) + 1
    shifts = client.get("/v1/monitor", params={"group_by": "shift"}).json()["runs"][0]["periods"]
    assert sorted(p["period"] for p in shifts) == sorted(["早番", "遅番"])

    # The pictures behind the spike: day two's, most anomalous first in the page that lists them.
    day_two = {"since": (DAY_ONE + timedelta(days=1) - timedelta(hours=8)).isoformat(),
               "until": (DAY_ONE + timedelta(days=2) - timedelta(hours=8)).isoformat()}
    page = client.get("/v1/results", params={**day_two, "limit": 1000}).json()
    assert page["total"] == PER_DAY and all(r["part_id"] >= "P0100" for r in page["results"])

    # Listed, filtered, exported, deleted.
    part = client.get("/v1/results", params={"part_id": "P0007"}).json()
    assert part["total"] == 1 and part["results"][0]["picture_name"] == "part_0007.png"
    assert part["results"][0]["line"] == "L1" and part["results"][0]["run_id"] == RUN_ID
    defects = client.get("/v1/results", params={"verdict": "defect", "limit": 5}).json()
    assert all(r["verdict"] == "defect" for r in defects["results"]) and len(defects["results"]) <= 5
    paged = client.get("/v1/results", params={"limit": 50, "offset": 50}).json()
    assert paged["total"] == 2 * PER_DAY and len(paged["results"]) == 50
    exported = pd.read_csv(io.BytesIO(client.get("/v1/results/export").content), encoding="utf-8-sig")
    assert len(exported) == 2 * PER_DAY and exported["part_id"].nunique() == 2 * PER_DAY
    parquet = client.get("/v1/results/export", params={**day_two, "format": "parquet"})
    assert parquet.status_code == 200 and len(pd.read_parquet(io.BytesIO(parquet.content))) == PER_DAY
    result_id = part["results"][0]["id"]
    assert client.delete(f"/v1/results/{result_id}").json()["id"] == result_id
    gone = client.get(f"/v1/results/{result_id}")
    assert gone.status_code == 404 and set(gone.json()) == {"error"}
    assert client.get("/v1/results").json()["total"] == 2 * PER_DAY - 1


def test_recording_can_be_declined_per_request(client: TestClient, day_pictures: list[np.ndarray]) -> None:
    files = [("files", ("one.png", png_bytes(day_pictures[0]), "image/png"))]
    answer = client.post(f"/v1/runs/{quote(RUN_ID)}/predict", files=files, data={"record": "false"}).json()
    assert answer["results"][0]["result_id"] is None and client.get("/v1/results").json()["total"] == 0
    naive = client.post(f"/v1/runs/{quote(RUN_ID)}/predict", files=files, data={"taken_at": "2026-03-02T08:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.json()["error"]
