"""Saved test results (hamacho_core.evaluation): round trip, metrics without the model, damaged files."""

from pathlib import Path

import numpy as np
import pytest

from hamacho_core.errors import ModelFileError
from hamacho_core.evaluation import Evaluation, preview
from hamacho_core.persistence import FORMAT_VERSION, dump_json
from hamacho_core.thresholds import Normalization

NORMALIZATION = Normalization("adaptive", 1.0, 0.0, 2.0, 0.5, 0.0, 1.0)


def _run(tmp_path: Path) -> Path:
    dump_json(tmp_path / "config.yaml", {"model": "patchcore", "format_version": FORMAT_VERSION,
                                         "normalization": {**NORMALIZATION.to_dict(), "image_norm": 0.7}})
    maps = [np.full((8, 12), i, np.float32) for i in range(4)]
    masks = [np.eye(8, 12, dtype=bool)] * 4
    Evaluation(["a.png", "b.png", "c.png", "d.png"], ["good", "good", "x", "x"], np.array([0, 0, 1, 1]),
               np.array([0.1, 0.8, 1.2, 1.9]), np.stack(maps), np.stack(masks), NORMALIZATION,
               ["good/a.png", "good/b.png", "x/c.png", "x/d.png"], [None, None, "m/c.png", "m/d.png"]).save(tmp_path)
    return tmp_path


def test_round_trip_keeps_everything_and_takes_the_saved_thresholds(tmp_path: Path) -> None:
    loaded = Evaluation.load(_run(tmp_path))
    assert loaded.paths == ["a.png", "b.png", "c.png", "d.png"] and loaded.mask_paths[2] == "m/c.png"
    assert loaded.raw_scores.tolist() == [0.1, 0.8, 1.2, 1.9] and loaded.labels.tolist() == [0, 0, 1, 1]
    assert loaded.maps.dtype == np.float16 and loaded.maps[3, 0, 0] == 3 and loaded.masks[0, 2, 2]
    assert loaded.normalization.normalized_image_threshold == 0.7  # moved threshold in config.yaml wins


def test_metrics_at_any_threshold_without_the_model(tmp_path: Path) -> None:
    loaded = Evaluation.load(_run(tmp_path))
    normalized = loaded.normalized_scores  # (raw - 1) / 2 + 0.5
    assert normalized.tolist() == pytest.approx([0.05, 0.4, 0.6, 0.95])
    at_half, at_low = loaded.metrics_at(0.5), loaded.metrics_at(0.3)
    assert (at_half.tp, at_half.fp, at_half.f1) == (2, 0, 1.0)
    assert (at_low.tp, at_low.fp) == (2, 1) and at_low.precision == pytest.approx(2 / 3)
    assert loaded.predicted_mask(1, 0.5).all() and not loaded.predicted_mask(0, 0.5).any()


def test_missing_or_incomplete_results_say_to_retrain(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / "evaluation.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelFileError, match="train the run again"):
        Evaluation.load(run)
    (run / "evaluation.safetensors").unlink()
    with pytest.raises(ModelFileError, match="train the run again"):
        Evaluation.load(run)


def test_preview_shrinks_only_large_maps() -> None:
    assert preview(np.zeros((100, 50))).shape == (100, 50)
    assert preview(np.zeros((640, 320)), side=160).shape == (160, 80)
    assert preview(np.eye(400, dtype=np.float32), side=100, nearest=True).max() == 1.0
