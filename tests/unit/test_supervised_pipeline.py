"""The supervised mode through the command line and the saved run, on the tiny generated dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from safetensors import safe_open

from hamacho_core.cli import main
from hamacho_core.data import Sample
from hamacho_core.errors import ConfigError
from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import load_run
from hamacho_core.pipeline import infer
from hamacho_core.supervision import plan_supervision


@pytest.fixture(scope="module")
def supervised_run(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("results")
    outcome = CliRunner().invoke(main, [
        "train", "--dataset-root", str(demo_root.parent), "--category", demo_root.name, "--result-path",
        str(results), "--image-size", "64", "--batch-size", "4", "--accelerator", "cpu", "--no-csv",
        "--supervised", "on"])
    assert outcome.exit_code == 0, outcome.output
    return results / demo_root.name / "patchcore", outcome.output


def test_cli_reports_cross_fitted_figures_and_saves_the_head(supervised_run: tuple[Path, str]) -> None:
    run_dir, output = supervised_run
    assert "supervised head: on (8 defect pictures, with masks)" in output
    assert "cross-fitted over 3 folds" in output and "learning curve" in output
    metrics = json.loads((run_dir / "test_predictions/metrics/metrics.json").read_text(encoding="utf-8"))
    supervised = metrics["supervised"]
    assert supervised["enabled"] and supervised["masks_used"] and supervised["combination"] in ("head", "sum")
    assert [p["n_defect_pictures"] for p in supervised["learning_curve"]] == [5]  # "all": ~2/3 of 8 per head
    assert supervised["learning_curve"][-1]["is_all"]
    assert supervised["learning_curve"][-1]["image_auroc"] == pytest.approx(metrics["image"]["auroc"])
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    assert config["settings"]["supervised"] == "on" and config["metrics"]["supervised"] is True
    assert config["state"]["head"]["n_inputs"] == 153  # 152 embedding channels + the distance
    with safe_open(str(run_dir / "weights/model.safetensors"), "pt") as weights:
        assert {"head.weight", "head.bias", "memory_bank"} <= set(weights.keys())


def test_shown_scores_are_cross_fitted_and_inference_uses_the_final_head(supervised_run: tuple[Path, str],
                                                                         tmp_path: Path) -> None:
    run_dir, _ = supervised_run
    evaluation = Evaluation.load(run_dir)
    run = load_run(run_dir, accelerator="cpu")
    assert run.detector.head_ is not None
    final = infer(run_dir, evaluation.paths, tmp_path / "out", accelerator="cpu", write_csv=False)
    final_scores = np.array([row["raw_score"] for row in final.rows])
    # the Threshold page's scores are not the final head's in-sample scores of the same pictures
    assert not np.allclose(final_scores, evaluation.raw_scores, rtol=1e-3)
    plain = run.detector
    plain.head_ = None
    plain_scores = plain.predict(evaluation.paths).scores
    assert not np.allclose(final_scores, plain_scores, rtol=1e-3)  # the saved model carries the head
    assert (final.save_dir / "metrics/pred_outputs.csv").is_file()


def test_plan_auto_off_on_and_good_only(supervised_run: tuple[Path, str]) -> None:
    detector = load_run(supervised_run[0], accelerator="cpu").detector
    samples = [Sample(Path("g.png"), 0)] * 4 + [Sample(Path(f"d{i}.png"), 1, "scratch") for i in range(9)]
    plan = plan_supervision("auto", detector, samples, min_defects=10)
    assert not plan.enabled and plan.reason == "9 defect pictures (auto needs 10)"
    plan = plan_supervision("auto", detector, samples, min_defects=9)
    assert plan.enabled and "masks would help" in plan.reason
    assert not plan_supervision("auto", detector, samples, 9, no_bad_mode=True).enabled
    with pytest.raises(ConfigError, match="--no-bad-mode"):
        plan_supervision("on", detector, samples, 9, no_bad_mode=True)
