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
from streamlit.testing.v1 import AppTest

from hamacho_core.api import create_app
from hamacho_core.imageio import read_image
from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.synthetic import make_demo_dataset

PROJECT, RUN = "line", "20260301-070000"
RUN_ID = f"{PROJECT}:{RUN}"
JST = timezone(timedelta(hours=9))
DAY_ONE = datetime(2026, 3, 2, 8, 0, tzinfo=JST)
PER_DAY = 100
ROOT = Path(__file__).resolve().parents[2]


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


def test_the_line_engineers_loop(client: TestClient, day_pictures: list[np.ndarray],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
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

    # The app's Monitor page over the same store says the same.
    monkeypatch.setenv("HAMACHO_HOME", str(client.app.state.workspace))
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.session_state["lang"] = "en"
    page.run()
    page.switch_page("pages/monitor.py").run()
    page.text_input(key="monitor_tz").set_value("Asia/Tokyo").run()  # the line's days
    assert not page.exception, page.exception
    assert list(page.dataframe[0].value.iloc[:, 0]) == ["2026-03-02", "2026-03-03"]
    assert any("2026-03-03" in e.value and "clearly moved" in e.value for e in page.error), page.error

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
    assert naive.status_code == 422 and "taken_at needs a time zone" in naive.json()["error"]
    naive = client.get("/v1/results", params={"until": "2026-03-02T08:00:00"})
    assert naive.status_code == 422 and "until needs a time zone" in naive.json()["error"]


def test_the_apps_inference_records_its_results(line_workspace: Path, day_pictures: list[np.ndarray],
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Inference page's function (in the page's process or a job's worker) records into the workspace's store."""
    from hamacho_core.jobs.inference import InferenceJobConfig, run_inference_job
    from hamacho_core.store import ResultFilter, ResultStore

    monkeypatch.delenv("HAMACHO_DATABASE_URL", raising=False)
    workspace = tmp_path / "workspace"
    shutil.copytree(line_workspace / PROJECT / "runs", workspace / PROJECT / "runs")
    source = tmp_path / "in"
    source.mkdir()
    for index, image in enumerate(day_pictures[:3]):
        (source / f"写真_{index}.png").write_bytes(png_bytes(image))
    run_dir = workspace / PROJECT / "runs" / RUN
    result = run_inference_job(InferenceJobConfig(str(run_dir), str(source), str(tmp_path / "session"), record=True))
    assert result.n_pictures == 3 and not result.warnings
    store = ResultStore.for_workspace(workspace)
    try:
        rows, total = store.list(ResultFilter(run_id=RUN_ID))
        assert total == 3 and {r.source for r in rows} == {"app"}
        assert {r.picture_name for r in rows} == {f"写真_{i}.png" for i in range(3)}
    finally:
        store.close()


def test_hamacho_score_records_with_the_record_option(line_workspace: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`hamacho score --record` records the rows it wrote (the scoring itself is the score command's own tests')."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    import hamacho_core.scale
    from hamacho_core.cli import main
    from hamacho_core.store import ResultStore

    run_dir = line_workspace / PROJECT / "runs" / RUN
    output = tmp_path / "out"

    def fake_score(config: object, progress: object = None) -> SimpleNamespace:
        output.mkdir()
        pd.DataFrame([{"filepath": "/nowhere/a.png", "output_name": "a.png", "raw_score": 1.5, "norm_score": 0.7,
                       "pred": 1, "verdict": "defect", "image_norm": 0.5, "pixel_norm": 0.5,
                       "defect_regions": "[]", "problem": ""},
                      {"filepath": "/nowhere/b.png", "output_name": "b.png", "raw_score": float("nan"),
                       "norm_score": float("nan"), "pred": None, "verdict": "problem", "image_norm": 0.5,
                       "pixel_norm": 0.5, "defect_regions": "[]", "problem": "damaged"}]).to_csv(
            output / "pred_outputs.csv", index=False, encoding="utf-8-sig")
        return SimpleNamespace(warnings=[], n_pictures=2, n_scored=0, n_resumed=0, n_problems=1, output_dir=output)

    monkeypatch.setattr(hamacho_core.scale, "score", fake_score)
    monkeypatch.setenv("HAMACHO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    arguments = ["score", "--config-path", str(run_dir / "config.yaml"), "--input", str(tmp_path), "--output",
                 str(output)]
    outcome = CliRunner().invoke(main, [*arguments, "--record"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 result(s) recorded" in outcome.output
    store = ResultStore(f"sqlite:///{tmp_path / 'cli.sqlite'}", tmp_path / "files")
    try:
        [row] = store.list()[0]
        assert (row.source, row.verdict, row.run_id, row.norm_score) == ("cli", "defect", RUN_ID, 0.7)
    finally:
        store.close()
