"""`hamacho threshold` on a trained run: the table, the sentences, the suggestion, and --save as the page saves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from hamacho_core.cli import main
from hamacho_core.decisions import load_costs


def _run_copy(trained: tuple[Path, str], tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(trained[0], run_dir)
    return run_dir


def test_threshold_prints_intervals_types_and_a_cost_suggestion(trained: tuple[Path, str], tmp_path: Path) -> None:
    run_dir = _run_copy(trained, tmp_path)
    outcome = CliRunner().invoke(main, ["threshold", "--config-path", str(run_dir / "config.yaml"), "--cost-miss",
                                        "500", "--cost-false-alarm", "5", "--defect-rate", "0.003"])
    assert outcome.exit_code == 0, outcome.output
    text = outcome.output
    assert re.search(r"recall\s+\d\.\d{3}\s+\d\.\d{3}-\d\.\d{3}\s+\d+/\d+\s+exact\s+cross-fitted", text)
    assert "headline figures are cross-fitted: each picture judged by a threshold" in text
    assert re.search(r"F1\s+\d\.\d{3}\s+(\d\.\d{3})-(\d\.\d{3})", text)
    low, high = (float(v) for v in re.search(r"F1\s+\d\.\d{3}\s+(\d\.\d{3})-(\d\.\d{3})", text).groups())
    assert high > low  # never a zero-width interval
    assert "fitted (threshold chosen on these pictures, optimistic)" in text
    assert "cannot be ruled out" in text and "per 1,000 parts, about" in text
    assert {"scratch", "spot", "crack", "missing_piece"} <= set(re.findall(r"^  (\w+)\s+caught", text, re.M))
    suggested = float(re.search(r"suggested normalized threshold: ([0-9.]+) \(cheapest\)", text).group(1))
    assert 0.0 <= suggested <= 1.0
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    assert config["normalization"]["image_norm"] == 0.5  # nothing saved without --save


def test_threshold_save_writes_the_constraint_threshold(trained: tuple[Path, str], tmp_path: Path) -> None:
    run_dir = _run_copy(trained, tmp_path)
    outcome = CliRunner().invoke(main, ["threshold", "--config-path", str(run_dir / "config.yaml"),
                                        "--min-recall", "1.0", "--save"])
    assert outcome.exit_code == 0, outcome.output
    suggested = float(re.search(r"suggested normalized threshold: ([0-9.]+) \(recall constraint\)",
                                outcome.output).group(1))
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    assert config["normalization"]["image_norm"] == suggested
    assert load_costs(run_dir) is None


def test_threshold_refuses_partial_costs_and_two_constraints(trained: tuple[Path, str]) -> None:
    config = str(trained[0] / "config.yaml")
    partial = CliRunner().invoke(main, ["threshold", "--config-path", config, "--cost-miss", "5"])
    assert partial.exit_code != 0 and "need all three" in partial.output
    both = CliRunner().invoke(main, ["threshold", "--config-path", config, "--min-recall", "0.9",
                                     "--max-false-alarm-rate", "0.1"])
    assert both.exit_code != 0 and "not both" in both.output


def test_train_summary_leads_with_the_cross_fitted_figures_and_says_where_each_comes_from(
        trained: tuple[Path, str]) -> None:
    output = trained[1]
    headline = re.search(r"^cross-fitted \(95 %\): recall (\d\.\d{3}) \((\d\.\d{3})-(\d\.\d{3})\)", output, re.M)
    assert headline is not None, output
    value, low, high = (float(v) for v in headline.groups())
    assert low <= value <= high and high > low
    assert "judged by a threshold (and supervised head) chosen on the other" in output
    assert output.index("cross-fitted (95 %)") < output.index("fitted on the same pictures (optimistic)")
