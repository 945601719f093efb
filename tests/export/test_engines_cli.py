"""``hamacho export`` and ``hamacho inference --engine``: files, cache, and errors that say what to do."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from hamacho_core.cli import main
from hamacho_core.errors import ConfigError, ModelFileError
from hamacho_core.export import open_run, read_manifest
from hamacho_core.export.check import SCORE_TOLERANCE
from hamacho_core.export.engines import cache_dir
from hamacho_core.pipeline import infer


def test_cli_export_writes_a_complete_folder(export_runs, tmp_path):
    run_dir = export_runs["patchcore", "square"]
    out = tmp_path / "ov"
    result = CliRunner().invoke(main, ["export", "--config-path", str(run_dir / "config.yaml"), "--format",
                                       "openvino", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "hamacho-model.json", "model.bin", "model.xml"]
    manifest = read_manifest(out)
    assert manifest["engine"] == "openvino" and manifest["input"]["height"] == 64
    assert "norm > 0.5" in (out / "README.md").read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["export", "--config-path", str(tmp_path / "none.yaml"), "--output", str(out)])
    assert bad.exit_code != 0 and "no trained run" in bad.output


def test_inference_engines_give_the_same_csv(export_runs, exports, test_pictures, tmp_path):
    run_dir = export_runs["patchcore", "square"]
    folder = test_pictures["square"][0].parent
    rows = {}
    for engine, extra in (("torch", []), ("onnx", []),
                          ("openvino", ["--model-dir", str(exports["patchcore", "square", "openvino"])])):
        result = CliRunner().invoke(main, ["inference", "--image-path", str(folder), "--config-path",
                                           str(run_dir / "config.yaml"), "--save-path", str(tmp_path / engine),
                                           "--engine", engine, "--no-csv", *extra])
        assert result.exit_code == 0, result.output
        rows[engine] = pd.read_csv(tmp_path / engine / "metrics" / "pred_outputs.csv", encoding="utf-8-sig")
    for engine in ("onnx", "openvino"):
        assert list(rows[engine]["verdict"]) == list(rows["torch"]["verdict"])
        assert (abs(rows[engine]["norm_score"] - rows["torch"]["norm_score"]) <= SCORE_TOLERANCE).all()
        heat_maps = sorted(p.name for p in (tmp_path / engine / "images" / "predicted_heat_map").iterdir())
        assert heat_maps == sorted(p.name for p in folder.iterdir())  # the whole output tree, every picture
    manifest = read_manifest(cache_dir(run_dir, "onnx"))  # no --model-dir: the run's own export, kept for next time
    assert manifest["engine"] == "onnx"
    made = (cache_dir(run_dir, "onnx") / "model.onnx").stat().st_mtime_ns
    open_run(run_dir, "onnx")
    assert (cache_dir(run_dir, "onnx") / "model.onnx").stat().st_mtime_ns == made  # reused, not exported again


def test_model_dir_of_another_run_or_engine_is_refused(export_runs, exports, test_pictures, tmp_path):
    square, padim = export_runs["patchcore", "square"], export_runs["padim", "square"]
    shutil.copytree(exports["padim", "square", "onnx"], tmp_path / "padim")
    with pytest.raises(ModelFileError, match="export this run again"):
        open_run(square, "onnx", model_dir=tmp_path / "padim")
    with pytest.raises(ConfigError, match="--engine onnx"):
        open_run(padim, "openvino", model_dir=tmp_path / "padim")
    with pytest.raises(ConfigError, match="unknown engine"):
        infer(square, test_pictures["square"][0], tmp_path / "out", engine="tensorrt")
    spec = json.loads((tmp_path / "padim" / "hamacho-model.json").read_text(encoding="utf-8"))
    spec["format_version"] = 99
    (tmp_path / "padim" / "hamacho-model.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ModelFileError, match="newer hamacho"):
        read_manifest(tmp_path / "padim")
