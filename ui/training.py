"""What the train page shows before starting: the core's plan for the chosen options (``hamacho_core.planning``)."""

from __future__ import annotations

from pathlib import Path

from hamacho_core.config import project_train_config
from hamacho_core.data import Dataset, load_dataset
from hamacho_core.pipeline import TrainConfig
from hamacho_core.planning import TrainPlan, plan
from hamacho_core.projects import data_dir
from hamacho_core.tiling import DEFAULT_MAX_TILES

__all__ = ["BACKBONES", "Estimate", "estimate", "load_project_dataset", "make_config"]

BACKBONES = ("tf_efficientnet_lite0", "resnet18", "wide_resnet50_2")  # the first works offline
Estimate = TrainPlan  # the page's older name for the plan


def load_project_dataset(project: Path, split: float = 0.2, seed: int = 420, no_bad: bool = False) -> Dataset:
    """The project's dataset as the core loads it (raises DataError when unusable)."""
    return load_dataset(data_dir(project), "folder", split=split, seed=seed, with_masks=True, no_bad=no_bad)


def estimate(dataset: Dataset, model: str, image_size: int | None, resize: str, coreset_ratio: float,
             max_bank_size: int | None, tiling: str = "auto", max_tiles: int = DEFAULT_MAX_TILES,
             write_csv: bool = True) -> TrainPlan:
    """The core's plan for these options: the input shape training will use, bank size, time and CSV size."""
    config = TrainConfig(category="project", model=model, image_size=image_size, resize=resize,
                         coreset_ratio=coreset_ratio, max_bank_size=max_bank_size, tiling=tiling,
                         max_tiles=max_tiles, write_csv=write_csv)
    config.validate()
    return plan(config, dataset)


def make_config(project: Path, **options: object) -> TrainConfig:
    """A TrainConfig for the project's data, writing to a new ``runs/<timestamp>/`` folder (the core's builder)."""
    return project_train_config(project, {"learning_curve": True, **options})  # the Threshold page draws the curve
