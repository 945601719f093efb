"""One picture, one score: every engine and front-end, and the export check that keeps them in float32."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hamacho_core import runtimes
from hamacho_core.export import ExportedModel, export_run, read_manifest
from hamacho_core.export.check import SCORE_TOLERANCE, ExportMismatchError, check_pictures
from hamacho_core.imageio import read_image
from hamacho_core.persistence import load_run
from hamacho_core.pipeline import TrainConfig, infer, train
from hamacho_core.scoring import score_arrays, score_pictures
from hamacho_core.synthetic import make_demo_dataset

BF16_ONLY = "this CPU cannot compute in bfloat16 (no AVX512-BF16 / AMX): a forced bf16 hint changes nothing here"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a PatchCore run trained on 8 good 64-px demo pictures, its test pictures kept on disk."""
    data = tmp_path_factory.mktemp("one_score_data")
    make_demo_dataset(data / "parts", n_good=8, n_bad_per_type=2, size=64, seed=5)
    config = TrainConfig(model="patchcore", dataset_root=str(data), category="parts",
                         result_path=str(tmp_path_factory.mktemp("one_score_results")), image_size=64, batch_size=8,
                         accelerator="cpu", write_csv=False, split=0.25)
    return train(config).run_dir


def test_every_engine_and_front_end_gives_one_score(trained, tmp_path):
    """torch / onnx / openvino inference, the API's scoring and hamacho score's: the same normalized score (1e-4)
    and verdict for each of the run's test pictures, whatever the batch each was scored in."""
    paths = check_pictures(trained, limit=100)
    assert len(paths) >= 8
    folder = tmp_path / "lot"
    folder.mkdir()
    for index, path in enumerate(paths):  # one folder, names kept apart
        shutil.copy(path, folder / f"{index:02d}_{path.name}")
    names = sorted(p.name for p in folder.iterdir())
    results = {}
    for engine in ("torch", "onnx", "openvino"):
        rows = infer(trained, folder, tmp_path / engine, engine=engine, write_csv=False).rows
        results[engine] = {Path(r["filepath"]).name: (r["norm_score"], r["verdict"]) for r in rows}
    run = load_run(trained, "cpu")
    api = [score_arrays(run.detector, run.normalization, [read_image(folder / n)], [n])[0] for n in names]
    results["api"] = {p.name: (p.norm_score, p.verdict) for p in api}  # one picture per request
    scored = [row for start in range(0, len(names), 3)  # other batches than infer's
              for row in score_pictures(run, [folder / n for n in names[start:start + 3]], names[start:start + 3])]
    results["score"] = {Path(r.filepath).name: (r.norm_score, r.verdict) for r in scored}
    reference = results["torch"]
    assert sorted(reference) == names
    for source, found in results.items():
        assert sorted(found) == names, source
        worst = max(abs(found[n][0] - reference[n][0]) for n in names)
        assert worst <= SCORE_TOLERANCE, (source, worst)
        assert [found[n][1] for n in names] == [reference[n][1] for n in names], source
    assert len({v for _, v in reference.values()}) == 2  # good and defect verdicts were both compared


def test_exports_record_the_check_and_pin_float32(trained, tmp_path):
    for engine in ("onnx", "openvino"):
        out = export_run(trained, tmp_path / engine, engine).output_dir
        manifest = read_manifest(out)
        check = manifest["check"]
        assert check["passed"] and check["pictures"] == "run test pictures" and check["n_pictures"] >= 8
        assert check["max_normalized_score"] <= SCORE_TOLERANCE and check["verdicts_changed"] == 0
        assert manifest["precision"]["engine"] == engine
        session = ExportedModel(out).session_
        if engine == "openvino":
            assert check["precision"]["compile_config"]["INFERENCE_PRECISION_HINT"] == "f32"
            assert runtimes.compiled_precision(session) == "f32"  # what OpenVINO really computes in
            assert str(session.get_property("EXECUTION_MODE_HINT")).endswith("ACCURACY")  # set on every CPU
            assert '"INFERENCE_PRECISION_HINT": "f32"' in (out / "README.md").read_text(encoding="utf-8")
        else:
            options = session.get_session_options()
            assert options.get_session_config_entry("mlas.enable_gemm_fastmath_arm64_bfloat16") == "0"


def test_the_check_refuses_a_bf16_openvino_model(trained, tmp_path, monkeypatch):
    """The pin lost = the export refused on a bf16 CPU (and on any CPU the compiled model is asked for f32 above)."""
    assert runtimes.OPENVINO_CONFIG["INFERENCE_PRECISION_HINT"] == "f32"
    assert runtimes.OPENVINO_CONFIG["EXECUTION_MODE_HINT"] == "ACCURACY"
    if not runtimes.cpu_has_bf16():
        pytest.skip(BF16_ONLY)
    monkeypatch.setattr(runtimes, "OPENVINO_CONFIG", {"INFERENCE_PRECISION_HINT": "bf16"})
    out = tmp_path / "bf16"
    with pytest.raises(ExportMismatchError, match="PyTorch's scores on this machine") as caught:
        export_run(trained, out, "openvino")
    assert "INFERENCE_PRECISION_HINT" in str(caught.value)
    assert not out.exists()  # nothing half-written
    copy = shutil.copytree(trained, tmp_path / "run", ignore=shutil.ignore_patterns("exported"))
    with pytest.raises(ExportMismatchError):  # the run's own cache too (hamacho inference --engine openvino)
        infer(copy, check_pictures(copy, 1), tmp_path / "out", engine="openvino")
    assert not (copy / "exported" / "openvino" / "hamacho-model.json").exists()


def test_the_cli_prints_the_check(trained, tmp_path):
    from click.testing import CliRunner

    from hamacho_core.cli import main

    result = CliRunner().invoke(main, ["export", "--config-path", str(trained / "config.yaml"), "--output",
                                       str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "checked against PyTorch on" in result.output and "0 verdicts changed" in result.output
    assert pd.notna(read_manifest(tmp_path / "m")["check"]["max_raw_score"])
    assert np.isfinite(read_manifest(tmp_path / "m")["check"]["max_raw_map"])
