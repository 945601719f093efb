"""An exported model folder as a predictor: ``hamacho-model.json`` read and checked (:func:`read_manifest`), the
model opened in float32 (``hamacho_core.runtimes``) with the detector's ``predict`` contract (:class:`ExportedModel`).

Kept apart from the exporter, which checks every export by running it through this class, and from the engine seam
(``engines.open_run``), which exports on first use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core.detectors.base import CPU_FORWARD_BATCH, BatchCallback, Prediction
from hamacho_core.errors import ModelFileError
from hamacho_core.preprocess import ImageSource, InputShape, ShapeReason, batches
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.runtimes import onnx_session, openvino_model

__all__ = ["EXPORT_FORMAT_VERSION", "MANIFEST_NAME", "MODEL_FILES", "EngineConfig", "ExportedModel", "read_manifest"]

EXPORT_FORMAT_VERSION = 1
MANIFEST_NAME = "hamacho-model.json"
MODEL_FILES = {"onnx": ("model.onnx",), "openvino": ("model.xml", "model.bin")}


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
        self.input_shape_ = InputShape(int(source["height"]), int(source["width"]), ShapeReason("exported"))
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
        notify(progress, 0, len(images), "predicting")
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
            notify(progress, done, len(images), "predicting")
        if not scores:
            return Prediction(np.zeros(0, np.float32), np.zeros((0, *self.input_shape_.as_tuple()), np.float32), [])
        return Prediction(np.concatenate(scores), np.concatenate(maps), sizes)


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    """Read and check ``hamacho-model.json`` of an export folder.

    Raises:
        ModelFileError: missing, damaged, or written by a newer hamacho.
    """
    path = Path(model_dir) / MANIFEST_NAME
    if not path.is_file():
        raise ModelFileError(f"no exported model in {model_dir}: {MANIFEST_NAME} not found (run hamacho export)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelFileError(f"{path} is damaged: {error}") from error
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int) or manifest.get("format") != "hamacho-model":
        raise ModelFileError(f"{path} is not a hamacho model description")
    if version > EXPORT_FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer hamacho (format {version}): update hamacho")
    for name in MODEL_FILES.get(manifest.get("engine"), ("?",)):
        if not (Path(model_dir) / name).is_file():
            raise ModelFileError(f"{Path(model_dir) / name} is missing: export the run again")
    return manifest
