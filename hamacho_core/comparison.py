"""Runs side by side: two or more runs scored on the same test pictures, compared on the pictures they share.

Each run's figures are its headline figures (:class:`hamacho_core.decisions.Decisions`) on the common pictures at
its saved threshold; the AUROC differences use the same resamples for every run (paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hamacho_core.decisions import Decisions, ThresholdIntervals
from hamacho_core.errors import ConfigError
from hamacho_core.evaluation import Evaluation
from hamacho_core.intervals import CONFIDENCE, N_RESAMPLES, Estimate, percentiles, stratified_weights, weighted_auroc

__all__ = ["Comparison", "Disagreement", "RunSummary", "compare_runs"]


@dataclass
class RunSummary:
    """One run on the common pictures, at its saved threshold."""

    name: str
    n_pictures: int  # test pictures of the run
    intervals: ThresholdIntervals  # at the run's saved image threshold, on the common pictures
    curves: dict[str, list[float]]  # PR and ROC on the common pictures


@dataclass
class Disagreement:
    """A common picture on which the runs' verdicts differ."""

    path: str
    defect_type: str
    label: int
    scores: list[float]  # normalized score per run
    verdicts: list[bool]  # True = defect, per run


@dataclass
class Comparison:
    """Two or more runs scored on the same test pictures (compared on the common ones)."""

    runs: list[RunSummary]
    n_common: int
    same_pictures: bool  # every run has exactly the common pictures
    auroc_differences: list[Estimate | None] = field(default_factory=list)  # run i - run 0 (paired bootstrap)
    disagreements: list[Disagreement] = field(default_factory=list)


def _subset(evaluation: Evaluation, index: np.ndarray) -> Evaluation:
    names = evaluation.output_names
    return Evaluation([evaluation.paths[i] for i in index], [evaluation.defect_types[i] for i in index],
                      evaluation.labels[index], evaluation.raw_scores[index], evaluation.maps[index],
                      None if evaluation.masks is None else evaluation.masks[index], evaluation.normalization,
                      None if names is None else [names[i] for i in index],
                      None if evaluation.mask_paths is None else [evaluation.mask_paths[i] for i in index],
                      None if evaluation.folds is None else evaluation.folds[index])


def compare_runs(evaluations: Sequence[Evaluation], names: Sequence[str], n_resamples: int = N_RESAMPLES,
                 seed: int = 420, confidence: float = CONFIDENCE) -> Comparison:
    """Compare runs on the pictures they share (by file path).

    The AUROC difference of each run against the first uses the same resamples for both (paired bootstrap), so
    the interval reflects only how differently the runs rank the same pictures.

    Raises:
        ConfigError: fewer than two runs, or no common picture.
    """
    if len(evaluations) < 2:
        raise ConfigError("pick at least two runs to compare")
    keys = [[str(Path(p)) for p in e.paths] for e in evaluations]
    others = [set(other) for other in keys[1:]]  # one set per run: membership is O(1), the whole is linear
    common = list(dict.fromkeys(k for k in keys[0] if all(k in other for other in others)))
    if not common:
        raise ConfigError("these runs share no test picture: compare runs trained on the same dataset")
    subsets = []
    for evaluation, run_keys in zip(evaluations, keys, strict=True):
        position = {k: i for i, k in enumerate(run_keys)}
        subsets.append(_subset(evaluation, np.array([position[k] for k in common])))
    labels = subsets[0].labels.astype(bool)
    weights = stratified_weights(labels, n_resamples, seed)
    runs, differences, aurocs = [], [], []
    for name, evaluation, subset in zip(names, evaluations, subsets, strict=True):
        decisions = Decisions(subset, n_resamples, seed, confidence)
        saved = subset.normalization.normalized_image_threshold
        runs.append(RunSummary(str(name), len(evaluation.paths), decisions.at(saved), subset.curves()))
        aurocs.append(weighted_auroc(labels, subset.raw_scores, weights))
    for index, samples in enumerate(aurocs):
        if index == 0 or runs[index].intervals.auroc is None or runs[0].intervals.auroc is None:
            differences.append(None)
            continue
        low, high = percentiles(samples - aurocs[0], confidence)
        value = runs[index].intervals.auroc.value - runs[0].intervals.auroc.value
        differences.append(Estimate(value, float(low), float(high), provenance=runs[index].intervals.auroc.provenance))
    verdicts = np.array([s.normalized_scores > s.normalization.normalized_image_threshold for s in subsets])  # (R, N)
    scores = np.array([s.normalized_scores for s in subsets])
    split = np.flatnonzero(verdicts.min(axis=0) != verdicts.max(axis=0))
    disagreements = [Disagreement(common[i], subsets[0].defect_types[i], int(labels[i]),
                                  [float(v) for v in scores[:, i]], [bool(v) for v in verdicts[:, i]])
                     for i in split]
    same = all(len(e.paths) == len(common) for e in evaluations)
    return Comparison(runs, len(common), same, differences, disagreements)
