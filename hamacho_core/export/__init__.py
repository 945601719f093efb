"""Portable models: ``hamacho export`` to ONNX / OpenVINO, and the inference engines that run them.

onnx, onnxruntime and openvino are imported only when a model is exported or opened.
"""

from __future__ import annotations

from hamacho_core.export.engines import INFERENCE_ENGINES, ExportedModel, open_run
from hamacho_core.export.exporter import EXPORT_FORMATS, MANIFEST_NAME, ExportResult, export_run, read_manifest
from hamacho_core.export.graph import DetectorGraph, create_graph

__all__ = ["EXPORT_FORMATS", "INFERENCE_ENGINES", "MANIFEST_NAME", "DetectorGraph", "ExportResult", "ExportedModel",
           "create_graph", "export_run", "open_run", "read_manifest"]
