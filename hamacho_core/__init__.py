"""hamacho_core: visual anomaly detection in plain PyTorch (no Streamlit here).

Public surface::

    from hamacho_core import TrainConfig, train, infer, load_dataset, create_detector, load_run, Evaluation
"""

from importlib import import_module
from typing import Any

# Public name -> defining module. Imported on first use, so that e.g. the detectors alone do not pull in
# pandas, matplotlib and scikit-learn (about 180 MB of resident memory).
_EXPORTS = {
    "Dataset": "data", "Problem": "data", "Sample": "data", "load_dataset": "data",
    "PaDiM": "detectors", "PaDiMConfig": "detectors", "PatchCore": "detectors", "PatchCoreConfig": "detectors",
    "Prediction": "detectors", "create_detector": "detectors",
    "BackboneError": "errors", "Cancelled": "errors", "ConfigError": "errors", "DataError": "errors",
    "HamachoError": "errors", "ModelFileError": "errors", "NotFittedError": "errors",
    "Evaluation": "evaluation",
    "list_runs": "persistence", "load_run": "persistence", "update_thresholds": "persistence",
    "InferenceResult": "pipeline", "TrainConfig": "pipeline", "TrainResult": "pipeline", "infer": "pipeline",
    "train": "pipeline",
    "TrainPlan": "planning", "plan": "planning", "rethreshold": "report",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hamacho_core' has no attribute {name!r}")
    return getattr(import_module(f"hamacho_core.{_EXPORTS[name]}"), name)


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
    "TrainPlan",
    "TrainResult",
    "create_detector",
    "infer",
    "list_runs",
    "load_dataset",
    "load_run",
    "plan",
    "rethreshold",
    "train",
    "update_thresholds",
]
