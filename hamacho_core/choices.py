"""Choice lists and bounds of every option, in a module that imports nothing heavy.

The CLI builds its option types from these at start-up, so ``hamacho --help`` and a bad option answer without
importing torch, OpenCV, scikit-learn or pandas (about 3 s on 2 cores). The modules that own each list
(:mod:`hamacho_core.config`, :mod:`hamacho_core.data`, :mod:`hamacho_core.preprocess`, :mod:`hamacho_core.tiling`,
:mod:`hamacho_core.detectors`) re-export them from here: they are still defined once.
"""

from __future__ import annotations

__all__ = ["ACCELERATORS", "DATA_FORMATS", "DETECTOR_NAMES", "HOLDOUT_RANGE", "MAX_SIDE", "MIN_SIDE", "RESIZE_MODES",
           "SPLIT_RANGE", "SUPERVISED_MODES", "DEFAULT_MIN_DEFECTS", "TASK_TYPES", "TILING_MODES"]

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
