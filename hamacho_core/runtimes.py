"""onnxruntime and OpenVINO opened in full float32: the one place every model session of this project is opened.

The same picture must get the same score from PyTorch, onnxruntime and OpenVINO on any CPU. OpenVINO's CPU plugin
computes in bfloat16 by default on processors that have it (AVX512-BF16, AMX: most current Xeon and EPYC servers),
which moved battery_weld's raw scores by up to 11 % and flipped verdicts; its ``EXECUTION_MODE_HINT`` PERFORMANCE
(the default) also allows other reduced-precision shortcuts. :data:`OPENVINO_CONFIG` pins both: float32 inference,
ACCURACY mode. onnxruntime's CPU provider computes float32 graphs in float32; :func:`onnx_session_options` also
turns off explicitly the one reduced-precision switch it has (bfloat16 fast math for matrix products, on Arm) so
that a future default cannot change it silently.

Used by the exported-model engines (``export.engines``), the export check (``export.exporter``), the CPU kernels of
training and inference (``cpu_kernels``), the benchmarks and the tests; :func:`precision_settings` is what
``hamacho-model.json`` records. onnxruntime and OpenVINO are imported only when a session is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ONNX_CONFIG_ENTRIES", "OPENVINO_CONFIG", "compiled_precision", "cpu_has_bf16", "onnx_session",
           "onnx_session_options", "openvino_model", "precision_settings"]

# OpenVINO compile properties (the same keys as ``openvino.properties.hint.*``)
OPENVINO_CONFIG: dict[str, str] = {"INFERENCE_PRECISION_HINT": "f32", "EXECUTION_MODE_HINT": "ACCURACY"}
# onnxruntime session config entries: no reduced-precision matrix products
ONNX_CONFIG_ENTRIES: dict[str, str] = {"mlas.enable_gemm_fastmath_arm64_bfloat16": "0"}


def onnx_session_options(n_threads: int | None = None, quiet: bool = False) -> Any:
    """onnxruntime ``SessionOptions`` in float32 (see module docstring).

    Args:
        n_threads: intra-op threads (None = onnxruntime's default); with a number, no busy-waiting between calls
            either (the caller's other work needs those cores).
        quiet: log errors only.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    for key, value in ONNX_CONFIG_ENTRIES.items():
        options.add_session_config_entry(key, value)
    if n_threads is not None:
        options.intra_op_num_threads = max(1, n_threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if quiet:
        options.log_severity_level = 3
    return options


def onnx_session(model: str | Path | bytes, options: Any | None = None) -> Any:
    """An onnxruntime CPU session of ``model`` (a file or the serialized graph) with float32 options."""
    import onnxruntime

    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options if options is not None else onnx_session_options(),
                                        providers=["CPUExecutionProvider"])


def openvino_model(model_path: str | Path) -> Any:
    """An OpenVINO model compiled for the CPU with :data:`OPENVINO_CONFIG` (float32, ACCURACY mode)."""
    import openvino

    return openvino.Core().compile_model(str(model_path), "CPU", dict(OPENVINO_CONFIG))


def compiled_precision(compiled: Any) -> str:
    """The inference precision an OpenVINO compiled model really uses ("f32", "bf16", ...)."""
    value = compiled.get_property("INFERENCE_PRECISION_HINT")
    return str(value.get_type_name() if hasattr(value, "get_type_name") else value).lower()


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin can compute in bfloat16 on this machine (AVX512-BF16 or AMX)."""
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def precision_settings(engine: str) -> dict[str, Any]:
    """The precision settings of ``engine`` ("onnx" | "openvino"), as ``hamacho-model.json`` records them."""
    if engine == "openvino":
        return {"engine": "openvino", "device": "CPU", "compile_config": dict(OPENVINO_CONFIG)}
    return {"engine": "onnx", "provider": "CPUExecutionProvider", "session_config": dict(ONNX_CONFIG_ENTRIES)}
