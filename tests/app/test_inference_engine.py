"""The Inference page's engine choice: the exported ONNX model gives the PyTorch page's scores."""

from __future__ import annotations

from pathlib import Path

from app_support import open_page
from streamlit.testing.v1 import AppTest


def _inference_page() -> AppTest:
    return open_page("inference", "en", timeout=120)


def test_onnx_engine_on_the_inference_page(trained_home: Path) -> None:
    data = trained_home / "検査A" / "data"
    files = [(p.name, p.read_bytes(), "image/png") for p in sorted((data / "bad" / "crack").glob("*.png"))[:2]]
    scores = {}
    for engine in ("torch", "onnx"):
        at = _inference_page()
        at.radio(key="inf_engine").set_value(engine).run()
        at.file_uploader(key="inf_files_0").set_value(files).run()
        assert not at.exception, at.exception
        scores[engine] = list(at.dataframe[0].value["score"])
    assert len(scores["onnx"]) == 2
    assert all(abs(a - b) <= 1e-3 * abs(a) + 1e-4 for a, b in zip(scores["torch"], scores["onnx"], strict=True))
    assert list((trained_home / "検査A" / "runs").glob("*/exported/onnx/model.onnx"))  # kept in the run folder
