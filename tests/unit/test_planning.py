"""Training plans before any model call (hamacho_core.planning): shape, tiles, bank, time and disk."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hamacho_core.config import TrainConfig
from hamacho_core.data import load_dataset
from hamacho_core.errors import ConfigError
from hamacho_core.planning import CSV_WARNING_BYTES, estimate_train_seconds, pixel_csv_bytes, plan
from hamacho_core.preprocess import choose_input_shape
from hamacho_core.sampling import coreset_size


def test_training_time_estimate_grows_with_images_size_and_bank() -> None:
    base = estimate_train_seconds(40, 100, (256, 256), 4_000)
    assert 1 < base < 120
    assert estimate_train_seconds(400, 100, (256, 256), 4_000) > base
    assert estimate_train_seconds(40, 100, (512, 512), 4_000) > base
    assert estimate_train_seconds(40, 100, (256, 256), 40_000) > base


def test_pixel_csv_size_estimate_is_eight_bytes_a_pixel(tmp_path: Path) -> None:
    from hamacho_core.report import write_pixel_csv

    assert pixel_csv_bytes([(400, 4000), (10, 10)]) == 8 * (1_600_000 + 100)
    write_pixel_csv(tmp_path / "map.csv", np.full((30, 40), 0.123456, np.float32))
    assert (tmp_path / "map.csv").stat().st_size == pixel_csv_bytes([(30, 40)])



def test_plan_matches_the_shape_and_bank_training_uses(demo_root: Path) -> None:
    dataset = load_dataset(demo_root, "folder", split=0.2, seed=420, with_masks=True)
    config = TrainConfig(category=demo_root.name, dataset_root=str(demo_root.parent), image_size=96,
                         coreset_ratio=0.05)
    found = plan(config, dataset)
    shape = choose_input_shape([s.size for s in dataset.train], 96, "square", 32)
    assert found.shape.as_tuple() == shape.as_tuple() == (96, 96)
    assert (found.n_train, found.n_test) == (len(dataset.train), len(dataset.test))
    assert found.candidates == len(dataset.train) * 12 * 12  # stride-8 patches of 96 x 96
    assert found.bank == coreset_size(found.candidates, 0.05, config.max_bank_size)
    assert found.csv_bytes == pixel_csv_bytes([s.size for s in dataset.test]) > 0 and not found.warnings()
    padim = plan(TrainConfig(category="x", model="padim", image_size=96, write_csv=False), dataset)
    assert padim.bank == 24 * 24 and padim.csv_bytes == 0  # stride-4 positions; no CSV planned
    assert "input 96 x 96" in found.describe()


def test_plan_respects_max_tiles_and_warns_about_large_csv(demo_root: Path) -> None:
    dataset = load_dataset(demo_root, "folder", split=0.2, seed=420)
    dataset = replace(dataset, train=[replace(s, size=(400, 4000)) for s in dataset.train],  # line-scan strips
                      test=[replace(s, size=(400, 4000)) for s in dataset.test])
    wide = plan(TrainConfig(category="x", tiling="on", image_size=128, max_tiles=4), dataset)
    assert wide.tile_grid is not None and wide.tile_grid.count <= 4
    more = plan(TrainConfig(category="x", tiling="on", image_size=128, max_tiles=16), dataset)
    assert more.tile_grid.count > wide.tile_grid.count and more.seconds > wide.seconds
    dataset = replace(dataset, test=[replace(s, size=(20_000, 20_000)) for s in dataset.test])
    assert plan(TrainConfig(category="x"), dataset).csv_bytes > CSV_WARNING_BYTES
    assert "--no-csv" in plan(TrainConfig(category="x"), dataset).warnings()[0]


@pytest.mark.parametrize("options,word", [({"split": 1.0}, "--split"), ({"image_size": 8}, "--image-size"),
                                          ({"accelerator": "tpu"}, "--accelerator"), ({"resize": "crop"}, "--resize"),
                                          ({"data_format": "zip"}, "--data-format"), ({"max_tiles": 0}, "tiles")])
def test_config_validation_names_the_option(options: dict, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        TrainConfig(category="x", **options).validate()


def test_estimate_is_positive_for_one_image() -> None:
    assert estimate_train_seconds(1, 1, (64, 64), 1) > 0 and np.isfinite(estimate_train_seconds(1, 1, (64, 64), 1))
