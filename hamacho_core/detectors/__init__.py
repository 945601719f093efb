"""Anomaly detectors and their factory."""

from __future__ import annotations

from typing import Any

from hamacho_core.detectors.base import Detector, DetectorConfig, Prediction
from hamacho_core.detectors.padim import PaDiM, PaDiMConfig
from hamacho_core.detectors.patchcore import PatchCore, PatchCoreConfig
from hamacho_core.errors import ConfigError

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorConfig",
    "PaDiM",
    "PaDiMConfig",
    "PatchCore",
    "PatchCoreConfig",
    "Prediction",
    "create_detector",
]

DETECTORS: dict[str, type[Detector]] = {"patchcore": PatchCore, "padim": PaDiM}


def create_detector(name: str, settings: dict[str, Any] | DetectorConfig | None = None) -> Detector:
    """Build a detector by name ("patchcore" | "padim") from a config object or a dict of its fields."""
    try:
        cls = DETECTORS[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}: use one of {', '.join(DETECTORS)}") from None
    if isinstance(settings, DetectorConfig):
        return cls(settings)
    return cls(cls.config_class.from_dict(settings or {}))
