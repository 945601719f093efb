"""The inference engine seam: the same predictions through PyTorch, onnxruntime or OpenVINO.

``open_run(config_path, engine, accelerator, model_dir)`` returns a :class:`~hamacho_core.persistence.LoadedRun`
whose ``detector`` predicts with the chosen engine:

* ``torch``: the run itself (``load_run``).
* ``onnx`` / ``openvino``: an :class:`ExportedModel` read from ``model_dir``, or, when no folder is given, from the
  run's own cache ``<run>/exported/<engine>/``, exported there on first use and again whenever the run's weights
  change (the export records their SHA-256). Thresholds and normalization always come from the run's config.yaml,
  as with ``torch``, so a threshold moved in the app applies to every engine.

Pictures are decoded, resized and normalized by the same code as the PyTorch path (``preprocess.batches``); the
exported engines run on the CPU, opened in float32 by ``hamacho_core.runtimes`` (OpenVINO would otherwise compute in
bfloat16 on CPUs that have it).
"""

from __future__ import annotations

from pathlib import Path

from hamacho_core.choices import INFERENCE_ENGINES
from hamacho_core.detectors.base import CPU_FORWARD_BATCH
from hamacho_core.errors import ConfigError, ModelFileError
from hamacho_core.export.exporter import export_run, weights_digest
from hamacho_core.export.model import EngineConfig, ExportedModel, read_manifest
from hamacho_core.persistence import LoadedRun, load_run, read_config
from hamacho_core.thresholds import Normalization

__all__ = ["INFERENCE_ENGINES", "EngineConfig", "ExportedModel", "cache_dir", "open_run"]

CACHE_FOLDER = "exported"


def cache_dir(run_dir: str | Path, engine: str) -> Path:
    """Where ``open_run`` keeps a run's own export for ``engine``."""
    return Path(run_dir) / CACHE_FOLDER / engine


def _ensure_export(run_dir: Path, engine: str, model_dir: str | Path | None) -> Path:
    digest = weights_digest(run_dir)
    if model_dir is not None:
        folder = Path(model_dir)
        manifest = read_manifest(folder)
        if manifest.get("engine") != engine:
            raise ConfigError(f"{folder} holds a {manifest.get('engine')} export: use --engine "
                              f"{manifest.get('engine')} or export again with --format {engine}")
        if manifest.get("weights_sha256") != digest:
            raise ModelFileError(f"{folder} was exported from another run or from older weights of this one: "
                                 "export this run again (hamacho export)")
        return folder
    folder = cache_dir(run_dir, engine)
    try:
        current = read_manifest(folder).get("weights_sha256") == digest
    except ModelFileError:
        current = False
    if not current:
        export_run(run_dir, folder, engine)
    return folder


def open_run(
    config_path: str | Path, engine: str = "torch", accelerator: str = "auto", model_dir: str | Path | None = None,
    batch_size: int | None = None,
) -> LoadedRun:
    """Load a run for prediction with ``engine`` (see module docstring); ``batch_size`` None = the default.

    Raises:
        ConfigError: unknown engine, or a model folder of another engine. ModelFileError: unreadable run or
        export, or an export of other weights.
    """
    if engine not in INFERENCE_ENGINES:
        raise ConfigError(f"unknown engine {engine!r}: use one of {', '.join(INFERENCE_ENGINES)}")
    if engine == "torch":
        if model_dir is not None:
            raise ConfigError("--model-dir is for --engine onnx or openvino")
        return load_run(config_path, accelerator, batch_size=batch_size)
    config = read_config(config_path)
    path = Path(config_path)
    run_dir = path.parent if path.suffix in (".yaml", ".yml") else path
    folder = _ensure_export(run_dir, engine, model_dir)
    try:
        normalization = Normalization.from_dict(config["normalization"])
    except (KeyError, TypeError) as error:
        raise ModelFileError(f"{run_dir / 'config.yaml'} is damaged or incomplete: {error}") from error
    model = ExportedModel(folder, EngineConfig(batch_size=batch_size or CPU_FORWARD_BATCH))
    return LoadedRun(run_dir, config, model, normalization)  # type: ignore[arg-type]  # same predict contract


