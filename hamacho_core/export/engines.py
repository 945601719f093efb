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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core.choices import INFERENCE_ENGINES
from hamacho_core.detectors.base import CPU_FORWARD_BATCH, BatchCallback, Prediction
from hamacho_core.errors import ConfigError, ModelFileError
from hamacho_core.export.exporter import export_run, read_manifest, weights_digest
from hamacho_core.persistence import LoadedRun, load_run, read_config
from hamacho_core.preprocess import ImageSource, InputShape, batches
from hamacho_core.progress import ProgressCallback, report
from hamacho_core.runtimes import onnx_session, openvino_model
from hamacho_core.thresholds import Normalization

__all__ = ["ENGINES", "EngineConfig", "ExportedModel", "cache_dir", "open_run"]

ENGINES = INFERENCE_ENGINES
CACHE_FOLDER = "exported"


@dataclass
class EngineConfig:
    """Settings of an exported model at prediction time (the fields ``infer`` may change)."""

    batch_size: int = CPU_FORWARD_BATCH  # pictures per call
    n_threads: int = 2  # image decoding threads


class ExportedModel:
    """An exported model (``hamacho export`` folder) with the detector's ``predict`` contract.

    Attributes:
        manifest: the folder's hamacho-model.json.
        input_shape_: the model input (the canvas when tiled).
        session_: the onnxruntime session or OpenVINO compiled model.
    """

    def __init__(self, model_dir: str | Path, config: EngineConfig | None = None):
        self.model_dir = Path(model_dir)
        self.manifest = read_manifest(model_dir)
        self.config = config or EngineConfig()
        source = self.manifest["input"]
        self.input_shape_ = InputShape(int(source["height"]), int(source["width"]), "exported")
        self.name = str(self.manifest["model"])
        self._run = self._open()

    @property
    def engine(self) -> str:
        return str(self.manifest["engine"])

    def _open(self) -> Any:
        """The model's session (float32 pinned: ``hamacho_core.runtimes``) and its call."""
        model_path = self.model_dir / self.manifest["model_file"]
        if self.engine == "onnx":
            self.session_ = onnx_session(model_path)
            return lambda images: self.session_.run(None, {self.manifest["input"]["name"]: images})
        self.session_ = openvino_model(model_path)
        return lambda images: [value for value in self.session_(images).values()]

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Args: images (B, 3, H, W) float32, normalized. Returns: scores (B,), maps (B, H, W)."""
        scores, maps = self._run(np.ascontiguousarray(images, dtype=np.float32))
        return np.asarray(scores, np.float32), np.asarray(maps, np.float32)

    def predict(self, images: Sequence[ImageSource], progress: ProgressCallback | None = None,
                on_batch: BatchCallback | None = None) -> Prediction:
        """Score pictures (paths or RGB uint8 arrays). Returns: :class:`Prediction` as ``Detector.predict``
        (``on_batch`` too: the output writer draws a batch while the next one is scored)."""
        source = self.manifest["input"]
        scores, maps, sizes, done = [], [], [], 0
        decoded: list[np.ndarray] | None = [] if on_batch is not None else None
        report(progress, 0, len(images), "predicting")
        for batch, batch_sizes in batches(images, self.input_shape_, source["mean"], source["std"],
                                          self.config.batch_size, self.config.n_threads, decoded):
            batch_scores, batch_maps = self.run(batch.numpy())
            scores.append(batch_scores)
            maps.append(batch_maps)
            if on_batch is not None:
                on_batch(len(sizes), batch_scores, batch_maps, decoded[:len(batch_sizes)])
                del decoded[:len(batch_sizes)]
            sizes += batch_sizes
            done += len(batch_sizes)
            report(progress, done, len(images), "predicting")
        if not scores:
            return Prediction(np.zeros(0, np.float32), np.zeros((0, *self.input_shape_.as_tuple()), np.float32), [])
        return Prediction(np.concatenate(scores), np.concatenate(maps), sizes)


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
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
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


