"""Run folders: settings in YAML, tensors in safetensors, written atomically; loading never unpickles.

Layout of a run (``<result-path>/<category>/<model>/``)::

    config.yaml                  settings, thresholds, normalization, input shape, format version
    weights/model.safetensors    the detector's learned tensors
    evaluation.safetensors/json  test scores and small anomaly maps for the threshold page
    test_predictions/            the old tool's output tree (see report.py)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from hamacho_core.detectors import Detector, create_detector
from hamacho_core.errors import ModelFileError
from hamacho_core.thresholds import Normalization

__all__ = [
    "FORMAT_VERSION",
    "LoadedRun",
    "RunInfo",
    "atomic_write_bytes",
    "atomic_write_text",
    "list_runs",
    "load_run",
    "read_config",
    "save_run",
    "update_thresholds",
]

FORMAT_VERSION = 1
CONFIG_NAME = "config.yaml"
WEIGHTS_PATH = Path("weights") / "model.safetensors"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _run_dir(path: str | Path) -> Path:
    path = Path(path)
    return path.parent if path.name == CONFIG_NAME or path.suffix in (".yaml", ".yml") else path


def read_config(path: str | Path) -> dict[str, Any]:
    """Read and check a run's config.yaml (``path`` = the file or its run folder).

    Raises:
        ModelFileError: missing, unreadable, not a hamacho run, or from a newer format version.
    """
    config_path = _run_dir(path) / CONFIG_NAME
    if not config_path.is_file():
        raise ModelFileError(f"no trained run at {path}: {config_path} not found")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelFileError(f"{config_path} is damaged: {error}") from error
    if not isinstance(config, dict) or "model" not in config or "format_version" not in config:
        raise ModelFileError(f"{config_path} is not a hamacho run configuration")
    version = config["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"{config_path} was written by a newer hamacho (format {version}, this one reads up "
                             f"to {FORMAT_VERSION}): update hamacho to use it")
    return config


@dataclass
class LoadedRun:
    """A trained run ready to predict."""

    run_dir: Path
    config: dict[str, Any]
    detector: Detector
    normalization: Normalization


def save_run(
    run_dir: str | Path,
    detector: Detector,
    normalization: Normalization,
    settings: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save a fitted detector and its thresholds; returns the config.yaml path."""
    run_dir = Path(run_dir)
    tensors = {**detector.state_tensors(), **detector.head_tensors()}
    metadata = {"format_version": str(FORMAT_VERSION), "model": detector.name}
    atomic_write_bytes(run_dir / WEIGHTS_PATH, save(tensors, metadata=metadata))
    config = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now().isoformat(timespec="seconds"),
        "model": detector.name,
        "detector": detector.config.to_dict(),
        "state": detector.state_settings(),
        "normalization": normalization.to_dict(),
        "settings": settings,
        "metrics": metrics or {},
        "weights": WEIGHTS_PATH.as_posix(),
    }
    path = run_dir / CONFIG_NAME
    atomic_write_text(path, yaml.safe_dump(_plain(config), allow_unicode=True, sort_keys=False))
    return path


def update_thresholds(path: str | Path, image_norm: float | None = None, pixel_norm: float | None = None) -> None:
    """Persist new normalized decision thresholds in a run's config.yaml (no score is recomputed)."""
    config = read_config(path)
    if image_norm is not None:
        config["normalization"]["image_norm"] = float(image_norm)
    if pixel_norm is not None:
        config["normalization"]["pixel_norm"] = float(pixel_norm)
    atomic_write_text(_run_dir(path) / CONFIG_NAME, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))


def load_run(path: str | Path, accelerator: str = "auto", batch_size: int | None = None) -> LoadedRun:
    """Load a run for prediction (``path`` = config.yaml or its folder; ``batch_size`` None = the run's).

    Raises:
        ModelFileError: missing, damaged or newer-format files.
    """
    run_dir = _run_dir(path)
    config = read_config(run_dir)
    weights = run_dir / config.get("weights", WEIGHTS_PATH.as_posix())
    try:
        tensors = load_file(str(weights))
    except (OSError, SafetensorError, ValueError) as error:
        raise ModelFileError(f"cannot read model weights {weights}: {error}") from error
    try:
        overrides = {"device": accelerator, **({"batch_size": int(batch_size)} if batch_size else {})}
        detector = create_detector(config["model"], {**config["detector"], **overrides})
        detector.load_state_settings(config["state"])
        detector.load_state_tensors(tensors)
        detector.load_head(tensors)
        normalization = Normalization.from_dict(config["normalization"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{run_dir / CONFIG_NAME} is damaged or incomplete: {error}") from error
    return LoadedRun(run_dir, config, detector, normalization)


@dataclass
class RunInfo:
    """A trained run as listed by the app."""

    run_dir: Path
    created: str
    model: str
    backbone: str
    category: str
    metrics: dict[str, Any] = field(default_factory=dict)


def list_runs(root: str | Path, errors: list[tuple[Path, str]] | None = None) -> list[RunInfo]:
    """Every readable run below ``root``, newest first.

    Runs that cannot be read (damaged, newer format) are left out; with ``errors`` given, (folder, message) pairs
    are appended to it.
    """
    runs = []
    for config_path in Path(root).rglob(CONFIG_NAME):
        try:
            config = read_config(config_path)
        except ModelFileError as error:
            if errors is not None:
                errors.append((config_path.parent, str(error)))
            continue
        settings = config.get("settings", {})
        runs.append(RunInfo(config_path.parent, str(config.get("created", "")), config["model"],
                            config.get("detector", {}).get("backbone", ""), str(settings.get("category", "")),
                            config.get("metrics", {})))
    return sorted(runs, key=lambda run: run.created, reverse=True)


def _plain(value: Any) -> Any:
    """Convert numpy/torch/Path values to YAML-safe builtins."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def dump_json(path: str | Path, data: Any) -> None:
    """Atomic JSON write (UTF-8, non-ASCII kept)."""
    atomic_write_text(path, json.dumps(_plain(data), ensure_ascii=False, indent=2, allow_nan=True))
