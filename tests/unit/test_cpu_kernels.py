"""onnxruntime for the CPU hot loops (hamacho_core.cpu_kernels): same answers as PyTorch, and PyTorch on request."""

from __future__ import annotations

import pytest
import torch

from hamacho_core import cpu_kernels
from hamacho_core.backbone import create_feature_extractor
from hamacho_core.detectors.base import gaussian_blur
from hamacho_core.neighbours import RUNTIME_MIN_QUERIES, NearestNeighbours


@pytest.fixture
def pytorch_only(monkeypatch):
    monkeypatch.setenv(cpu_kernels.ENGINE_VARIABLE, "torch")


def _bank_and_queries(n_bank: int = 700, n_queries: int = 3000, depth: int = 40):
    generator = torch.Generator().manual_seed(0)
    bank = torch.rand(n_bank, depth, generator=generator)
    queries = torch.rand(n_queries, depth, generator=generator) * 1.2
    return bank, queries


def test_nearest_on_onnxruntime_matches_pytorch(monkeypatch):
    bank, queries = _bank_and_queries()
    fast = NearestNeighbours().fit(bank)
    distances, indices = fast.kneighbors(queries)
    assert fast.session_ is not None  # onnxruntime answered
    monkeypatch.setenv(cpu_kernels.ENGINE_VARIABLE, "torch")
    slow = NearestNeighbours().fit(bank)
    expected_distances, expected_indices = slow.kneighbors(queries)
    assert slow.session_ is None
    assert distances.shape == expected_distances.shape == (len(queries), 1)
    assert indices.dtype == expected_indices.dtype == torch.int64
    torch.testing.assert_close(distances, expected_distances, rtol=1e-5, atol=1e-5)
    # the same entry, or (a near tie) one at the same distance
    chosen = torch.linalg.vector_norm(queries - bank[indices[:, 0]], dim=1)
    torch.testing.assert_close(chosen, expected_distances[:, 0], rtol=1e-5, atol=1e-5)
    assert (indices == expected_indices).float().mean() > 0.99


def test_pytorch_path_is_the_plain_product(pytorch_only):
    bank, queries = _bank_and_queries(n_queries=RUNTIME_MIN_QUERIES * 2)
    search = NearestNeighbours().fit(bank)
    distances, indices = search.kneighbors(queries)
    assert search.session_ is None
    exact = torch.cdist(queries.double(), bank.double())
    assert torch.equal(indices[:, 0], exact.argmin(dim=1))
    torch.testing.assert_close(distances[:, 0].double(), exact.min(dim=1).values, rtol=1e-5, atol=1e-5)


def test_few_queries_and_k_above_one_stay_on_pytorch():
    bank, queries = _bank_and_queries()
    search = NearestNeighbours().fit(bank)
    search.kneighbors(queries[: RUNTIME_MIN_QUERIES - 1])
    search.kneighbors(queries, k=3)
    assert search.session_ is None and not search._session_tried


def test_refit_drops_the_old_banks_session():
    bank, queries = _bank_and_queries()
    search = NearestNeighbours().fit(bank)
    search.kneighbors(queries)
    first = search.session_
    other = bank[:100] + 5.0
    distances, indices = search.fit(other).kneighbors(queries)
    assert search.session_ is not first
    assert int(indices.max()) < 100  # answers from the new bank, not the old one


@pytest.fixture(scope="module")
def extractor():
    return create_feature_extractor()


def test_backbone_on_onnxruntime_matches_pytorch(extractor):
    images = torch.randn(3, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    expected = extractor(images)
    assert extractor.accelerate(64, 96, n_inputs=cpu_kernels.MIN_INPUTS)
    assert extractor._runtime.ready(images)
    got = extractor(images)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4 * float(e.abs().max()))
    # other sizes are still answered, by PyTorch
    assert not extractor._runtime.ready(torch.zeros(5, 3, 96, 64))
    assert [f.shape[0] for f in extractor(torch.zeros(5, 3, 96, 64))] == [5, 5]


def test_small_jobs_and_pytorch_only_do_not_trace(monkeypatch):
    small = create_feature_extractor()
    assert not small.accelerate(64, 64, n_inputs=cpu_kernels.MIN_INPUTS - 1)
    assert small._runtime is None
    monkeypatch.setenv(cpu_kernels.ENGINE_VARIABLE, "torch")
    assert not small.accelerate(64, 64, n_inputs=10_000)
    assert not small._runtime.has(64, 64)


def test_a_refused_trace_leaves_pytorch_answering(monkeypatch, extractor, caplog):
    def refuse(*_):
        raise RuntimeError("operator not supported")

    runtime = cpu_kernels.BackboneRuntime(extractor.stages())
    monkeypatch.setattr(runtime, "_open", refuse)
    assert not runtime.prepare(32, 32)
    assert "stays on PyTorch" in caplog.text
    assert not runtime.prepare(32, 32)  # not retried
    assert not runtime.has(32, 32)


@pytest.mark.parametrize("shape", [(4, 1, 64, 96), (2, 1, 7, 30), (1, 1, 1, 5)])
def test_map_blur_by_opencv_matches_pytorch(shape):
    maps = torch.rand(*shape, generator=torch.Generator().manual_seed(2)) * 20
    expected = gaussian_blur(maps, 4.0)
    got = gaussian_blur(maps, 4.0, fast_cpu=True)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_map_blur_pytorch_only_is_the_plain_convolution(pytorch_only):
    maps = torch.rand(3, 1, 40, 50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(gaussian_blur(maps, 2.0, fast_cpu=True), gaussian_blur(maps, 2.0))


def _no_export(*_, **__):
    raise AssertionError("traced again although the trace was kept")


def test_a_kept_trace_is_used_and_a_damaged_one_replaced(monkeypatch, tmp_path, extractor):
    monkeypatch.setenv(cpu_kernels.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.setattr(cpu_kernels, "_TRACES", cpu_kernels.OrderedDict())
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    first = cpu_kernels.BackboneRuntime(extractor.stages())
    assert first.prepare(64, 64)
    [kept] = (tmp_path / "backbone-onnx").glob("*.onnx")
    expected = first.run(images)

    # a new process (nothing in memory) with the same weights and size: the file, no trace
    monkeypatch.setattr(cpu_kernels, "_TRACES", cpu_kernels.OrderedDict())
    monkeypatch.setattr(torch.onnx, "export", _no_export)
    again = cpu_kernels.BackboneRuntime(extractor.stages())
    assert again.prepare(64, 64)
    for got, want in zip(again.run(images), expected, strict=True):
        assert torch.equal(got, want)
    monkeypatch.undo()

    # a damaged file is traced again and replaced; other weights get a trace of their own
    monkeypatch.setenv(cpu_kernels.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.setattr(cpu_kernels, "_TRACES", cpu_kernels.OrderedDict())
    kept.write_bytes(b"not an onnx graph")
    assert cpu_kernels.BackboneRuntime(extractor.stages()).prepare(64, 64)
    assert kept.read_bytes() != b"not an onnx graph"
    other = create_feature_extractor()
    with torch.no_grad():
        next(other.parameters()).mul_(1.5)
    assert cpu_kernels.BackboneRuntime(other.stages()).prepare(64, 64)
    assert len(list((tmp_path / "backbone-onnx").glob("*.onnx"))) == 2


def test_no_cache_folder_or_an_unwritable_one_only_costs_the_trace(monkeypatch, tmp_path, extractor):
    monkeypatch.setattr(cpu_kernels, "_TRACES", cpu_kernels.OrderedDict())
    monkeypatch.setenv(cpu_kernels.CACHE_VARIABLE, "")
    assert cpu_kernels.trace_cache_dir() is None
    assert cpu_kernels.BackboneRuntime(extractor.stages()).prepare(32, 64)
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(cpu_kernels.CACHE_VARIABLE, str(tmp_path / "file"))  # below a regular file
    monkeypatch.setattr(cpu_kernels, "_TRACES", cpu_kernels.OrderedDict())
    assert cpu_kernels.BackboneRuntime(extractor.stages()).prepare(32, 64)
    assert not (tmp_path / "file").is_dir()


def test_the_nearest_graph_bytes_are_what_onnx_helpers_build():
    """The 1-NN model is serialized without the onnx package (its imports cost a job 0.6 s): read back by onnx, it
    is the model onnx.helper builds, field for field, and passes onnx's checker."""
    import onnx
    from google.protobuf.json_format import MessageToDict
    from onnx import TensorProto, helper, numpy_helper

    bank, _ = _bank_and_queries(n_bank=50, depth=7)
    bank_t, norms = bank.numpy().T.copy(), (bank.numpy() ** 2).sum(axis=1)
    nodes = [helper.make_node("Gemm", ["queries", "bank_t", "bank_norms"], ["partial"], alpha=-2.0, beta=1.0),
             helper.make_node("ReduceMin", ["partial"], ["values"], keepdims=1, axes=[1]),
             helper.make_node("ArgMin", ["partial"], ["indices"], axis=1, keepdims=1)]
    graph = helper.make_graph(
        nodes, "nearest", [helper.make_tensor_value_info("queries", TensorProto.FLOAT, ["Q", 7])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["Q", 1]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, ["Q", 1])],
        initializer=[numpy_helper.from_array(bank_t, "bank_t"), numpy_helper.from_array(norms, "bank_norms")])
    expected = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    got = onnx.load_from_string(cpu_kernels.nearest_graph(bank_t, norms))
    onnx.checker.check_model(got)
    assert MessageToDict(got) == MessageToDict(expected)
    assert got.SerializeToString() == expected.SerializeToString()
