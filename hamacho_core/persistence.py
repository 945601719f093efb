"""Run folders: settings in YAML, tensors in safetensors, written atomically; loading never unpickles.

Layout of a run (``<result-path>/<category>/<model>/``)::

    config.yaml                  settings, thresholds, normalization, input shape, format version
    weights/model.safetensors    the detector's learned tensors
    evaluation.safetensors/json  test scores and small anomaly maps for the threshold page
    test_predictions/            the old tool's output tree (see report.py)

A run is written under a hidden temporary name and renamed into place when complete
(:func:`hamacho_core.staging.staged_run_dir`): :func:`list_runs` skips hidden folders. The generic atomic writes
are in :mod:`hamacho_core.atomic`; both are re-exported here under their old names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from hamacho_core.atomic import atomic_write_bytes, atomic_write_text, dump_json, plain
from hamacho_core.choices import LEGACY_SCORE_TOP_SHARE
from hamacho_core.detectors import Detector, create_detector
from hamacho_core.errors import ModelFileError, WorkspaceError
from hamacho_core.staging import clean_interrupted, interrupted_runs, staged_run_dir
from hamacho_core.thresholds import SAVED_NAMES, Normalization
from hamacho_core.workspace import inside

__all__ = [
    "FORMAT_VERSION",
    "LoadedRun",
    "RunInfo",
    "atomic_write_bytes",
    "atomic_write_text",
    "clean_interrupted",
    "dump_json",
    "interrupted_runs",
    "is_complete",
    "list_runs",
    "load_run",
    "read_config",
    "save_run",
    "staged_run_dir",
    "update_thresholds",
]

FORMAT_VERSION = 1
CONFIG_NAME = "config.yaml"
WEIGHTS_PATH = Path("weights") / "model.safetensors"
EVALUATION_FILES = ("evaluation.json", "evaluation.safetensors")  # written last by training (hamacho_core.evaluation)


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
    _check_sections(config, config_path)
    return config


def _check_sections(config: dict[str, Any], config_path: Path) -> None:
    """The sections the pages read have the types they expect (a hand-edited or damaged file is refused here)."""
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    normalization = config.get("normalization")
    needed = [SAVED_NAMES.get(f, f) for f in Normalization.__dataclass_fields__ if f != "method"]  # keys in the file
    problems = []
    if not isinstance(config["model"], str):
        problems.append("model is not a name")
    if not isinstance(normalization, dict) or not isinstance(normalization.get("method"), str):
        problems.append("normalization is missing")
    else:
        problems += [f"normalization.{key} is not a number" for key in needed
                     if key in normalization or key not in ("image_norm", "pixel_norm")
                     if not number(normalization.get(key))]
    problems += [f"{key} is not a mapping" for key in ("detector", "state", "settings", "metrics")
                 if config.get(key) is not None and not isinstance(config[key], dict)]
    if problems:
        raise ModelFileError(f"{config_path} is damaged ({'; '.join(problems)}): train the run again or restore "
                             "the file")


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
        "created": datetime.now().isoformat(timespec="microseconds"),  # orders it against label changes
        "model": detector.name,
        "detector": detector.config.to_dict(),
        "state": detector.state_settings(),
        "normalization": normalization.to_dict(),
        "settings": settings,
        "metrics": metrics or {},
        "weights": WEIGHTS_PATH.as_posix(),
    }
    path = run_dir / CONFIG_NAME
    atomic_write_text(path, yaml.safe_dump(plain(config), allow_unicode=True, sort_keys=False))
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
    name = str(config.get("weights", WEIGHTS_PATH.as_posix()))
    try:
        tensors = load_file(str(inside(run_dir, name)))
    except (OSError, SafetensorError, ValueError, WorkspaceError) as error:
        raise ModelFileError(f"cannot read model weights {name} in {run_dir}: {error}") from error
    try:
        overrides = {"device": accelerator, **({"batch_size": int(batch_size)} if batch_size else {})}
        legacy = {"score_top_share": LEGACY_SCORE_TOP_SHARE}  # runs saved before the setting: the maximum
        detector = create_detector(config["model"], {**legacy, **config["detector"], **overrides})
        detector.load_state_settings(config["state"])
        detector.load_state_tensors(tensors)
        detector.load_head(tensors)
        normalization = Normalization.from_dict(config["normalization"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise ModelFileError(f"{run_dir / CONFIG_NAME} is damaged or incomplete: {error}") from error
    return LoadedRun(run_dir, config, detector, normalization)


@dataclass
class RunInfo:
    """A trained run as listed by the app and the API."""

    run_dir: Path
    created: str
    model: str
    backbone: str
    category: str
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict, repr=False)  # its config.yaml, as read


def is_complete(run_dir: str | Path) -> bool:
    """True when the run can be loaded and its thresholds set: config.yaml, the weights and the evaluation are there.

    (Training writes the evaluation last; a run saved with :func:`save_run` alone has no evaluation.)
    """
    run_dir = Path(run_dir)
    return (run_dir / CONFIG_NAME).is_file() and (run_dir / WEIGHTS_PATH).is_file() and all(
        (run_dir / name).is_file() for name in EVALUATION_FILES)


def list_runs(root: str | Path, errors: list[tuple[Path, str]] | None = None,
              complete_only: bool = False) -> list[RunInfo]:
    """Every readable run below ``root``, newest first (ties in folder order).

    Only published runs are listed: hidden folders (a run still being written, or left by a killed process, see
    :func:`staged_run_dir`) are skipped. Runs that cannot be read (damaged, newer format) are left out; with
    ``errors`` given, (folder, message) pairs are appended to it. With ``complete_only``, runs without their weights
    or evaluation (:func:`is_complete`) are left out too.
    """
    runs = []
    root = Path(root)
    for config_path in sorted(root.rglob(CONFIG_NAME)):
        if any(part.startswith(".") for part in config_path.relative_to(root).parts):
            continue
        if complete_only and not is_complete(config_path.parent):
            continue
        try:
            config = read_config(config_path)
        except (ModelFileError, OSError) as error:
            if errors is not None:
                errors.append((config_path.parent, str(error)))
            continue
        try:
            runs.append(_run_info(config_path.parent, config))
        except (AttributeError, TypeError, KeyError) as error:
            if errors is not None:
                errors.append((config_path.parent, f"{config_path} is damaged: {error}"))
    return sorted(runs, key=lambda run: run.created, reverse=True)


def _run_info(run_dir: Path, config: dict[str, Any]) -> RunInfo:
    settings, detector, metrics = config.get("settings") or {}, config.get("detector") or {}, config.get("metrics")
    return RunInfo(run_dir, str(config.get("created", "")), str(config["model"]), str(detector.get("backbone", "")),
                   str(settings.get("category", "")), dict(metrics or {}), config)
