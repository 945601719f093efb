"""Portable models: ``hamacho export`` to ONNX / OpenVINO, and the inference engines that run them.

onnx, onnxruntime and openvino are imported only when a model is exported or opened.
"""

from __future__ import annotations

from hamacho_core.export.engines import ENGINES, ExportedModel, open_run
from hamacho_core.export.exporter import EXPORT_FORMATS, MANIFEST_NAME, ExportResult, export_run, read_manifest
from hamacho_core.export.graph import DetectorGraph, ScoreHead, create_graph

__all__ = ["ENGINES", "EXPORT_FORMATS", "MANIFEST_NAME", "DetectorGraph", "ExportResult", "ExportedModel",
           "ScoreHead", "create_graph", "export_run", "open_run", "read_manifest"]
