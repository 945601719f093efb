"""hamacho_core: visual anomaly detection in plain PyTorch (no Streamlit here).

Public surface::

    from hamacho_core import TrainConfig, train, infer, load_dataset, create_detector, load_run, Evaluation
"""

from hamacho_core.data import Dataset, Problem, Sample, load_dataset
from hamacho_core.detectors import PaDiM, PaDiMConfig, PatchCore, PatchCoreConfig, Prediction, create_detector
from hamacho_core.errors import (
    BackboneError,
    Cancelled,
    ConfigError,
    DataError,
    HamachoError,
    ModelFileError,
    NotFittedError,
)
from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import list_runs, load_run, update_thresholds
from hamacho_core.pipeline import InferenceResult, TrainConfig, TrainResult, infer, train

__version__ = "0.1.0"

__all__ = [
    "BackboneError",
    "Cancelled",
    "ConfigError",
    "DataError",
    "Dataset",
    "Evaluation",
    "HamachoError",
    "InferenceResult",
    "ModelFileError",
    "NotFittedError",
    "PaDiM",
    "PaDiMConfig",
    "PatchCore",
    "PatchCoreConfig",
    "Prediction",
    "Problem",
    "Sample",
    "TrainConfig",
    "TrainResult",
    "create_detector",
    "infer",
    "list_runs",
    "load_dataset",
    "load_run",
    "train",
    "update_thresholds",
]
