"""Exported ONNX / OpenVINO models give PyTorch's normalized scores (1e-4), verdicts and maps (1e-2) on small runs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime
import pytest
import torch

from hamacho_core.detectors.supervised import SupervisedHead
from hamacho_core.export import ExportedModel, export_run
from hamacho_core.export.check import SCORE_TOLERANCE
from hamacho_core.persistence import load_run, save_run

MAP_ATOL = 1e-2
GEOMETRIES = ("square", "keep-aspect", "tiled")  # the runs of conftest.py


def _torch_prediction(run_dir, paths):
    return load_run(run_dir, "cpu").detector.predict(paths)


def assert_same_scores(got: np.ndarray, expected: np.ndarray, run_dir, message: str = "") -> None:
    """Normalized scores within SCORE_TOLERANCE (before clipping: |raw difference| / (max - min)), same verdicts."""
    normalization = load_run(run_dir, "cpu").normalization
    spread = normalization.image_max - normalization.image_min
    assert np.abs(np.asarray(got, np.float64) - expected).max() / spread <= SCORE_TOLERANCE, message
    threshold = normalization.normalized_image_threshold
    verdicts = normalization.normalize_scores(np.asarray(got)) > threshold
    assert (verdicts == (normalization.normalize_scores(expected) > threshold)).all(), message


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("model", ["patchcore", "padim"])
def test_onnx_and_openvino_match_pytorch(model, geometry, export_runs, exports, test_pictures):
    run_dir = export_runs[model, geometry]
    paths = test_pictures[geometry]
    expected = _torch_prediction(run_dir, paths)
    for engine in ("onnx", "openvino"):
        got = ExportedModel(exports[model, geometry, engine]).predict(paths)
        assert got.maps.shape == expected.maps.shape, engine
        assert_same_scores(got.scores, expected.scores, run_dir, engine)
        assert np.abs(got.maps - expected.maps).max() <= MAP_ATOL, engine
        assert got.original_sizes == expected.original_sizes
    assert np.ptp(expected.scores) > 0 and np.ptp(expected.maps) > 0  # real, varied outputs were compared


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_plain_onnxruntime_from_the_json_alone(geometry, export_runs, exports, test_pictures):
    """No project code: cv2 + numpy + onnxruntime, the picture prepared only from hamacho-model.json."""
    run_dir = export_runs["patchcore", geometry]
    tmp_path = exports["patchcore", geometry, "onnx"]
    spec = json.loads((tmp_path / "hamacho-model.json").read_text(encoding="utf-8"))
    source = spec["input"]
    assert source["channel_order"] == "RGB" and source["layout"] == "NCHW"
    height, width = source["height"], source["width"]
    batch = []
    for path in test_pictures[geometry]:
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        interpolation = cv2.INTER_AREA if rgb.shape[0] > height else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (width, height), interpolation=interpolation)
        x = (rgb.astype(np.float32) * np.float32(source["scale"]) - np.float32(source["mean"])) / np.float32(
            source["std"])
        batch.append(x.transpose(2, 0, 1))
    session = onnxruntime.InferenceSession(str(tmp_path / spec["model_file"]), providers=["CPUExecutionProvider"])
    # (plain onnxruntime defaults, as a line engineer would open it: float32 graphs compute in float32)
    scores, maps = session.run(None, {source["name"]: np.stack(batch).astype(np.float32)})
    expected = _torch_prediction(run_dir, test_pictures[geometry])
    assert_same_scores(scores, expected.scores, run_dir)
    assert np.abs(maps - expected.maps).max() <= MAP_ATOL
    # the saved thresholds decide as the run does
    norm = spec["normalization"]
    normalized = np.clip((scores - norm["image_threshold"]) / (norm["image_max"] - norm["image_min"]) + 0.5, 0, 1)
    run = load_run(run_dir, "cpu")
    np.testing.assert_allclose(normalized, run.normalization.normalize_scores(expected.scores), atol=1e-4)
    assert (spec["tiling"] is not None) == (geometry == "tiled")


@pytest.mark.parametrize("model", ["patchcore", "padim"])
def test_a_supervised_head_is_carried_by_the_exported_model(model, export_runs, test_pictures, tmp_path):
    """A run saved with a supervised head: ONNX and OpenVINO give the headed scores and maps, not the plain ones."""
    run = load_run(export_runs[model, "tiled"], "cpu")
    detector, paths = run.detector, test_pictures["tiled"]
    plain = detector.predict(paths)
    depth = detector.memory_bank_.shape[1] if model == "patchcore" else detector.channels_.numel()
    weight = torch.randn(depth + 1, generator=torch.Generator().manual_seed(0)) * 0.05
    weight[-1] = 1.0  # mostly the distance, as a fitted head is
    detector.head_ = SupervisedHead.from_state({"head.weight": weight, "head.bias": torch.tensor([0.25])}, {})
    expected = detector.predict(paths)
    assert np.abs(expected.scores - plain.scores).max() > 1e-2  # the head really changes the outcome
    save_run(tmp_path / "headed", detector, run.normalization, {"category": "headed"}, {})
    for engine in ("onnx", "openvino"):
        exported = export_run(tmp_path / "headed", tmp_path / engine, engine).output_dir
        got = ExportedModel(exported).predict(paths)
        assert_same_scores(got.scores, expected.scores, tmp_path / "headed", engine)
        assert np.abs(got.maps - expected.maps).max() <= MAP_ATOL, engine
