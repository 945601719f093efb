"""The output writer (hamacho_core.report): picture sets, per-pixel CSVs, regions, test tables, re-thresholding."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hamacho_core.data import Sample
from hamacho_core.detectors import Prediction
from hamacho_core.drawing import gray_map
from hamacho_core.errors import ModelFileError
from hamacho_core.evaluation import Evaluation
from hamacho_core.imageio import read_image, write_image
from hamacho_core.metrics import RunMetrics, image_metrics, outcomes
from hamacho_core.persistence import FORMAT_VERSION, dump_json
from hamacho_core.report import (
    TEST_DIR,
    ReportSource,
    read_metrics,
    rethreshold,
    write_reports,
    write_test_outputs,
)
from hamacho_core.thresholds import Normalization

NORMALIZATION = Normalization("adaptive", 1.0, 0.0, 2.0, 0.5, 0.0, 1.0)  # pixel: raw 0.5 -> 0.5


def _images(folder: Path, n: int = 3) -> list[Path]:
    paths = []
    for i in range(n):
        path = folder / ("good" if i == 0 else "scratch") / f"{i}.png"
        write_image(path, np.full((40, 60, 3), 30 * i, np.uint8))
        paths.append(path)
    return paths


def _prediction(n: int = 3) -> Prediction:
    maps = np.zeros((n, 20, 30), np.float32)
    maps[1:, 5:10, 10:20] = 1.0  # a defect patch in images 1 and 2, raw 1.0 -> normalized 1.0
    return Prediction(np.array([0.2, 1.8, 0.9]), maps)


def test_write_reports_draws_each_picture_at_the_source_geometry(tmp_path: Path) -> None:
    paths = _images(tmp_path / "in")
    sources = [ReportSource(p, Path(p.parent.name) / p.name) for p in paths]
    maps = write_reports(tmp_path / "out", sources, _prediction(), NORMALIZATION, keep_maps=True)
    assert [m.shape for m in maps] == [(40, 60)] * 3
    gray = read_image(tmp_path / "out/images/grayscale/scratch/1.png")[:, :, 0]
    assert np.array_equal(gray, gray_map(maps[1]))
    predicted = read_image(tmp_path / "out/images/predicted_mask/scratch/1.png")[:, :, 0]
    assert predicted.max() == 255 and predicted[0, 0] == 0 and predicted[15, 30] == 255
    assert not read_image(tmp_path / "out/images/predicted_mask/good/0.png").any()
    lines = (tmp_path / "out/csv/scratch/1.csv").read_text(encoding="utf-8").splitlines()
    assert (len(lines), len(lines[0].split(","))) == (40, 60) and lines[15].split(",")[30] == "1.00000"
    regions = pd.read_csv(tmp_path / "out/metrics/defect_regions.csv", encoding="utf-8-sig")
    assert list(regions["output_name"]) == ["scratch/1.png", "scratch/2.png"]
    assert (regions["peak_score"] == 1.0).all() and (regions["x"] < 30).all() and (regions["width"] > 10).all()


def test_test_outputs_table_matches_the_scores_and_outcomes(tmp_path: Path) -> None:
    paths = _images(tmp_path / "in")
    samples = [Sample(p, int(i > 0), "good" if i == 0 else "scratch") for i, p in enumerate(paths)]
    prediction = _prediction()
    normalized = NORMALIZATION.normalize_scores(prediction.scores)
    metrics = RunMetrics(image_metrics(np.array([0, 1, 1]), normalized, 0.5))
    names = write_test_outputs(tmp_path / "out", samples, prediction, NORMALIZATION, metrics, write_csv=False)
    table = pd.read_csv(tmp_path / "out/metrics/test_outputs.csv", encoding="utf-8-sig")
    assert [n.as_posix() for n in names] == list(table["output_name"]) == ["good/0.png", "scratch/1.png",
                                                                            "scratch/2.png"]
    assert list(table["result"]) == ["TN", "TP", "FN"] == outcomes(np.array([0, 1, 1]), normalized, 0.5)
    assert table["norm_score"].tolist() == pytest.approx(normalized.tolist())
    assert not (tmp_path / "out/csv").exists()
    assert (tmp_path / "out/metrics/confusion_matrix.png").stat().st_size > 1000
    import json

    saved = json.loads((tmp_path / "out/metrics/metrics.json").read_text(encoding="utf-8"))
    assert saved["problems"] == [] and saved["image"]["tp"] == 1 and saved["image_cross_validated"] is None
    assert RunMetrics.from_dict(saved) == metrics  # serialised once, read back typed


def test_read_metrics_reads_runs_written_before_and_refuses_damaged_files(tmp_path: Path) -> None:
    assert read_metrics(tmp_path) is None  # no test results: nothing to show
    path = tmp_path / TEST_DIR / "metrics" / "metrics.json"
    image = image_metrics(np.array([0, 1]), np.array([0.2, 0.8]), 0.5).to_dict()
    old = {"image": image, "image_cross_validated": {"n_folds": 2, "f1": 0.5, "precision": 0.5, "recall": 0.5,
                                                     "accuracy": 0.5, "thresholds": [1.0, 2.0]},
           "pixel": {"auroc": 0.9, "aupro": 0.8, "f1": 0.7, "threshold": 1.5}, "curves": {},
           "normalization": NORMALIZATION.to_dict(), "problems": []}  # before n_test, supervised and the ROC lists
    dump_json(path, old)
    metrics = read_metrics(tmp_path)
    assert metrics is not None and metrics.image.tp == 1 and metrics.image_cross_fitted.thresholds == [1.0, 2.0]
    assert metrics.pixel.aupro == 0.8 and metrics.pixel.roc_fpr == [] and metrics.normalization == NORMALIZATION
    assert metrics.supervised is None and not metrics.supervised_enabled and metrics.n_test == {}
    assert metrics.headline()["honest_f1"] == 0.5 and metrics.headline()["pixel_aupro"] == 0.8
    path.write_text('{"pixel": null}', encoding="utf-8")
    with pytest.raises(ModelFileError, match="train the run again"):
        read_metrics(tmp_path)


def test_rethreshold_redraws_from_the_saved_maps(tmp_path: Path) -> None:
    paths = _images(tmp_path / "in")
    prediction = _prediction()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dump_json(run_dir / "config.yaml", {"model": "patchcore", "format_version": FORMAT_VERSION,
                                        "normalization": NORMALIZATION.to_dict()})
    Evaluation([str(p) for p in paths], ["good", "scratch", "scratch"], np.array([0, 1, 1]), prediction.scores,
               prediction.maps, None, NORMALIZATION, ["good/0.png", "scratch/1.png", "scratch/2.png"]).save(run_dir)
    moved = Normalization.from_dict({**NORMALIZATION.to_dict(), "image_norm": 0.3, "pixel_norm": 0.99})  # as saved
    files = rethreshold(run_dir, moved, tmp_path / "redrawn")
    assert set(files) == {"confusion", "histogram", "roc", "pr"} and all(f.is_file() for f in files.values())
    predicted = read_image(tmp_path / "redrawn/images/predicted_mask/scratch/1.png")[:, :, 0]
    assert predicted.shape == (40, 60) and predicted[15, 30] == 255 and predicted.sum() < 255 * 40 * 60 / 4
    lower = rethreshold(run_dir, replace(moved, normalized_pixel_threshold=0.01), tmp_path / "low")
    assert lower and read_image(tmp_path / "low/images/predicted_mask/scratch/1.png")[:, :, 0].sum() > predicted.sum()
    import json

    metrics = json.loads((tmp_path / "redrawn/metrics/metrics.json").read_text(encoding="utf-8"))
    assert metrics["image"]["threshold"] == 0.3 and metrics["image"]["tp"] == 2  # 0.45 > 0.3 now counts
