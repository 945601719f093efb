"""Faster kernels for the hot loops of a CPU job: the backbone, PatchCore's nearest-neighbour search, the map blur.

On this project's CPUs PyTorch eager leaves much of the speed unused: ``torch.mm`` goes through MKL, which on AMD
processors runs the (2,048 x 152) x (152 x 5,683) distance product in 83 ms where onnxruntime's MLAS takes 30 ms,
the backbone runs unfused and a one-channel blur runs slowly. These three loops therefore leave PyTorch in CPU jobs;
PyTorch does everything else.

**Backbone** (:class:`BackboneRuntime`). PyTorch runs the default backbone (``tf_efficientnet_lite0``: depthwise
convolutions, TF "same" padding computed from the input size) at about 60 ms per 256 x 384 picture on 2 cores;
onnxruntime runs the same truncated network, traced for one fixed input shape (so the padding arithmetic folds into
constants and the convolution, batch norm and activation fuse), at about 13 ms. The feature maps agree to a few 1e-6
of their range, the image scores to about 1e-5 relative (``tests/unit/test_cpu_kernels.py``, docs/benchmarks.md).

:class:`BackboneRuntime` belongs to one :class:`~hamacho_core.backbone.FeatureExtractor`. ``prepare(height, width)``
traces the backbone for one picture of that size and opens an onnxruntime session. The trace (about 1.4 s in a new
process, 0.5 s after: ``torch.onnx`` and the export) is kept, keyed by the weights, the stages, the size and the
torch and timm versions, in this process and in ``$HAMACHO_CACHE_DIR`` (default ``~/.cache/hamacho``; empty: no
files), so a CLI job, a job worker or a new extractor of the same backbone opens the session in a few ms. The cache
only ever saves time: a file that is missing, unreadable or refused by onnxruntime is traced again and rewritten.
``run(images)`` then answers batches of that size one picture per call (as fast per picture as a traced batch of 8
here, with an eighth of the activations in memory). Detectors prepare it only for CPU jobs of at least
:data:`MIN_INPUTS` model inputs, where a first trace pays for itself; GPU runs, small jobs and any size whose trace
or session fails (reported once as a warning) stay on PyTorch.

**Nearest neighbour** (:func:`nearest_session`). One small ONNX graph built from the bank (no tracing, about
10 ms): ``Gemm(queries, bank_t, bank_norms, alpha=-2)`` then ``ReduceMin`` and ``ArgMin`` over the bank, the bank
a constant that MLAS packs once. It only ranks: the distance to the entry found is then taken from the difference
of the two vectors (``neighbours._exact``), as on every other path, so the rounding of ||q||^2 + ||b||^2 - 2 q.b,
which differs between libraries at small distances (up to 0.009 on battery_weld's maps of 3-41), never reaches a
score. The nearest entries are the same except for near ties.

**Map blur** (:func:`separable_filter`). The Gaussian blur of the anomaly maps is two 1-D convolutions; PyTorch
runs a one-channel ``conv2d`` at about 1 GFLOP/s; OpenCV's ``sepFilter2D`` (same kernels, same reflected padding,
valid part kept) is about 3x faster (8 maps of 256 x 384: 18 ms against 52) and equal to about 1e-6 relative.

``HAMACHO_CPU_ENGINE=torch`` turns all three off (PyTorch everywhere: bit-for-bit the results of the PyTorch path).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hamacho_core.runtimes import onnx_session, onnx_session_options

__all__ = ["CACHE_VARIABLE", "ENGINE_VARIABLE", "MIN_INPUTS", "BackboneRuntime", "fast_kernels_enabled",
           "nearest_graph", "nearest_session", "runtime_enabled", "separable_filter", "trace_cache_dir"]

ENGINE_VARIABLE = "HAMACHO_CPU_ENGINE"  # auto (default): onnxruntime for CPU jobs; torch: PyTorch only
CACHE_VARIABLE = "HAMACHO_CACHE_DIR"  # where backbone traces are kept (default ~/.cache/hamacho; empty: nowhere)
TRACE_FORMAT = 1  # raise when BackboneStages' forward or the export arguments change: older traces are not used
KEEP_TRACES = 24  # trace files kept on disk (the least recently used are removed); in memory: KEEP_IN_MEMORY
KEEP_IN_MEMORY = 6
MIN_INPUTS = 24  # model inputs (pictures or tiles) from which tracing (~1 s) costs less than it saves
_LOG = logging.getLogger(__name__)


def fast_kernels_enabled() -> bool:
    """Whether CPU jobs may leave PyTorch for the hot loops (``HAMACHO_CPU_ENGINE`` is not ``torch``)."""
    choice = os.environ.get(ENGINE_VARIABLE, "auto").strip().lower()
    if choice not in ("", "auto", "torch"):
        warnings.warn(f"{ENGINE_VARIABLE}={choice!r} is not auto or torch: using auto", stacklevel=2)
    return choice != "torch"


def runtime_enabled() -> bool:
    """Whether CPU jobs may run on onnxruntime (``fast_kernels_enabled`` and the package installed)."""
    if not fast_kernels_enabled():
        return False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def separable_filter(padded: torch.Tensor, row: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
    """``conv2d(conv2d(padded, row), column)`` (valid part) by OpenCV's vectorised ``sepFilter2D``.

    Args: padded (B, 1, H + len(column) - 1, W + len(row) - 1) on the CPU; row, column: 1-D symmetric kernels.
    Returns: (B, 1, H, W), the dtype of ``padded``.
    """
    import cv2

    pad_h, pad_w = (len(column) - 1) // 2, (len(row) - 1) // 2
    source = padded.detach().contiguous().numpy()
    batch, _, height, width = source.shape
    out = np.empty((batch, 1, height - 2 * pad_h, width - 2 * pad_w), source.dtype)
    depth = cv2.CV_64F if source.dtype == np.float64 else cv2.CV_32F
    kx, ky = row.detach().cpu().numpy().astype(source.dtype), column.detach().cpu().numpy().astype(source.dtype)
    for index in range(batch):  # the border is cropped away: only the valid part is kept
        full = cv2.sepFilter2D(source[index, 0], depth, kx, ky, borderType=cv2.BORDER_CONSTANT)
        out[index, 0] = full[pad_h:height - pad_h, pad_w:width - pad_w]
    return torch.from_numpy(out)


def _session_options() -> Any:
    # the same core budget as PyTorch, no busy-waiting between calls (PyTorch's work between them and the report
    # writers need those cores); float32 pinned by the one home of session settings (``runtimes``)
    return onnx_session_options(torch.get_num_threads(), quiet=True)


def nearest_session(bank: torch.Tensor) -> Any | None:
    """An onnxruntime session: queries (Q, D) -> (||b||^2 - 2 q.b of the nearest entry (Q, 1), its index (Q, 1)).

    Returns None when onnxruntime is off or unavailable, or refuses the graph (then PyTorch searches).
    """
    if not runtime_enabled():
        return None
    try:
        array = bank.detach().float().cpu().numpy()
        return onnx_session(nearest_graph(np.ascontiguousarray(array.T), (array * array).sum(axis=1)),
                            _session_options())
    except Exception as error:  # noqa: BLE001 - an onnxruntime refusal: PyTorch searches
        _LOG.warning("nearest-neighbour search stays on PyTorch (onnxruntime: %s: %s)", type(error).__name__, error)
        return None


# The 1-NN graph, serialized here in protobuf's wire format: the ``onnx`` package's helpers would cost every job
# process 0.6-0.7 s of imports (onnx -> ml_dtypes) for three nodes. Field numbers are onnx.proto's (IR version 8,
# opset 17); tests/unit/test_cpu_kernels.py reads the bytes back with the onnx package and checks every field.
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:  # length-delimited: strings, bytes, messages
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _integer(number: int, value: int) -> bytes:  # varint (value >= 0)
    return _varint(number << 3) + _varint(value)


def _attribute(name: str, value: float | int | list[int]) -> bytes:
    if isinstance(value, float):  # AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7)
        return _field(1, name.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", value) + _integer(20, 1)
    if isinstance(value, int):
        return _field(1, name.encode()) + _integer(3, value) + _integer(20, 2)
    return _field(1, name.encode()) + b"".join(_integer(8, v) for v in value) + _integer(20, 7)


def _node(op_type: str, inputs: list[str], outputs: list[str], **attributes: float | int | list[int]) -> bytes:
    named = sorted(attributes.items())  # onnx.helper's order
    return (b"".join(_field(1, n.encode()) for n in inputs) + b"".join(_field(2, n.encode()) for n in outputs)
            + _field(4, op_type.encode()) + b"".join(_field(5, _attribute(k, v)) for k, v in named))


def _value_info(name: str, elem_type: int, dims: list[int | str]) -> bytes:
    shape = b"".join(_field(1, _field(2, d.encode()) if isinstance(d, str) else _integer(1, d)) for d in dims)
    return _field(1, name.encode()) + _field(2, _field(1, _integer(1, elem_type) + _field(2, shape)))


def _tensor(name: str, array: np.ndarray) -> bytes:  # float32, raw little-endian data
    return (b"".join(_integer(1, d) for d in array.shape) + _integer(2, 1) + _field(8, name.encode())
            + _field(9, np.ascontiguousarray(array, "<f4").tobytes()))


def nearest_graph(bank_t: np.ndarray, bank_norms: np.ndarray) -> bytes:
    """The serialized ONNX model of the 1-NN search: ``Gemm(queries, bank_t, bank_norms, alpha=-2)`` then
    ``ReduceMin`` and ``ArgMin`` over the bank (the bank (D, M) and its squared norms (M,) are initializers).
    FLOAT = 1 and INT64 = 7 in onnx's TensorProto.DataType."""
    depth = int(bank_t.shape[0])
    graph = (_field(1, _node("Gemm", ["queries", "bank_t", "bank_norms"], ["partial"], alpha=-2.0, beta=1.0))
             + _field(1, _node("ReduceMin", ["partial"], ["values"], keepdims=1, axes=[1]))
             + _field(1, _node("ArgMin", ["partial"], ["indices"], axis=1, keepdims=1))
             + _field(2, b"nearest")
             + _field(5, _tensor("bank_t", bank_t)) + _field(5, _tensor("bank_norms", bank_norms))
             + _field(11, _value_info("queries", 1, ["Q", depth]))
             + _field(12, _value_info("values", 1, ["Q", 1])) + _field(12, _value_info("indices", 7, ["Q", 1])))
    opset = _field(1, b"") + _integer(2, 17)  # OperatorSetIdProto: domain "", version 17
    return _integer(1, 8) + _field(7, graph) + _field(8, opset)  # ModelProto: ir_version 1, graph 7, opset_import 8


# ------------------------------------------------------------------------------------------------ trace cache
_TRACES: OrderedDict[str, bytes] = OrderedDict()  # this process's traces, the most recently used last


def trace_cache_dir() -> Path | None:
    """The folder of kept backbone traces: ``$HAMACHO_CACHE_DIR/backbone-onnx`` (default under
    ``$XDG_CACHE_HOME`` or ``~/.cache``, in ``hamacho/``); None when the variable is set empty."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured is not None and not configured.strip():
        return None
    if configured:
        return Path(configured).expanduser() / "backbone-onnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hamacho" / "backbone-onnx"


def _trace_key(module: nn.Module, height: int, width: int) -> str:
    """What the trace depends on: every tensor of the module (bytes, shape, dtype), its classes and stages, the
    input size, the torch and timm versions and :data:`TRACE_FORMAT`."""
    import timm

    model = getattr(module, "model", module)
    architecture = (getattr(model, "pretrained_cfg", None) or {}).get("architecture", "")
    digest = hashlib.sha256(f"{TRACE_FORMAT}|{torch.__version__}|{timm.__version__}|{type(module).__qualname__}|"
                            f"{type(model).__module__}.{type(model).__qualname__}|{architecture}|"
                            f"{getattr(module, 'indices', '')}|{height}x{width}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:40]


def _read_trace(key: str) -> bytes | None:
    if key in _TRACES:
        _TRACES.move_to_end(key)
        return _TRACES[key]
    folder = trace_cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.onnx"
    try:
        graph = path.read_bytes()
        os.utime(path)  # recently used: kept longest
    except OSError:
        return None
    _remember(key, graph)
    return graph


def _remember(key: str, graph: bytes) -> None:
    _TRACES[key] = graph
    _TRACES.move_to_end(key)
    while len(_TRACES) > KEEP_IN_MEMORY:
        _TRACES.popitem(last=False)


def _keep_trace(key: str, graph: bytes) -> None:
    """Keep the trace in memory and, when the cache folder can be written, as a file (temporary file + rename: a
    reader sees a whole file or none); then remove the least recently used files beyond :data:`KEEP_TRACES`. A
    cache that cannot be written is skipped: it only costs the next process the trace."""
    _remember(key, graph)
    folder = trace_cache_dir()
    if folder is None:
        return
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(graph)
        os.replace(temporary, folder / f"{key}.onnx")
        temporary = None
        kept = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP_TRACES:]:
            old.unlink(missing_ok=True)
    except OSError as error:
        _LOG.info("backbone trace not kept in %s: %s", folder, error)
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


class BackboneRuntime:
    """onnxruntime sessions of one backbone, one per input height and width it was prepared for."""

    def __init__(self, stages: nn.Module):
        """Args: stages: the backbone as a plain traceable module (``FeatureExtractor.stages()``)."""
        self._module = stages
        self._sessions: dict[tuple[int, int], Any] = {}
        self._failed: set[tuple[int, int]] = set()

    def prepare(self, height: int, width: int) -> bool:
        """Trace and open a session for (3, height, width) inputs. Returns: whether it is ready."""
        key = (height, width)
        if key in self._sessions:
            return True
        if key in self._failed or not runtime_enabled():
            return False
        try:
            self._sessions[key] = self._open(height, width)
        except Exception as error:  # noqa: BLE001 - any exporter or runtime refusal: this shape stays on PyTorch
            self._failed.add(key)
            _LOG.warning("backbone stays on PyTorch for %d x %d inputs (onnxruntime: %s: %s)",
                         height, width, type(error).__name__, error)
            return False
        return True

    def _open(self, height: int, width: int) -> Any:
        key = _trace_key(self._module, height, width)
        graph = _read_trace(key)
        if graph is not None:
            try:
                return onnx_session(graph, _session_options())
            except Exception as error:  # noqa: BLE001 - a damaged or foreign file: trace again, replace it
                _LOG.info("backbone trace %s refused by onnxruntime (%s): traced again", key, error)
        graph = self._export(height, width)
        session = onnx_session(graph, _session_options())
        _keep_trace(key, graph)
        return session

    def _export(self, height: int, width: int) -> bytes:
        buffer = io.BytesIO()
        example = torch.zeros(1, 3, height, width)  # one picture: the trace's own forward stays small
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript-exporter deprecation and tracer notes
            torch.onnx.export(self._module, (example,), buffer, dynamo=False, opset_version=17,
                              input_names=["images"])
        return buffer.getvalue()

    def has(self, height: int, width: int) -> bool:
        """Whether a session for this height and width is open."""
        return (height, width) in self._sessions

    def ready(self, images: torch.Tensor) -> bool:
        """Whether ``run`` can take this batch (a CPU tensor of a prepared height and width)."""
        return images.device.type == "cpu" and tuple(images.shape[-2:]) in self._sessions

    def run(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images (B, 3, H, W) float32 on the CPU, normalized. Returns: the stages' maps, as PyTorch's."""
        session = self._sessions[tuple(images.shape[-2:])]
        array = images.detach().float().contiguous().numpy()
        # one picture per call: as fast per picture as batches of 8 here, with an eighth of the activations
        outputs = [session.run(None, {"images": array[index:index + 1]}) for index in range(len(array))]
        return [torch.from_numpy(np.concatenate(stage)) for stage in zip(*outputs, strict=True)]
