"""Choice lists and bounds of every option, in a module that imports nothing heavy.

The CLI builds its option types from these at start-up, so ``hamacho --help`` and a bad option answer without
importing torch, OpenCV, scikit-learn or pandas (about 3 s on 2 cores). The modules that own each list
(:mod:`hamacho_core.config`, :mod:`hamacho_core.data`, :mod:`hamacho_core.preprocess`, :mod:`hamacho_core.tiling`,
:mod:`hamacho_core.detectors`) re-export them from here: they are still defined once.
"""

from __future__ import annotations

from hamacho_core.errors import ConfigError

__all__ = ["ACCELERATORS", "DATA_FORMATS", "DEFAULT_BACKBONE", "DEFAULT_MAX_BANK_SIZE", "DEFAULT_MAX_TILES",
           "DEFAULT_MIN_DEFECTS", "DEFAULT_SCORE_TOP_SHARE", "DEFAULT_TILE_OVERLAP", "DETECTOR_NAMES",
           "EXPORT_FORMATS", "HOLDOUT_RANGE", "INFERENCE_ENGINES", "LEGACY_SCORE_TOP_SHARE", "MAX_SIDE", "MIN_SIDE",
           "RESIZE_MODES", "SCORE_ENGINES", "SPLIT_RANGE", "SUPERVISED_MODES", "TASK_TYPES",
           "TILING_MODES", "bank_size_limit", "check_tiling_options"]

DETECTOR_NAMES = ("patchcore", "padim")  # keys of hamacho_core.detectors.DETECTORS, in that order
DATA_FORMATS = ("folder", "mvtec", "filelist")
TASK_TYPES = ("segmentation", "classification")
ACCELERATORS = ("cpu", "gpu", "cuda", "auto")
SPLIT_RANGE = (0.01, 0.99)  # share of good images held out for testing
HOLDOUT_RANGE = (0.05, 0.5)  # --holdout-split when set (0 = no hold-out): share of the labelled test pictures
RESIZE_MODES = ("keep-aspect", "square")
MIN_SIDE = 64  # input side bounds, in pixels
MAX_SIDE = 2048
TILING_MODES = ("auto", "on", "off")
SUPERVISED_MODES = ("auto", "on", "off")  # --supervised
DEFAULT_MIN_DEFECTS = 10  # --supervised auto turns the head on from this many defect test pictures
DEFAULT_BACKBONE = "tf_efficientnet_lite0"
DEFAULT_MAX_BANK_SIZE = 131_072  # PatchCore memory-bank budget (entries)
DEFAULT_MAX_TILES = 16
# Image score = mean of the map's highest share (0 = the maximum; 0.01 = the top 1 %, measured in docs/benchmarks.md,
# "Quality levers"). Runs saved before this setting load with the maximum whatever the default becomes.
DEFAULT_SCORE_TOP_SHARE = 0.0
LEGACY_SCORE_TOP_SHARE = 0.0
DEFAULT_TILE_OVERLAP = 0.125  # share of the tile side shared with the neighbouring tile (at least)
INFERENCE_ENGINES = ("torch", "onnx", "openvino")  # what runs a saved run in inference (hamacho_core.export.engines)
EXPORT_FORMATS = ("onnx", "openvino")  # hamacho export --format (hamacho_core.export.exporter)
SCORE_ENGINES = ("local", "ray")  # where hamacho score runs (hamacho_core.scale.ray_engine)


def bank_size_limit(value: int | None) -> int | None:
    """The memory-bank budget of a ``--max-bank-size`` / API ``max_bank_size`` value: 0 means no cap (None)."""
    return None if value == 0 else value


def check_tiling_options(tiling: str, max_tiles: int, overlap: float) -> None:
    """Raise ConfigError for a tiling mode, tile count or overlap out of range."""
    if tiling not in TILING_MODES:
        raise ConfigError(f"--tiling must be one of {', '.join(TILING_MODES)}, got {tiling!r}")
    if not 1 <= max_tiles <= 256:
        raise ConfigError(f"--max-tiles must be between 1 and 256, got {max_tiles}")
    if not 0.0 <= overlap <= 0.5:
        raise ConfigError(f"tile_overlap must be between 0 and 0.5, got {overlap}")
