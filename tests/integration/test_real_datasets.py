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


def _train(tmp_path: Path, category: str, data_format: str,
           root: Path = DATASETS) -> tuple[Path, list[dict[str, str]]]:
    args = ["train", "--data-format", data_format, "--dataset-root", str(root), "--category", category,
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


def _empty_masks(category: Path) -> set[str]:
    """``<type>/<stem>`` of the defective pictures whose mask marks nothing."""
    import cv2

    return {f"{m.parent.name}/{m.stem}" for m in sorted((category / "mask").glob("*/*.png"))
            if not cv2.imread(str(m), cv2.IMREAD_GRAYSCALE).any()}


def _every_third(category: Path, into: Path, keep: set[str]) -> dict[str, int]:
    """The folder layout of ``category`` with every 3rd picture of each type (name order) and the ``keep`` ones, as
    symbolic links below ``into`` (nothing copied); how many pictures of each type."""
    counts = {}
    for folder in [category / "good", *sorted(p for p in (category / "bad").iterdir() if p.is_dir())]:
        kind = "good" if folder.name == "good" else folder.name
        chosen = [p for i, p in enumerate(sorted(folder.iterdir())) if i % 3 == 0 or f"{kind}/{p.stem}" in keep]
        target = into / folder.relative_to(category)
        target.mkdir(parents=True)
        for picture in chosen:
            (target / picture.name).symlink_to(picture)
            if kind != "good":
                mask = category / "mask" / kind / f"{picture.stem}.png"
                (into / "mask" / kind).mkdir(parents=True, exist_ok=True)
                (into / "mask" / kind / mask.name).symlink_to(mask)
        counts[kind] = len(chosen)
    return counts


def test_magnetic_tile_folder_layout(tmp_path: Path) -> None:
    """The folder layout with five defect types and empty masks, on every 3rd picture of each type (and the 4
    pictures with an empty mask): the same layout, types and kinds of mask as the full set in a third of the time."""
    empty = _empty_masks(DATASETS / "magnetic_tile")
    assert len(empty) == 4
    counts = _every_third(DATASETS / "magnetic_tile", tmp_path / "data" / "magnetic_tile", keep=empty)
    run_dir, rows = _train(tmp_path / "results", "magnetic_tile", "folder", root=tmp_path / "data")
    n_bad = sum(n for kind, n in counts.items() if kind != "good")
    assert len(rows) == round(0.2 * counts["good"]) + n_bad  # the held-out share of good and every defective one
    assert _auroc(rows) >= 0.93
    assert {r["defect_type"] for r in rows} == {"good", "blowhole", "break", "crack", "fray", "uneven"}
    assert empty <= {f"{r['defect_type']}/{Path(r['filepath']).stem}" for r in rows if r["gt"] == "1"}
    _check_outputs_line_up(run_dir, rows)
