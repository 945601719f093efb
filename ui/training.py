"""What the train page shows before starting: the dataset, the input shape the core will choose, the bank size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hamacho_core.data import Dataset, load_dataset
from hamacho_core.detectors.patchcore import DEFAULT_MAX_CANDIDATES, candidate_count
from hamacho_core.pipeline import TrainConfig, estimate_train_seconds
from hamacho_core.preprocess import InputShape, choose_input_shape
from hamacho_core.sampling import coreset_size
from ui.projects import RUNS, data_dir, new_stamp

__all__ = ["BACKBONES", "Estimate", "estimate", "load_project_dataset", "make_config"]

BACKBONES = ("tf_efficientnet_lite0", "resnet18", "wide_resnet50_2")  # the first works offline
STRIDE = 32
PATCH_STRIDE = {"patchcore": 8, "padim": 4}


@dataclass
class Estimate:
    """Input shape and memory figures for the chosen options."""

    shape: InputShape
    n_train: int
    candidates: int  # patches seen in training
    bank: int  # PatchCore memory-bank entries (PaDiM: patch positions modelled)
    seconds: float  # rough training time on a 2-core CPU


def load_project_dataset(project: Path, split: float = 0.2, seed: int = 420, no_bad: bool = False) -> Dataset:
    """The project's dataset as the core loads it (raises DataError when unusable)."""
    return load_dataset(data_dir(project), "folder", split=split, seed=seed, with_masks=True, no_bad=no_bad)


def estimate(dataset: Dataset, model: str, image_size: int | None, resize: str, coreset_ratio: float,
             max_bank_size: int | None, tiling: str = "auto") -> Estimate:
    """The input shape ``hamacho_core.preprocess.choose_input_shape`` will pick, and the bank size it implies."""
    shape = choose_input_shape([s.size for s in dataset.train], image_size, resize, STRIDE, tiling)
    per_image = shape.patches(PATCH_STRIDE.get(model, 8))
    candidates = candidate_count(per_image * len(dataset.train), DEFAULT_MAX_CANDIDATES)
    bank = coreset_size(candidates, coreset_ratio, max_bank_size) if model == "patchcore" else per_image
    seconds = estimate_train_seconds(len(dataset.train), len(dataset.test), shape, bank)
    return Estimate(shape, len(dataset.train), candidates, bank, seconds)


def make_config(project: Path, **options: object) -> TrainConfig:
    """A TrainConfig for the project's data, writing to a new ``runs/<timestamp>/`` folder."""
    data = data_dir(project)
    runs = project / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(category=data.name, dataset_root=str(data.parent), run_dir=str(runs / new_stamp(runs)),
                         result_path=str(runs), **options)  # type: ignore[arg-type]
    config.validate()
    return config
