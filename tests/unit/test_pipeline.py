"""The train/inference pipelines (hamacho_core.pipeline), on a tiny generated dataset."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import update_thresholds

TREE = ["config.yaml", "weights/model.safetensors", "evaluation.safetensors",
        *[f"test_predictions/images/{d}" for d in ("input_image", "predicted_heat_map", "grayscale", "predicted_mask",
                                                   "combined")],
        "test_predictions/csv", "test_predictions/metrics/test_outputs.csv", "test_predictions/metrics/metrics.json",
        "test_predictions/metrics/confusion_matrix.png", "test_predictions/metrics/image-level-roc.png",
        "test_predictions/metrics/image-level-pr.png", "test_predictions/metrics/image-level-scores-histogram.png",
        "test_predictions/metrics/pixel-level-roc.png", "test_predictions/metrics/defect_regions.csv"]



def test_train_writes_the_old_tree_and_reports(trained: tuple[Path, str], demo_root: Path) -> None:
    run_dir, output = trained
    missing = [p for p in TREE if not (run_dir / p).exists()]
    assert not missing
    assert "image AUROC" in output and "pixel AUROC" in output
    combined = list((run_dir / "test_predictions/images/combined").rglob("*.png"))
    assert {p.parent.name for p in combined} >= {"good", "scratch", "spot", "crack", "missing_piece"}
    csv_file = next((run_dir / "test_predictions/csv").rglob("*.csv"))
    first_row = csv_file.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert len(first_row) == 128 and all(len(v.split(".")[1]) == 5 for v in first_row)
    raw = (run_dir / "test_predictions/metrics/test_outputs.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {r["result"] for r in rows} <= {"TP", "FP", "TN", "FN"}
    assert sum(int(r["gt"]) for r in rows) == 8
    regions = list(csv.DictReader((run_dir / "test_predictions/metrics/defect_regions.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    assert regions and {r["output_name"] for r in regions} <= {r["output_name"] for r in rows}
    assert all(0 <= int(r["x"]) <= int(r["peak_x"]) < int(r["x"]) + int(r["width"]) <= 128 for r in regions)


def test_evaluation_recomputes_metrics_without_the_model(trained: tuple[Path, str]) -> None:
    evaluation = Evaluation.load(trained[0])
    strict, loose = evaluation.metrics_at(0.9), evaluation.metrics_at(0.1)
    assert strict.fp <= loose.fp and strict.tp <= loose.tp
    assert evaluation.maps.shape[0] == len(evaluation.paths) == len(evaluation.labels)
    assert evaluation.masks is not None


def test_saved_threshold_changes_inference_verdicts(trained: tuple[Path, str], demo_root: Path, tmp_path: Path) -> None:
    from hamacho_core.pipeline import infer

    image = next((demo_root / "good").glob("*.png"))
    config = trained[0] / "config.yaml"
    base = infer(config, image, tmp_path / "a", write_csv=False).rows[0]
    update_thresholds(config, image_norm=0.02)
    try:
        low = infer(config, image, tmp_path / "b", write_csv=False).rows[0]
    finally:
        update_thresholds(config, image_norm=0.5)
    assert low["raw_score"] == base["raw_score"]
    assert low["norm_score"] == base["norm_score"] and low["image_norm"] == 0.02
    assert low["pred"] == int(low["norm_score"] > 0.02) and base["pred"] == int(base["norm_score"] > 0.5)
    assert low["verdict"] == ("defect" if low["pred"] else "good")


def test_good_only_mode_uses_sigma6(demo_root: Path, tmp_path: Path) -> None:
    from hamacho_core.pipeline import TrainConfig, train

    result = train(TrainConfig(category=demo_root.name, dataset_root=str(demo_root.parent), no_bad_mode=True,
                               image_size=96, result_path=str(tmp_path), write_csv=False, accelerator="cpu"))
    norm = result.metrics.normalization
    assert norm is not None and norm.method == "sigma6"
    assert norm.image_max == pytest.approx(2 * norm.image_threshold)
    assert result.metrics.image_cross_fitted is None and result.metrics.n_test["defect"] == 0  # good pictures only


def test_cancel_from_progress_callback_stops_training(demo_root: Path, tmp_path: Path) -> None:
    from hamacho_core.errors import Cancelled
    from hamacho_core.pipeline import TrainConfig, train

    def cancel(done: int, total: int, stage: str) -> None:
        if stage == "extracting features" and done > 0:
            raise Cancelled("stopped by user")

    with pytest.raises(Cancelled):
        train(TrainConfig(category=demo_root.name, dataset_root=str(demo_root.parent), image_size=96,
                          result_path=str(tmp_path), accelerator="cpu"), cancel)
    assert not (tmp_path / demo_root.name / "patchcore" / "config.yaml").exists()


def test_core_never_imports_streamlit() -> None:
    code = ("import sys, hamacho_core, hamacho_core.cli, hamacho_core.pipeline, hamacho_core.synthetic;"
            "sys.exit('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
