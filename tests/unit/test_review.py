"""The review loop in the core: train, relabel, retrain with the run's settings, compare with the corrections."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamacho_core import labels, review
from hamacho_core.comparison import compare_runs
from hamacho_core.evaluation import Evaluation
from hamacho_core.pipeline import train
from hamacho_core.projects import project_runs
from hamacho_core.synthetic import make_demo_dataset


def test_relabel_retrain_and_compare(tmp_path: Path) -> None:
    project = tmp_path / "検査"
    make_demo_dataset(project / "data", n_good=10, n_bad_per_type=2, size=64, seed=5)
    old = train(_first_config(project)).run_dir
    assert review.pending_changes(project, old) == []
    evaluation = Evaluation.load(old)
    defects = [p for p, label in zip(evaluation.paths, evaluation.labels, strict=True) if label]
    goods = [p for p, label in zip(evaluation.paths, evaluation.labels, strict=True) if not label]
    to_good = labels.relabel(project, defects[0], "good", why="not a defect")
    to_defect = labels.relabel(project, goods[0], "defect", defect_type="new-type", why="missed")
    pending = review.pending_changes(project, old)
    assert [c.id for c in pending] == [to_good.id, to_defect.id]

    config = review.retrain_config(project, old)
    saved = Evaluation.load(old)
    assert Path(config.run_dir).parent == project / "runs" and config.image_size == 64 and config.seed == 420
    new = train(config).run_dir
    review.record_retrain(project, old, new, pending)
    assert review.retrained_from(project, new) == old and review.retrained_from(project, old) is None
    assert [c.id for c in review.changes_between(project, old, new)] == [to_good.id, to_defect.id]
    assert review.pending_changes(project, new) == []
    assert len(project_runs(project)) == 2

    fixed = review.corrected(saved, project, pending)
    moved = fixed.paths[saved.paths.index(goods[0])]
    assert moved.endswith("bad/new-type/" + Path(goods[0]).name)
    assert fixed.labels[saved.paths.index(goods[0])] == 1 and fixed.labels[saved.paths.index(defects[0])] == 0
    assert np.array_equal(fixed.raw_scores, saved.raw_scores)
    comparison = compare_runs([fixed, Evaluation.load(new)], ["before", "after"])
    assert comparison.n_common >= len(defects) - 1  # the defect pictures are test pictures in both runs


def _first_config(project: Path):
    from hamacho_core.config import project_train_config

    return project_train_config(project, {"image_size": 64, "write_csv": False, "accelerator": "cpu",
                                          "coreset_ratio": 0.1})


