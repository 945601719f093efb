"""The sealed hold-out: a stratified, seeded draw that nothing of the run is fitted on, scored at the end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from safetensors.numpy import load_file

from hamacho_core.cli import main
from hamacho_core.data import Sample
from hamacho_core.decisions import Decisions
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.evaluation import Evaluation
from hamacho_core.holdout import holdout_figures, split_holdout, suggested_holdout
from hamacho_core.imageio import read_image, write_image
from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.synthetic import make_demo_dataset


def _samples(n_good: int, defects: dict[str, int]) -> list[Sample]:
    found = [Sample(Path(f"good/{i:03d}.png"), 0) for i in range(n_good)]
    for kind, count in defects.items():
        found += [Sample(Path(f"bad/{kind}/{i:03d}.png"), 1, kind) for i in range(count)]
    return found


def test_the_draw_is_stratified_by_type_and_seeded():
    samples = _samples(40, {"scratch": 20, "spot": 10, "crack": 5, "pit": 3, "dent": 2})
    kept, held = split_holdout(samples, 0.2, seed=7)
    assert len(kept) + len(held) == len(samples) and not {s.path for s in kept} & {s.path for s in held}
    types = Counter(s.defect_type for s in held)
    assert types["good"] == 8 and sum(s.label for s in held) == 8  # round(0.2 * 40) of each class
    assert types["scratch"] == 4 and types["spot"] == 2 and types["crack"] == 1  # every large type its share
    assert types["pit"] + types["dent"] == 1  # the small types together give theirs
    assert split_holdout(samples, 0.2, seed=7) == (kept, held)  # same seed, same hold-out
    assert split_holdout(list(reversed(samples)), 0.2, seed=7)[1] == list(reversed(held))  # not the input order
    assert split_holdout(samples, 0.2, seed=8)[1] != held
    assert split_holdout(samples, 0.0, seed=7) == (samples, [])


def test_too_few_pictures_on_either_side_are_refused():
    with pytest.raises(DataError, match="leaves 1 good and 1 defect pictures in the hold-out"):
        split_holdout(_samples(6, {"scratch": 6}), 0.1, seed=0)
    with pytest.raises(DataError, match="remaining test pictures"):
        split_holdout(_samples(3, {"scratch": 3}), 0.5, seed=0)
    with pytest.raises(DataError, match="--holdout-split 0"):
        split_holdout(_samples(20, {}), 0.2, seed=0)  # no defect pictures at all
    with pytest.raises(ConfigError, match="between 0.05 and 0.5"):
        TrainConfig(category="x", holdout_split=0.01).validate()
    with pytest.raises(ConfigError, match="between 0.05 and 0.5"):
        TrainConfig(category="x", holdout_split=0.8).validate()
    with pytest.raises(ConfigError, match="no-bad-mode"):
        TrainConfig(category="x", holdout_split=0.2, no_bad_mode=True).validate()
    assert suggested_holdout(19) == 0.0 and suggested_holdout(20) == 0.2


def test_figures_have_exact_intervals():
    from hamacho_core.thresholds import Normalization

    normalization = Normalization("adaptive", 0.5, 0.0, 1.0, 0.5, 0.0, 1.0)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.6, 0.8, 0.9, 0.4])
    evaluation = Evaluation([""] * 8, ["good"] * 4 + ["x"] * 4, labels, scores, np.zeros((8, 2, 2)), None,
                            normalization)
    figures = holdout_figures(evaluation)
    assert (figures["tp"], figures["fp"], figures["fn"], figures["tn"]) == (3, 1, 1, 3)
    assert figures["recall"]["value"] == 0.75 and figures["recall"]["low"] < 0.75 < figures["recall"]["high"]
    assert figures["false_alarm_rate"]["count"] == 1 and figures["false_alarm_rate"]["total"] == 4
    assert figures["f1"]["low"] < figures["f1"]["value"] == 0.75 < figures["f1"]["high"]
    assert figures["image_auroc"] == pytest.approx(0.875)


@pytest.fixture(scope="module")
def holdout_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 good and 8 defect 64-px demo pictures with masks."""
    root = tmp_path_factory.mktemp("holdout_data")
    make_demo_dataset(root / "parts", n_good=12, n_bad_per_type=2, size=64, seed=4)
    return root


def _settings(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))


def test_train_with_a_hold_out_seals_it_and_scores_it_last(holdout_data, tmp_path):
    options = ["--dataset-root", str(holdout_data), "--category", "parts", "--image-size", "64", "--split", "0.5",
               "--accelerator", "cpu", "--no-csv"]
    first = tmp_path / "first"
    result = CliRunner().invoke(main, ["train", *options, "--result-path", str(first), "--holdout-split", "0.25"])
    assert result.exit_code == 0, result.output
    assert "hold-out: measured on 4 pictures the model never saw" in result.output  # the headline's source
    run_dir = first / "parts" / "patchcore"
    config = _settings(run_dir)
    assert config["settings"]["holdout_split"] == 0.25
    counts = config["settings"]["counts"]
    assert counts["holdout/good"] == 2 and sum(v for k, v in counts.items() if k.startswith("holdout/")) == 4
    test, held = Evaluation.load(run_dir), Evaluation.load_holdout(run_dir)
    assert held is not None and len(held.labels) == 4 and int(held.labels.sum()) == 2
    assert not set(test.paths) & set(held.paths) and len(test.paths) == 10  # 4 good + 6 defect remain
    metrics = json.loads((run_dir / "test_predictions" / "metrics" / "metrics.json").read_text(encoding="utf-8"))
    section = metrics["holdout"]
    assert section["n_pictures"] == 4 and section["n_defects"] == 2 and "never used" in section["source"]
    assert {"recall", "precision", "false_alarm_rate", "f1", "image_auroc"} <= set(section)
    page = Decisions.for_run(run_dir).at(section["image_threshold"])  # what the Threshold page shows
    assert page.provenance == "hold-out"
    for name in ("f1", "recall", "precision", "false_alarm_rate"):
        assert (section[name]["low"], section[name]["value"], section[name]["high"]) == pytest.approx(
            (getattr(page, name).low, getattr(page, name).value, getattr(page, name).high), abs=1e-12), name
    rows = pd.read_csv(run_dir / "test_predictions" / "metrics" / "holdout_outputs.csv", encoding="utf-8-sig")
    assert sorted(rows["filepath"]) == sorted(held.paths)
    assert np.allclose(rows["raw_score"], held.raw_scores)
    assert (run_dir / "test_predictions" / "holdout" / "images").is_dir()

    # The hold-out pictures' files changed: the bank, the threshold and the normalization stay exactly the same.
    for path in held.paths:
        image = read_image(path)
        write_image(path, 255 - image)
    second = train(TrainConfig(dataset_root=str(holdout_data), category="parts", image_size=64, split=0.5,
                               accelerator="cpu", write_csv=False, result_path=str(tmp_path / "second"),
                               holdout_split=0.25))
    assert _settings(second.run_dir)["normalization"] == config["normalization"]
    before, after = (load_file(str(d / "weights" / "model.safetensors")) for d in (run_dir, second.run_dir))
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    moved = Evaluation.load_holdout(second.run_dir)
    assert moved.paths == held.paths and not np.allclose(moved.raw_scores, held.raw_scores)  # they were scored


def test_a_run_without_hold_out_has_none_and_bad_shares_are_refused(holdout_data, tmp_path):
    assert Evaluation.load_holdout(tmp_path) is None
    options = ["train", "--dataset-root", str(holdout_data), "--category", "parts", "--result-path", str(tmp_path)]
    result = CliRunner().invoke(main, [*options, "--holdout-split", "0.02"])
    assert result.exit_code != 0 and "--holdout-split must be 0" in result.output
    assert not any(tmp_path.iterdir())  # refused before anything was written
    result = CliRunner().invoke(main, [*options, "--holdout-split", "0.9"])
    assert result.exit_code != 0 and "holdout-split" in result.output
