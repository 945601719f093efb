"""The API's scores, verdicts and defect regions are those of `hamacho inference` for the same pictures."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from api_support import PROJECT, RUN, RUN_ID
from click.testing import CliRunner
from fastapi.testclient import TestClient

from hamacho_core.cli import main

BATTERY_WELD = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "battery_weld" / "test"


def _pictures() -> list[Path]:
    if not BATTERY_WELD.is_dir():
        pytest.skip(f"shared dataset not found at {BATTERY_WELD}")
    good, defective = sorted((BATTERY_WELD / "good").glob("*.png")), sorted((BATTERY_WELD / "defective").glob("*"))
    return good[:2] + defective[:3]


@pytest.mark.parametrize("image_norm", [None, 0.3])
def test_api_scores_equal_hamacho_inference_on_battery_weld(shared_client: TestClient, trained_workspace: Path,
                                                            tmp_path: Path, image_norm: float | None) -> None:
    pictures = _pictures()
    folder = tmp_path / "in"
    folder.mkdir()
    for picture in pictures:
        shutil.copy(picture, folder / picture.name)
    arguments = ["inference", "--image-path", str(folder), "--save-path", str(tmp_path / "out"), "--accelerator",
                 "cpu", "--no-csv", "--config-path", str(trained_workspace / PROJECT / "runs" / RUN / "config.yaml")]
    data = {}
    if image_norm is not None:
        arguments += ["--image-norm", str(image_norm), "--pixel-norm", str(image_norm)]
        data = {"image_norm": str(image_norm), "pixel_norm": str(image_norm)}
    outcome = CliRunner().invoke(main, arguments)
    assert outcome.exit_code == 0, outcome.output
    expected = pd.read_csv(tmp_path / "out" / "metrics" / "pred_outputs.csv").set_index("output_name")
    regions = pd.read_csv(tmp_path / "out" / "metrics" / "defect_regions.csv")

    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in pictures]
    answer = shared_client.post(f"/v1/runs/{quote(RUN_ID)}/predict", files=files, data=data)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(pictures) == len(expected)
    for result in results:
        row = expected.loc[result["filename"]]
        assert result["raw_score"] == row["raw_score"]  # exactly: same steps, same batch size
        assert result["norm_score"] == row["norm_score"] and result["verdict"] == row["verdict"]
        assert result["image_norm"] == row["image_norm"] and result["pixel_norm"] == row["pixel_norm"]
        mine = pd.DataFrame(result["defect_regions"], columns=[c for c in regions.columns if c != "output_name"])
        theirs = regions[regions["output_name"] == result["filename"]].drop(columns="output_name")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True), check_dtype=False)
    assert {r["verdict"] for r in results} == set(expected["verdict"])
