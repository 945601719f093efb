"""Training options (``TrainConfig``) and their one validation: what the CLI, the app and the API fill in.

Range checks live here, once: the CLI's option types and the Train page's widgets take their choices and bounds
from :mod:`hamacho_core.choices`, as this module does. It imports nothing heavy (no torch): a job manager or a
worker builds a TrainConfig without loading the engine.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hamacho_core.choices import (
    ACCELERATORS,
    DATA_FORMATS,
    DEFAULT_BACKBONE,
    DEFAULT_MAX_BANK_SIZE,
    DEFAULT_MAX_TILES,
    DEFAULT_MIN_DEFECTS,
    DEFAULT_SCORE_TOP_SHARE,
    DEFAULT_TILE_OVERLAP,
    DETECTOR_NAMES,
    HOLDOUT_RANGE,
    MAX_SIDE,
    MIN_SIDE,
    RESIZE_MODES,
    SPLIT_RANGE,
    SUPERVISED_MODES,
    TASK_TYPES,
    check_tiling_options,
)
from hamacho_core.errors import ConfigError
from hamacho_core.workspace import PROJECT_RUNS, new_stamp, project_data_dir

__all__ = ["ACCELERATORS", "DEFAULT_MIN_DEFECTS", "SPLIT_RANGE", "SUPERVISED_MODES", "TASK_TYPES", "TrainConfig",
           "check_num_workers", "max_num_workers", "project_train_config"]



def max_num_workers() -> int:
    """The old tool's cap on --num-workers: CPU count - 2 (at least 0)."""
    return max(0, (os.cpu_count() or 1) - 2)


def check_num_workers(num_workers: int) -> tuple[int, str | None]:
    """Validate --num-workers: Linux only; capped at CPU count - 2. Returns (value, warning)."""
    if num_workers < 0:
        raise ConfigError("--num-workers must be 0 or more")
    if num_workers and platform.system().lower() != "linux":
        raise ConfigError("No such option: --num-workers (data-loading workers are supported on Linux only)")
    cap = max_num_workers()
    if num_workers > cap:
        return cap, f"--num-workers {num_workers} is above CPU count - 2 = {cap}: using {cap}"
    return num_workers, None


@dataclass
class TrainConfig:
    """Training options; names and defaults follow the old ``hamacho train``."""

    category: str = ""  # dataset folder name below dataset_root
    dataset_root: str = "data"
    model: str = "patchcore"  # one of DETECTOR_NAMES
    data_format: str = "folder"  # one of DATA_FORMATS
    result_path: str = "./results"
    task_type: str = "segmentation"  # one of TASK_TYPES
    with_mask_label: bool = False  # kept for old command lines: masks are used whenever present
    accelerator: str = "auto"  # one of ACCELERATORS
    image_size: int | None = None  # None = automatic
    resize: str | None = None  # one of RESIZE_MODES; None = square if image_size is given, else keep-aspect
    tiling: str = "auto"  # one of TILING_MODES: tiles for images far larger than the model input
    max_tiles: int = DEFAULT_MAX_TILES  # most tiles per image (cost bound)
    tile_overlap: float = DEFAULT_TILE_OVERLAP  # least share of a tile overlapping its neighbour
    batch_size: int = 8
    split: float = 0.2  # share of good images held out for testing
    seed: int = 420
    num_workers: int = 0  # extra image-decoding workers (Linux only)
    no_bad_mode: bool = False  # train and evaluate with good images only (sigma6 threshold)
    good_file_list: str | None = None
    bad_file_list: str | None = None
    mask_file_list: str | None = None
    backbone: str = DEFAULT_BACKBONE
    backbone_weights: str | None = None
    coreset_ratio: float = 0.1
    max_bank_size: int | None = DEFAULT_MAX_BANK_SIZE
    n_neighbors: int = 9
    n_features: int = 100  # PaDiM channels
    score_top_share: float = DEFAULT_SCORE_TOP_SHARE  # image score: mean of the map's highest share (0 = maximum)
    write_csv: bool = True  # per-pixel CSV files (large)
    run_dir: str | None = None  # explicit output folder; default <result_path>/<category>/<model>
    supervised: str = "auto"  # one of SUPERVISED_MODES: a supervised head on the defect pictures (cross-fitted figures)
    supervised_min_defects: int = DEFAULT_MIN_DEFECTS  # auto: on from this many defect test pictures
    # With the head: also cross-fit heads on 5/10/20/50 defect pictures (the learning curve). Off by default: it is
    # 20 of the 26 head fits, about 20 s of a 40 s battery_weld job on 2 cores; the app's Train page turns it on.
    learning_curve: bool = False
    # Share of the labelled test pictures (good and defect) sealed away as a hold-out: never used for the bank, the
    # head, the threshold or the normalization; scored by the final model (hamacho_core.holdout). 0 = none.
    holdout_split: float = 0.0

    def validate(self) -> None:
        """Check every option once (the CLI and the app rely on this).

        Raises:
            ConfigError: the first option out of range, naming the option and the accepted values.
        """
        if self.model.lower() not in DETECTOR_NAMES:
            raise ConfigError(f"unknown --model {self.model!r}: use one of {', '.join(DETECTOR_NAMES)}")
        if self.data_format not in DATA_FORMATS:
            raise ConfigError(f"unknown --data-format {self.data_format!r}: use one of {', '.join(DATA_FORMATS)}")
        if self.data_format != "filelist" and not self.category:
            raise ConfigError("--category is required: the dataset folder name below --dataset-root")
        if not SPLIT_RANGE[0] <= self.split <= SPLIT_RANGE[1]:
            raise ConfigError(f"--split must be between {SPLIT_RANGE[0]} and {SPLIT_RANGE[1]}, got {self.split}")
        if self.task_type not in TASK_TYPES:
            raise ConfigError(f"--task-type must be one of {', '.join(TASK_TYPES)}, got {self.task_type!r}")
        if (self.accelerator or "auto").lower() not in ACCELERATORS:
            raise ConfigError(f"--accelerator must be one of {', '.join(ACCELERATORS)}, got {self.accelerator!r}")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        if not 0.0 < self.coreset_ratio <= 1.0:
            raise ConfigError(f"--coreset-ratio must be in (0, 1], got {self.coreset_ratio}")
        if self.max_bank_size is not None and self.max_bank_size < 1:
            raise ConfigError(f"--max-bank-size must be at least 1 (or 0 on the command line for no cap), "
                              f"got {self.max_bank_size}")
        if self.num_workers < 0:
            raise ConfigError("--num-workers must be 0 or more")
        if self.image_size is not None and not MIN_SIDE <= self.image_size <= MAX_SIDE:
            raise ConfigError(f"--image-size must be between {MIN_SIDE} and {MAX_SIDE}, got {self.image_size}")
        if self.resize is not None and self.resize not in RESIZE_MODES:
            raise ConfigError(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        check_tiling_options(self.tiling, self.max_tiles, self.tile_overlap)
        if self.supervised not in SUPERVISED_MODES:
            raise ConfigError(f"--supervised must be one of {', '.join(SUPERVISED_MODES)}, got {self.supervised!r}")
        if self.holdout_split != 0 and not HOLDOUT_RANGE[0] <= self.holdout_split <= HOLDOUT_RANGE[1]:
            raise ConfigError(f"--holdout-split must be 0 (no hold-out) or between {HOLDOUT_RANGE[0]} and "
                              f"{HOLDOUT_RANGE[1]}, got {self.holdout_split}")
        if self.holdout_split and self.no_bad_mode:
            raise ConfigError("--holdout-split needs labelled defect pictures: it cannot be used with --no-bad-mode")
        if not 0.0 <= self.score_top_share <= 0.5:
            raise ConfigError(f"score_top_share must be between 0 (the maximum) and 0.5, got {self.score_top_share}")
        if self.supervised_min_defects < 2:
            raise ConfigError(f"--supervised-min-defects must be at least 2, got {self.supervised_min_defects}")

    @property
    def resize_mode(self) -> str:
        return self.resize or ("square" if self.image_size else "keep-aspect")

    @property
    def dataset_dir(self) -> Path:
        return Path(self.dataset_root) / self.category

    def output_dir(self) -> Path:
        if self.run_dir:
            return Path(self.run_dir)
        return Path(self.result_path) / (self.category or "filelist") / self.model.lower()

    def saved_settings(self, counts: dict[str, int], n_problems: int) -> dict[str, Any]:
        """The ``settings`` section of a run's config.yaml: every option, the resize mode used, the data's counts."""
        return {**asdict(self), "resize": self.resize_mode, "counts": counts, "n_problems": n_problems}

    def detector_settings(self, input_shape: tuple[int, int] | None, n_threads: int) -> dict[str, Any]:
        return {"backbone": self.backbone, "backbone_weights": self.backbone_weights,
                "image_size": self.image_size, "resize": self.resize_mode, "input_shape": input_shape,
                "tiling": self.tiling, "max_tiles": self.max_tiles, "tile_overlap": self.tile_overlap,
                "batch_size": self.batch_size, "device": self.accelerator, "n_threads": n_threads,
                "seed": self.seed, "coreset_ratio": self.coreset_ratio, "max_bank_size": self.max_bank_size,
                "n_neighbors": self.n_neighbors, "n_features": self.n_features,
                "score_top_share": self.score_top_share}


def project_train_config(project_dir: Path, options: dict[str, Any] | None = None) -> TrainConfig:
    """A checked TrainConfig for a project's dataset, writing to a new ``<project>/runs/<timestamp>/`` folder.

    The one builder behind the app's Train page and the API's train endpoint. The dataset is ``<project>/data/``,
    or the project folder itself when it holds ``good/`` directly; ``runs/`` is created (once the options are valid).

    Args:
        project_dir: the project folder.
        options: other TrainConfig fields (model, image_size, ...).

    Raises:
        ConfigError: an invalid setting.
    """
    data = project_data_dir(project_dir)
    runs = project_dir / PROJECT_RUNS
    config = TrainConfig(category=data.name, dataset_root=str(data.parent), result_path=str(runs),
                         run_dir=str(runs / new_stamp(runs)), **(options or {}))
    config.validate()
    runs.mkdir(parents=True, exist_ok=True)  # only for a valid config
    return config
