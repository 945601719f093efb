"""Tiling: grid choice, split/stitch, and a tiled detector finding a small defect in full-resolution coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hamacho_core.detectors import create_detector
from hamacho_core.drawing import defect_regions
from hamacho_core.errors import ConfigError
from hamacho_core.pipeline import TrainConfig, infer, train
from hamacho_core.planning import estimate_train_seconds
from hamacho_core.preprocess import InputShape, choose_input_shape
from hamacho_core.synthetic.strips import make_strip_dataset, render_strip
from hamacho_core.tiling import TileGrid, choose_tile_grid, split_tiles, stitch_tiles


def _coverage(grid: TileGrid) -> np.ndarray:
    count = np.zeros(grid.canvas, int)
    for y, x in grid.origins():
        count[y:y + grid.tile[0], x:x + grid.tile[1]] += 1
    return count


@pytest.mark.parametrize("native", [(400, 4000), (4000, 4000), (2048, 2448), (3000, 400)])
def test_grid_covers_the_canvas_within_the_tile_budget_and_never_upsamples(native) -> None:
    grid = choose_tile_grid(native, 512, 32, max_tiles=16, overlap=0.125)
    assert 1 < grid.count <= 16
    assert grid.canvas[0] <= native[0] and grid.canvas[1] <= native[1]
    assert grid.tile[0] % 32 == 0 and grid.tile[1] % 32 == 0 and max(grid.tile) == 512
    assert (_coverage(grid) >= 1).all()
    ys, xs = sorted({y for y, _ in grid.origins()}), sorted({x for _, x in grid.origins()})
    for starts, side in ((ys, grid.tile[0]), (xs, grid.tile[1])):  # neighbours share at least 1/8 of a tile
        assert all(side - (b - a) >= side // 8 for a, b in zip(starts, starts[1:], strict=False))


def test_line_scan_keeps_its_native_resolution_in_one_row_of_tiles() -> None:
    grid = choose_tile_grid((400, 4000), 512, 32)
    assert grid.rows == 1 and grid.canvas == (384, 4000) and grid.tile == (384, 512)


def test_auto_tiles_only_far_larger_images_in_keep_aspect_mode() -> None:
    assert choose_input_shape([(400, 4000)]).tiles is not None
    assert choose_input_shape([(500, 1250)]).tiles is None  # 2.4x the model input: plain keep-aspect
    assert choose_input_shape([(400, 4000)], 256, "square").tiles is None  # old square users keep their behaviour
    assert choose_input_shape([(400, 4000)], 256, "square", tiling="on").tiles is not None
    assert choose_input_shape([(400, 4000)], tiling="off").tiles is None
    assert choose_input_shape([(200, 300)], tiling="on").tiles is None  # fits in one tile
    with pytest.raises(ConfigError, match="tiling"):
        choose_input_shape([(400, 4000)], tiling="sometimes")


def test_stitching_split_tiles_gives_back_the_canvas() -> None:
    grid = choose_tile_grid((300, 1000), 128, 32)
    canvas = torch.rand(2, 1, *grid.canvas)
    tiles = split_tiles(canvas, grid)
    assert tiles.shape == (2 * grid.count, 1, *grid.tile)
    assert torch.allclose(stitch_tiles(tiles[:, 0], grid), canvas[:, 0], atol=1e-5)


def test_tile_grid_round_trips_through_json() -> None:
    grid = choose_tile_grid((400, 4000), 512, 32)
    assert TileGrid.from_dict(grid.to_dict()) == grid


def test_time_estimate_counts_every_tile() -> None:
    tiled = choose_input_shape([(400, 4000)])
    plain = InputShape(tiled.height, tiled.width)
    assert tiled.patches() == pytest.approx(plain.patches(), rel=0.25)  # same canvas, overlaps counted
    assert estimate_train_seconds(20, 10, tiled, 10_000) > estimate_train_seconds(20, 10, (64, 512), 10_000)


def test_defect_regions_are_boxes_in_map_coordinates_highest_first() -> None:
    normalized = np.zeros((100, 400), np.float32)
    normalized[10:20, 300:330] = 0.7
    normalized[60:70, 50:55] = 0.9
    normalized[65, 52] = 0.95
    regions = defect_regions(normalized, 0.5, "a.png")
    assert [(r["x"], r["y"], r["width"], r["height"]) for r in regions] == [(50, 60, 5, 10), (300, 10, 30, 10)]
    assert regions[0]["region"] == 1 and (regions[0]["peak_x"], regions[0]["peak_y"]) == (52, 65)
    assert regions[1]["area_px"] == 300


def test_tiled_patchcore_finds_a_small_pit_in_a_long_strip(tmp_path: Path) -> None:
    good = [render_strip(None, i, seed=3, size=(128, 1280)).image for i in range(4)]
    pit = render_strip("pit", 0, seed=3, size=(128, 1280))
    detector = create_detector("patchcore", {"image_size": 128, "tiling": "on"}).fit(good)
    assert detector.input_shape_.tiles is not None and detector.input_shape_.n_tiles > 4
    prediction = detector.predict([pit.image, good[0]])
    assert prediction.maps.shape[1:] == detector.input_shape_.as_tuple()
    assert prediction.scores[0] > prediction.scores[1]
    peak_y, peak_x = np.unravel_index(np.argmax(prediction.maps[0]), prediction.maps[0].shape)
    ys, xs = np.nonzero(pit.mask)
    scale_y = pit.mask.shape[0] / prediction.maps.shape[1]
    scale_x = pit.mask.shape[1] / prediction.maps.shape[2]
    assert ys.min() - 12 <= peak_y * scale_y <= ys.max() + 12
    assert xs.min() - 12 <= peak_x * scale_x <= xs.max() + 12


def test_candidate_budget_draws_a_random_share_of_the_patches() -> None:
    good = [render_strip(None, i, seed=3, size=(128, 640)).image for i in range(3)]
    detector = create_detector("patchcore", {"image_size": 128, "tiling": "on", "max_candidates": 2_000}).fit(good)
    assert 1_500 < detector.n_candidates_ < 2_500


def test_train_and_infer_with_tiles_keep_full_resolution_outputs(tmp_path: Path) -> None:
    import cv2

    root = make_strip_dataset(tmp_path / "data" / "strip", n_good=10, n_bad_per_type=2, seed=5, size=(128, 1280))
    config = TrainConfig(category="strip", dataset_root=str(tmp_path / "data"), result_path=str(tmp_path / "out"),
                         image_size=128, resize="keep-aspect", tiling="on", write_csv=False)
    result = train(config)
    assert "tiles" in result.input_shape_reason
    predictions = result.run_dir / "test_predictions"
    for folder in ("grayscale", "predicted_mask", "combined"):
        assert len(list((predictions / "images" / folder).rglob("*.png"))) == 6
    gray = cv2.imread(str(predictions / "images" / "grayscale" / "pit" / "pit_000.png"), cv2.IMREAD_GRAYSCALE)
    assert gray.shape == (128, 1280)
    assert (predictions / "metrics" / "defect_regions.csv").read_text(encoding="utf-8-sig").startswith("output_name")
    pit = root / "bad" / "pit" / "pit_001.png"
    inference = infer(result.run_dir / "config.yaml", pit, tmp_path / "inference", keep_maps=True)
    assert inference.normalized_maps[0].shape == (128, 1280)
    mask = cv2.imread(str(root / "mask" / "pit" / "pit_001.png"), cv2.IMREAD_GRAYSCALE) > 0
    peak = np.unravel_index(np.argmax(inference.normalized_maps[0]), (128, 1280))
    ys, xs = np.nonzero(mask)
    assert ys.min() - 12 <= peak[0] <= ys.max() + 12 and xs.min() - 12 <= peak[1] <= xs.max() + 12

