"""The Monitor page over a store holding two days of one run, the second from a shifted camera: the drift alarm in
both languages, the period table, and the pictures behind the spike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from app_support import make_project, open_page

from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.store import NewResult, ResultStore, picture_sha256
from hamacho_core.store.monitor import reference_from_run

RUN = "20260301-070000"
DAY_ONE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one tiny run (6 good test pictures) and 2 x 40 recorded results; day two's raw scores
    lie above all of training's (a brighter camera), with pictures kept."""
    home = tmp_path_factory.mktemp("monitor") / "workspace"
    project = make_project(home, n_good=30, n_bad=1)
    run_dir = project / "runs" / RUN
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(run_dir), image_size=64,
                      resize="square", write_csv=False, accelerator="cpu"))
    reference = reference_from_run(run_dir)
    good = reference.good_raw
    rng = np.random.default_rng(1)
    picture = cv2.imencode(".png", np.full((32, 32, 3), 128, np.uint8))[1].tobytes()
    rows = []
    for day, scores in ((0, rng.choice(good, 40)), (1, good.max() * 2 + rng.random(40))):
        for index, raw in enumerate(scores):
            defect = day == 1 and index % 3 == 0
            rows.append(NewResult(f"{project.name}:{RUN}", f"p{day}_{index}.png", picture_sha256(b"%d" % index),
                                  float(raw), 0.8 if defect else 0.3, "defect" if defect else "good", 1.0, 1.0, 0.5,
                                  0.5, part_id=f"P{day}{index:03d}", taken_at=DAY_ONE + timedelta(days=day,
                                                                                                 minutes=index),
                                  source="app", picture=picture if day == 1 else None,
                                  normalized_map=np.full((32, 32), 0.7, np.float32)))
    store = ResultStore.for_workspace(home, keep_pictures=True)
    store.add(rows)
    store.close()
    return home


@pytest.mark.parametrize(("lang", "alarm"), [("en", "clearly moved"), ("ja", "警報")])
def test_the_monitor_shows_day_twos_drift_alarm_and_its_pictures(monitored: Path, lang: str, alarm: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMACHO_HOME", str(monitored))
    monkeypatch.delenv("HAMACHO_DATABASE_URL", raising=False)
    at = open_page("monitor", lang=lang)
    assert [e.value for e in at.error if alarm in e.value], [e.value for e in at.error]
    period_table, gallery = at.dataframe[0].value, at.dataframe[1].value
    assert list(period_table.iloc[:, 0]) == ["2026-03-02", "2026-03-03"]
    assert list(period_table.iloc[:, 1]) == [40, 40]
    assert at.selectbox(key="monitor_period").value == "2026-03-03"  # the spike opens first
    assert len(gallery) == 40 and gallery.iloc[0, 3] >= gallery.iloc[-1, 3]  # most anomalous first
    assert any("PSI" in c.value or "PSI" in c.value.upper() for c in at.caption)
    at.selectbox(key="monitor_period").set_value("2026-03-02").run()
    assert not at.exception and len(at.dataframe[1].value) == 40


def test_an_empty_store_says_where_results_come_from(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAMACHO_DATABASE_URL", raising=False)
    make_project(home, n_good=2, n_bad=0)
    at = open_page("monitor")
    assert any("Nothing recorded yet" in i.value for i in at.info)
