"""What a training run will do, before it runs: input shape, tiles, patches, memory-bank size, time and disk.

``plan(config, dataset)`` is the one source for these figures: the CLI prints it before fitting, the Train page
shows it, and the pipeline builds the detector from it (so the shape shown is the shape trained).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hamacho_core.data import Dataset
from hamacho_core.detectors import DETECTORS
from hamacho_core.detectors.patchcore import DEFAULT_MAX_CANDIDATES, candidate_count
from hamacho_core.preprocess import InputShape, choose_input_shape
from hamacho_core.sampling import coreset_size
from hamacho_core.tiling import TileGrid

if TYPE_CHECKING:
    from hamacho_core.config import TrainConfig

__all__ = ["BACKBONE_STRIDE", "CSV_WARNING_BYTES", "STARTING", "TrainPlan", "estimate_stage_seconds",
           "estimate_train_seconds", "pixel_csv_bytes", "plan"]

BACKBONE_STRIDE = 32  # largest reduction of every supported backbone (the detector reports its own when built)
CSV_WARNING_BYTES = 1_000_000_000


@dataclass
class TrainPlan:
    """The figures of a training run, known before any model call.

    Attributes:
        shape: the input shape (and tile grid) every image is brought to.
        n_train, n_test: images fitted / scored.
        candidates: training patches the memory bank is chosen from (PaDiM: all patches).
        bank: PatchCore memory-bank entries (PaDiM: patch positions modelled).
        seconds: rough training time on a 2-core CPU.
        csv_bytes: disk taken by the per-pixel CSV files (0 when they are not written).
        stages: rough seconds of each stage, by the stage names the progress callback reports, in the order they
            run (:func:`estimate_stage_seconds`): the job panel's early time estimate.
    """

    shape: InputShape
    n_train: int
    n_test: int
    candidates: int
    bank: int
    seconds: float
    csv_bytes: int
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def tile_grid(self) -> TileGrid | None:
        return self.shape.tiles

    def warnings(self) -> list[str]:
        """What the user should know before starting (large CSV output)."""
        if self.csv_bytes > CSV_WARNING_BYTES:
            return [f"the per-pixel CSV files of the test pictures take about {self.csv_bytes / 1e9:.1f} GB "
                    "(8 bytes per pixel); --no-csv skips them"]
        return []

    def describe(self) -> str:
        """One line for the CLI."""
        what = "memory bank" if self.bank < self.candidates else "patch positions"
        return (f"plan: {self.n_train} training / {self.n_test} test images, input {self.shape.describe()} "
                f"({self.shape.reason}); {what} {self.bank:,} of {self.candidates:,} patches; "
                f"about {max(self.seconds / 60, 0.1):.1f} min on a 2-core CPU")


def plan(config: TrainConfig, dataset: Dataset, stride: int = BACKBONE_STRIDE) -> TrainPlan:
    """The plan of training ``config`` on ``dataset`` (no image decoded: the loader's probed sizes are used).

    Args:
        stride: the backbone's largest reduction (both input sides become multiples of it).

    Raises:
        ConfigError: options out of range, or no training image.
    """
    shape = choose_input_shape([s.size for s in dataset.train], config.image_size, config.resize_mode, stride,
                               config.tiling, config.max_tiles, config.tile_overlap)
    model = config.model.lower()
    per_image = shape.patches(DETECTORS[model].reductions[0])
    candidates = candidate_count(per_image * len(dataset.train), DEFAULT_MAX_CANDIDATES)
    bank = coreset_size(candidates, config.coreset_ratio, config.max_bank_size) if model == "patchcore" else per_image
    seconds = estimate_train_seconds(len(dataset.train), len(dataset.test), shape, bank)
    csv_bytes = pixel_csv_bytes([s.size for s in dataset.test]) if config.write_csv else 0
    n_defects = sum(s.label == 1 for s in dataset.test)
    supervised = not config.no_bad_mode and (config.supervised == "on" or (
        config.supervised == "auto" and n_defects >= config.supervised_min_defects))
    stages = estimate_stage_seconds(len(dataset.train), len(dataset.test), shape, bank, supervised,
                                    any(s.mask_path for s in dataset.test))
    return TrainPlan(shape, len(dataset.train), len(dataset.test), candidates, bank, seconds, csv_bytes, stages)


def pixel_csv_bytes(sizes: Sequence[tuple[int, int]]) -> int:
    """Disk taken by the per-pixel CSV files of pictures of these (height, width): 8 bytes a pixel ("0.12345,")."""
    return sum(8 * int(h) * int(w) for h, w in sizes)


def estimate_train_seconds(n_train: int, n_test: int, input_shape: InputShape | tuple[int, int],
                           bank_size: int) -> float:
    """Rough training time on a 2-core CPU (measured rates of this project's reference machine; a GPU is far faster).

    Backbone ~0.26 us per input pixel (every tile), coreset ~0.1 ms per bank entry, k-NN at ~140 GFLOP/s (banks
    searched by inverted file count as ~20k entries), writing outputs ~25 ms per test image.
    """
    shape = input_shape if isinstance(input_shape, InputShape) else InputShape(*input_shape)
    patches = shape.patches(8)
    pixels = patches * 64
    searched = min(bank_size, 20_000)
    backbone = (n_train + n_test) * pixels * 0.26e-6
    knn = n_test * patches * searched * 152 * 2 / 140e9
    return backbone + bank_size * 1e-4 + knn + n_test * 0.025


STARTING = "starting"  # the stage before the first report: a worker's interpreter and imports


def estimate_stage_seconds(n_train: int, n_test: int, input_shape: InputShape | tuple[int, int], bank_size: int,
                           supervised: bool = False, masks: bool = True) -> dict[str, float]:
    """Rough seconds of each stage of a training, by the names its progress reports, in the order they run.

    The rates of :func:`estimate_train_seconds` (its four terms are these stages' sums), plus the small stages: the
    start-up (imports, ~3 s), checking images and reading masks (~2 ms a picture), the supervised head's
    cross-fitting (~10 ms a test picture). Only the proportions need be right: the job panel scales the plan by
    the pace measured so far (``jobs.records.Job.eta_seconds``).
    """
    shape = input_shape if isinstance(input_shape, InputShape) else InputShape(*input_shape)
    patches = shape.patches(8)
    backbone = patches * 64 * 0.26e-6
    knn = patches * min(bank_size, 20_000) * 152 * 2 / 140e9
    return {STARTING: 3.0, "checking images": (n_train + n_test) * 0.002, "extracting features": n_train * backbone,
            "coreset": bank_size * 1e-4, "predicting": n_test * (backbone + knn),
            "reading masks": n_test * 0.002 if masks else 0.0,
            "supervised head (cross-fitting)": n_test * 0.01 if supervised else 0.0,
            "writing outputs": n_test * 0.025}
