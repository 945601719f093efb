"""Train and infer on the real inspection photos in ../shared/datasets through the CLI, as users do."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from hamacho_core.cli import main
from hamacho_core.persistence import load_run

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
TREE = ["config.yaml", "weights/model.safetensors",
        *[f"test_predictions/images/{d}" for d in ("input_image", "predicted_heat_map", "grayscale", "predicted_mask",
                                                   "combined")],
        "test_predictions/csv", "test_predictions/metrics/test_outputs.csv", "test_predictions/metrics/metrics.json",
        "test_predictions/metrics/confusion_matrix.png", "test_predictions/metrics/image-level-roc.png",
        "test_predictions/metrics/image-level-scores-histogram.png", "test_predictions/metrics/pixel-level-roc.png"]

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not beside the checkout")


def _train(tmp_path: Path, category: str, data_format: str) -> tuple[Path, list[dict[str, str]]]:
    args = ["train", "--data-format", data_format, "--dataset-root", str(DATASETS), "--category", category,
            "--result-path", str(tmp_path), "--accelerator", "cpu", "--with-mask-label",
            "--supervised", "off"]  # the plain detector (a supervised run's test scores are cross-fitted by design)
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    run_dir = tmp_path / category / "patchcore"
    assert not [p for p in TREE if not (run_dir / p).exists()]
    rows = list(csv.DictReader((run_dir / "test_predictions/metrics/test_outputs.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    return run_dir, rows


def _auroc(rows: list[dict[str, str]]) -> float:
    return roc_auc_score([int(r["gt"]) for r in rows], [float(r["raw_score"]) for r in rows])


def _check_outputs_line_up(run_dir: Path, rows: list[dict[str, str]]) -> None:
    """Every output picture and CSV is in the original image's geometry."""
    import cv2

    for row in rows[:: max(1, len(rows) // 10)]:
        source = cv2.imdecode(np.fromfile(row["filepath"], np.uint8), cv2.IMREAD_GRAYSCALE)
        name = Path(row["output_name"]).with_suffix(".png")
        for folder in ("input_image", "predicted_heat_map", "grayscale", "predicted_mask"):
            out = cv2.imdecode(np.fromfile(run_dir / "test_predictions/images" / folder / name, np.uint8),
                               cv2.IMREAD_UNCHANGED)
            assert out.shape[:2] == source.shape[:2], (folder, name)
        lines = (run_dir / "test_predictions/csv" / name.with_suffix(".csv")).read_text(encoding="utf-8").splitlines()
        assert (len(lines), len(lines[0].split(","))) == source.shape[:2]


def test_battery_weld_mvtec_auroc_tree_roundtrip_and_inference(tmp_path: Path) -> None:
    run_dir, rows = _train(tmp_path, "battery_weld", "mvtec")
    assert _auroc(rows) >= 0.95
    _check_outputs_line_up(run_dir, rows)
    # identical scores from the saved run alone
    run = load_run(run_dir, accelerator="cpu")
    paths = [r["filepath"] for r in rows]
    reloaded = run.detector.predict(paths)
    np.testing.assert_array_equal(reloaded.scores, np.array([float(r["raw_score"]) for r in rows], np.float32))
    new_images = tmp_path / "新規"
    new_images.mkdir()
    for path in paths[:3] + paths[-3:]:
        (new_images / Path(path).name).write_bytes(Path(path).read_bytes())
    outcome = CliRunner().invoke(main, ["inference", "--image-path", str(new_images), "--config-path",
                                        str(run_dir / "config.yaml"), "--save-path", str(tmp_path / "inference")])
    assert outcome.exit_code == 0, outcome.output
    predicted = list(csv.DictReader((tmp_path / "inference/metrics/pred_outputs.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    by_name = {Path(r["filepath"]).name: float(r["raw_score"]) for r in rows}
    for row in predicted:
        assert float(row["raw_score"]) == pytest.approx(by_name[Path(row["filepath"]).name], rel=1e-6)


def test_magnetic_tile_folder_layout(tmp_path: Path) -> None:
    run_dir, rows = _train(tmp_path, "magnetic_tile", "folder")
    assert len(rows) == 190 + 392
    assert _auroc(rows) >= 0.93
    assert {r["defect_type"] for r in rows} == {"good", "blowhole", "break", "crack", "fray", "uneven"}
    _check_outputs_line_up(run_dir, rows)
