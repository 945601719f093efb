"""The train/inference pipelines and the command line, on a tiny generated dataset."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hamacho_core.cli import main
from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import update_thresholds

TREE = ["config.yaml", "weights/model.safetensors", "evaluation.safetensors",
        *[f"test_predictions/images/{d}" for d in ("input_image", "predicted_heat_map", "grayscale", "predicted_mask",
                                                   "combined")],
        "test_predictions/csv", "test_predictions/metrics/test_outputs.csv", "test_predictions/metrics/metrics.json",
        "test_predictions/metrics/confusion_matrix.png", "test_predictions/metrics/image-level-roc.png",
        "test_predictions/metrics/image-level-pr.png", "test_predictions/metrics/image-level-scores-histogram.png",
        "test_predictions/metrics/pixel-level-roc.png", "test_predictions/metrics/defect_regions.csv"]


@pytest.fixture(scope="module")
def trained(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("results")
    outcome = CliRunner().invoke(main, [
        "train", "--dataset-root", str(demo_root.parent), "--category", demo_root.name, "--result-path",
        str(results), "--image-size", "128", "--batch-size", "4", "--accelerator", "cpu", "--with-mask-label"])
    assert outcome.exit_code == 0, outcome.output
    return results / demo_root.name / "patchcore", outcome.output


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


def test_inference_from_saved_run_creates_save_path(trained: tuple[Path, str], demo_root: Path, tmp_path: Path) -> None:
    images = tmp_path / "新しい画像"
    images.mkdir()
    for source in sorted((demo_root / "bad" / "spot").glob("*.png")) + sorted((demo_root / "good").glob("*.png"))[:2]:
        (images / f"部品_{source.name}").write_bytes(source.read_bytes())
    (images / "readme.txt").write_text("not an image")
    save = tmp_path / "out" / "deeper"
    outcome = CliRunner().invoke(main, ["inference", "--image-path", str(images), "--config-path",
                                        str(trained[0] / "config.yaml"), "--save-path", str(save)])
    assert outcome.exit_code == 0, outcome.output
    rows = list(csv.DictReader((save / "metrics/pred_outputs.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 4 and all(Path(r["filepath"]).name.startswith("部品_") for r in rows)
    assert len(list((save / "images/combined").glob("*.png"))) == 4
    assert "readme.txt" in outcome.output  # the skipped file is reported


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
    assert low["image_norm"] == 0.02 and (low["pred"] == 1 or low["norm_score"] <= 0.02)


@pytest.mark.parametrize("args,message", [
    (["train", "--dataset-root", "/nonexistent", "--category", "x"], "good-image folder not found"),
    (["train", "--dataset-root", ".", "--category", "x", "--split", "1.5"], "split"),
    (["inference", "--image-path", ".", "--config-path", "/nonexistent/config.yaml"], "no trained run"),
    (["train", "--dataset-root", ".", "--category", "x", "--tiling", "sometimes"], "--tiling"),
])
def test_errors_exit_non_zero_with_one_line(args: list[str], message: str) -> None:
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code != 0
    assert message in outcome.output
    assert "Traceback" not in outcome.output


def test_good_only_mode_uses_sigma6(demo_root: Path, tmp_path: Path) -> None:
    from hamacho_core.pipeline import TrainConfig, train

    result = train(TrainConfig(category=demo_root.name, dataset_root=str(demo_root.parent), no_bad_mode=True,
                               image_size=96, result_path=str(tmp_path), write_csv=False, accelerator="cpu"))
    assert result.metrics["normalization"]["method"] == "sigma6"
    norm = result.metrics["normalization"]
    assert norm["image_max"] == pytest.approx(2 * norm["image_threshold"])


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
    code = ("import sys, hamacho_core, hamacho_core.cli, hamacho_core.pipeline, hamacho_core.demo;"
            "sys.exit('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_module_entry_point_shows_help() -> None:
    result = subprocess.run([sys.executable, "-m", "hamacho_core", "train", "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and "--no-bad-mode" in result.stdout and "--resize" in result.stdout


def test_allocator_tuning_applies_on_glibc() -> None:
    import platform

    from hamacho_core.runtime import tune_allocator

    assert tune_allocator() == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_training_time_estimate_grows_with_images_size_and_bank() -> None:
    from hamacho_core.pipeline import estimate_train_seconds

    base = estimate_train_seconds(40, 100, (256, 256), 4_000)
    assert 1 < base < 120
    assert estimate_train_seconds(400, 100, (256, 256), 4_000) > base
    assert estimate_train_seconds(40, 100, (512, 512), 4_000) > base
    assert estimate_train_seconds(40, 100, (256, 256), 40_000) > base


def test_empty_folder_inference_warns_and_writes_an_empty_table(trained: tuple[Path, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = CliRunner().invoke(main, ["inference", "--image-path", str(empty), "--config-path",
                                        str(trained[0] / "config.yaml"), "--save-path", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    assert "no readable image" in outcome.output
    header = (tmp_path / "out/metrics/pred_outputs.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header == ["filepath,output_name,raw_score,norm_score,pred,verdict,image_norm,pixel_norm"]


def test_expert_config_yaml_sets_options_and_rejects_unknown_keys(demo_root: Path, tmp_path: Path) -> None:
    expert = tmp_path / "expert.yaml"
    expert.write_text("coreset_ratio: 0.05\nimage_size: 96\nwrite_csv: false\n", encoding="utf-8")
    args = ["train", "--dataset-root", str(demo_root.parent), "--category", demo_root.name, "--result-path",
            str(tmp_path / "r"), "--accelerator", "cpu", "--config-path", str(expert)]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    run_dir = tmp_path / "r" / demo_root.name / "patchcore"
    assert "input shape 96 x 96" in outcome.output
    assert not (run_dir / "test_predictions" / "csv").exists()
    expert.write_text("bogus: 1\n", encoding="utf-8")
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code != 0 and "unknown keys" in outcome.output


def test_pixel_csv_size_estimate_is_eight_bytes_a_pixel(tmp_path: Path) -> None:
    from hamacho_core.pipeline import pixel_csv_bytes
    from hamacho_core.report import write_pixel_csv

    assert pixel_csv_bytes([(400, 4000), (10, 10)]) == 8 * (1_600_000 + 100)
    write_pixel_csv(tmp_path / "map.csv", np.full((30, 40), 0.123456, np.float32))
    assert (tmp_path / "map.csv").stat().st_size == pixel_csv_bytes([(30, 40)])
