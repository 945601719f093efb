"""A sealed hold-out: labelled test pictures the run never learns or chooses anything from, scored at the end.

``hamacho train --holdout-split 0.2`` takes a share of the labelled test pictures (good and defect) away before
anything is fitted: they never touch the memory bank, the supervised head, the threshold or the normalization.
After training the final model (head included) scores them at the saved threshold, so their figures are those of
pictures the model never saw. The draw is stratified by defect type ("good" is one type) and seeded by the run's
seed; the remaining test pictures and the hold-out each keep at least :data:`MIN_PER_CLASS` good and defect
pictures, or training is refused.

Within each class the pictures are ranked by ``(rank within its type after a seeded shuffle + a seeded offset) /
size of its type`` and the first ``round(share * n)`` are held out: every type gives its share (a type of 5
pictures at 0.2 gives one), and the small types together give theirs, rather than each rounding to zero.

Written beside the test results: ``holdout_evaluation.safetensors`` + ``.json`` (``Evaluation.save(run_dir,
part="holdout")``, read by ``Evaluation.load_holdout``), ``test_predictions/metrics/holdout_outputs.csv`` (one row
per hold-out picture, the columns of ``test_outputs.csv``), the pictures under ``test_predictions/holdout/images/``,
and a ``holdout`` section in ``metrics.json`` (:func:`holdout_figures`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hamacho_core.errors import DataError

if TYPE_CHECKING:
    from hamacho_core.data import Sample
    from hamacho_core.detectors import Detector
    from hamacho_core.evaluation import Evaluation
    from hamacho_core.progress import ProgressCallback
    from hamacho_core.thresholds import Normalization

__all__ = ["HOLDOUT_DIR", "MIN_PER_CLASS", "SUGGEST_FROM_DEFECTS", "holdout_counts", "holdout_figures",
           "split_holdout", "suggested_holdout", "write_holdout"]

MIN_PER_CLASS = 2  # good and defect pictures each side of the split must keep
SUGGEST_FROM_DEFECTS = 20  # the Train page suggests a hold-out from this many defect pictures
HOLDOUT_DIR = "holdout"  # below test_predictions/: the hold-out pictures' picture sets


def split_holdout(samples: Sequence[Sample], share: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split labelled test pictures into (kept for the run, sealed hold-out), stratified by type and seeded.

    Args:
        samples: the test pictures (good and defect). share: the hold-out's share of each class (0 = none; the
            range is checked by ``TrainConfig.validate``).
        seed: the run's seed (the same seed, the same hold-out).

    Returns:
        (kept, held out), each in the input order.

    Raises:
        DataError: a side left with fewer than 2 good or 2 defect pictures.
    """
    if share <= 0:
        return list(samples), []
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for label in (0, 1):
        keys: list[tuple[float, int]] = []
        types = sorted({s.defect_type for s in samples if s.label == label})
        for kind in types:
            members = sorted((i for i, s in enumerate(samples) if s.label == label and s.defect_type == kind),
                             key=lambda i: str(samples[i].path))
            order, offset = rng.permutation(len(members)), rng.random()
            keys += [((rank + offset) / len(members), members[i]) for rank, i in enumerate(order)]
        chosen.update(index for _, index in sorted(keys)[:round(share * len(keys))])
    kept = [s for i, s in enumerate(samples) if i not in chosen]
    held = [s for i, s in enumerate(samples) if i in chosen]
    _check_sides(kept, held, share)
    return kept, held


def _check_sides(kept: list[Sample], held: list[Sample], share: float) -> None:
    for side, group in (("the remaining test pictures", kept), ("the hold-out", held)):
        n_defect = sum(s.label for s in group)
        n_good = len(group) - n_defect
        if min(n_good, n_defect) < MIN_PER_CLASS:
            raise DataError(
                f"--holdout-split {share} leaves {n_good} good and {n_defect} defect pictures in {side}; each side "
                f"needs at least {MIN_PER_CLASS} of each (the run chooses its threshold on the remaining test "
                "pictures, the hold-out measures it): add labelled defect and good pictures, change the share, "
                "or train without a hold-out (--holdout-split 0)")


def suggested_holdout(n_defects: int) -> float:
    """The hold-out share the app proposes: 0.2 from :data:`SUGGEST_FROM_DEFECTS` defect test pictures, else none."""
    return 0.2 if n_defects >= SUGGEST_FROM_DEFECTS else 0.0


def holdout_counts(held: Sequence[Sample]) -> dict[str, int]:
    """config.yaml's count keys for the hold-out: {"holdout/good": n, "holdout/<type>": n}."""
    out: dict[str, int] = {}
    for sample in held:
        key = f"holdout/{sample.defect_type}"
        out[key] = out.get(key, 0) + 1
    return out


def holdout_figures(evaluation: Evaluation) -> dict[str, Any]:
    """metrics.json's ``holdout`` section: the hold-out's figures at the saved threshold.

    Counted and bounded as the Threshold page does (``Decisions(...).at``, the hold-out as the headline), so one
    picture set has one interval per figure wherever it is shown: recall, precision and false-alarm rate are
    proportions with 95 % Clopper-Pearson intervals; F1 gets the seeded stratified bootstrap, widened to F1 at the
    exact bounds of the rates where every resample agrees. Image AUROC is given without an interval.
    """
    from hamacho_core.decisions import Decisions
    from hamacho_core.metrics import image_metrics

    threshold = float(evaluation.normalization.normalized_image_threshold)
    decisions = Decisions(evaluation, holdout=evaluation)
    figures = decisions.at(threshold)
    image = image_metrics(evaluation.labels, evaluation.normalized_scores, threshold)
    return {"source": "sealed hold-out: pictures never used for the memory bank, the head, the threshold or the "
                      "normalization, scored by the final model at the saved threshold",
            "n_pictures": figures.n_pictures, "n_defects": figures.n_defect, "n_good": figures.n_good,
            "image_threshold": threshold, "image_auroc": float(image.auroc), "tp": figures.tp, "fp": figures.fp,
            "fn": figures.fn, "tn": figures.tn, "recall": figures.recall.to_dict(),
            "precision": figures.precision.to_dict(), "false_alarm_rate": figures.false_alarm_rate.to_dict(),
            "f1": figures.f1.to_dict(),
            "interval": f"95 %: Clopper-Pearson for the proportions; F1 by a stratified bootstrap "
                        f"({decisions.n_resamples:,} resamples, seed {decisions.seed}) widened to the exact bounds "
                        "where every resample agrees, as on the Threshold page"}


def write_holdout(run_dir: Path, detector: Detector, held: Sequence[Sample], normalization: Normalization,
                  use_masks: bool, write_csv: bool, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Score the hold-out with the final detector and write its results into the run (see module docstring).

    Args:
        run_dir: the run folder (the staging folder while training). use_masks: segmentation with masks known.

    Returns:
        The hold-out's figures (:func:`holdout_figures`, also in metrics.json).
    """
    import pandas as pd

    from hamacho_core.data import ground_truth_masks, relative_names
    from hamacho_core.evaluation import Evaluation
    from hamacho_core.persistence import dump_json
    from hamacho_core.report import TEST_DIR, ReportSource, test_rows, write_reports

    paths = [s.path for s in held]
    prediction = detector.predict(paths, progress)
    masks = ground_truth_masks(held, prediction.maps.shape[1:], progress) if use_masks else None
    names = relative_names(paths, [s.defect_type for s in held])
    evaluation = Evaluation.from_test(held, names, prediction.scores, prediction.maps, masks, normalization)
    evaluation.save(run_dir, part="holdout")
    test_dir = run_dir / TEST_DIR
    sources = [ReportSource(s.path, n, s.label, s.mask_path) for s, n in zip(held, names, strict=True)]
    write_reports(test_dir / HOLDOUT_DIR, sources, prediction, normalization, write_csv, progress)
    (test_dir / "metrics").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(test_rows(held, names, prediction.scores, normalization)).to_csv(
        test_dir / "metrics" / "holdout_outputs.csv", index=False, encoding="utf-8-sig")
    metrics_path = test_dir / "metrics" / "metrics.json"
    figures = holdout_figures(evaluation)
    dump_json(metrics_path, {**json.loads(metrics_path.read_text(encoding="utf-8")), "holdout": figures})
    return figures
