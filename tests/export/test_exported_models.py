"""Exported ONNX / OpenVINO models give PyTorch's scores (1e-3 relative) and maps (1e-2) on small runs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime
import pytest
import torch

from hamacho_core.errors import ConfigError
from hamacho_core.export import ExportedModel, ScoreHead, create_graph
from hamacho_core.persistence import load_run
from hamacho_core.preprocess import batches

SCORE_RTOL = 1e-3
MAP_ATOL = 1e-2
GEOMETRIES = ("square", "keep-aspect", "tiled")  # the runs of conftest.py


def _torch_prediction(run_dir, paths):
    return load_run(run_dir, "cpu").detector.predict(paths)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("model", ["patchcore", "padim"])
def test_onnx_and_openvino_match_pytorch(model, geometry, export_runs, exports, test_pictures):
    run_dir = export_runs[model, geometry]
    paths = test_pictures[geometry]
    expected = _torch_prediction(run_dir, paths)
    for engine in ("onnx", "openvino"):
        got = ExportedModel(exports[model, geometry, engine]).predict(paths)
        assert got.maps.shape == expected.maps.shape, engine
        np.testing.assert_allclose(got.scores, expected.scores, rtol=SCORE_RTOL, err_msg=engine)
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
    scores, maps = session.run(None, {source["name"]: np.stack(batch).astype(np.float32)})
    expected = _torch_prediction(run_dir, test_pictures[geometry])
    np.testing.assert_allclose(scores, expected.scores, rtol=SCORE_RTOL)
    assert np.abs(maps - expected.maps).max() <= MAP_ATOL
    # the saved thresholds decide as the run does
    norm = spec["normalization"]
    normalized = np.clip((scores - norm["image_threshold"]) / (norm["image_max"] - norm["image_min"]) + 0.5, 0, 1)
    run = load_run(run_dir, "cpu")
    np.testing.assert_allclose(normalized, run.normalization.image(expected.scores), atol=1e-4)
    assert (spec["tiling"] is not None) == (geometry == "tiled")


class _Linear(ScoreHead):
    """A head over (patch features, distances, score), as a supervised head would be."""

    def __init__(self, depth: int):
        super().__init__()
        self.layer = torch.nn.Linear(depth + 2, 1)

    def forward(self, features: torch.Tensor, distances: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([features.mean(dim=1), distances.amax(dim=1, keepdim=True), scores.unsqueeze(1)], dim=1)
        return self.layer(pooled)[:, 0]


def test_a_score_head_is_one_more_layer(export_runs, test_pictures):
    run = load_run(export_runs["patchcore", "square"], "cpu")
    detector = run.detector
    head = _Linear(detector.memory_bank_.shape[1])
    with torch.no_grad():
        head.layer.weight.zero_()
        head.layer.weight[0, -1] = 2.0  # score * 2 + 1
        head.layer.bias.fill_(1.0)
    images, _ = next(batches(test_pictures["square"], detector.input_shape_, detector.extractor.mean,
                             detector.extractor.std, 8))
    with torch.no_grad():
        plain, plain_maps = create_graph(detector)(images)
        headed, headed_maps = create_graph(detector, head)(images)
    torch.testing.assert_close(headed, plain * 2 + 1)
    torch.testing.assert_close(headed_maps, plain_maps)  # the head changes the score only
    with pytest.raises(ConfigError, match="only supported on PatchCore"):
        create_graph(load_run(export_runs["padim", "square"], "cpu").detector, head)
