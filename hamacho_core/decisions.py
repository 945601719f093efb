"""Decisions an analyst can defend: every figure at any threshold with an honest interval and its provenance.

Everything works on an :class:`~hamacho_core.evaluation.Evaluation` (cached test scores; no model call) and on the
normalized threshold scale of the rest of Hamacho (0.5 = the fitted threshold; ``norm > threshold`` = defect).

Why the headline is cross-fitted. The run's threshold (and min/max, and the supervised head) are fitted on the very
test pictures the figures are counted on, so counts at the fitted threshold flatter the run, and a bootstrap at that
fixed threshold cannot see the choice. Here each picture gets a *cross-fitted normalized score*: its raw score
normalized by a threshold and min/max fitted on the other folds only (the supervised head's folds when the run has
a head, whose scores are already out-of-fold; else seeded folds stratified by label). The verdict at any normalized
threshold t is then ``cross-fitted score > t`` (the app's comparison), an out-of-sample verdict for every slider
position; the counts get exact Clopper-Pearson intervals, F1 and costs a stratified bootstrap of those verdicts,
AUROC a stratified bootstrap of the (threshold-free) raw scores, and where every resample agrees the exact bounds of
:mod:`hamacho_core.intervals` keep a width. With a sealed hold-out (pictures that never touched the run), its
counts are the headline ("measured on N pictures the model never saw"). The figures counted at the fitted
threshold stay available, labelled "fitted".

What does not depend on the threshold (sorting, the resamples' cumulative counts, AUROC) is computed once per
:class:`Decisions`; callers cache that object per run, and a slider move costs O(resamples) array look-ups.
:meth:`Decisions.answer` gives one :class:`ThresholdAnswer` per threshold: every figure with its interval and
provenance, the counts, costs, and reason codes with their numbers, which the page, the report and ``hamacho
threshold`` word (the words live in the UI and the CLI).

Interval primitives are in :mod:`hamacho_core.intervals` and costs in :mod:`hamacho_core.costs` (the names used
by callers are re-exported here); runs side by side in :mod:`hamacho_core.comparison`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from hamacho_core.costs import COSTS_NAME, Costs, load_costs, save_costs
from hamacho_core.evaluation import Evaluation
from hamacho_core.intervals import (
    CONFIDENCE,
    CROSS_FITTED,
    FITTED,
    HOLD_OUT,
    N_RESAMPLES,
    PER_PARTS,
    PROVENANCES,
    Estimate,
    auroc_bound,
    clopper_pearson,
    count_at_most,
    percentiles,
    pictures_for_width,
    proportion,
    rate_corners,
    snap_inside,
    stratified_weights,
    weighted_auroc,
)
from hamacho_core.metrics import label_folds

__all__ = [
    "COSTS_NAME",
    "CROSS_FITTED",
    "FITTED",
    "HOLD_OUT",
    "PROVENANCES",
    "ConstraintChoice",
    "CostChoice",
    "CostCurve",
    "Costs",
    "Decisions",
    "Estimate",
    "FolderResult",
    "Reason",
    "ThresholdAnswer",
    "ThresholdIntervals",
    "TypeResult",
    "clopper_pearson",
    "load_costs",
    "load_holdout",
    "pictures_for_width",
    "proportion",
    "save_costs",
    "snap_inside",
    "stratified_weights",
    "weighted_auroc",
]


MEMO_ENTRIES = 256  # threshold-free results kept per run (each a few arrays of the run's size at most)


# ------------------------------------------------------------------------------------------------ result types
@dataclass
class ThresholdIntervals:
    """Image figures at one normalized threshold, each with its 95 % interval, all of one provenance."""

    threshold: float
    precision: Estimate  # Clopper-Pearson on TP / (TP + FP)
    recall: Estimate  # Clopper-Pearson on TP / defect pictures
    false_alarm_rate: Estimate  # Clopper-Pearson on FP / good pictures
    accuracy: Estimate  # Clopper-Pearson on (TP + TN) / pictures
    f1: Estimate  # stratified bootstrap, exact bounds where every resample agrees
    auroc: Estimate | None  # stratified bootstrap of raw scores, exact bound at perfect separation; None: one class
    tp: int
    fp: int
    tn: int
    fn: int
    provenance: str = FITTED  # "fitted", "cross-fitted" or "hold-out" (see hamacho_core.intervals)

    @property
    def n_defect(self) -> int:
        return self.tp + self.fn

    @property
    def n_good(self) -> int:
        return self.fp + self.tn

    @property
    def n_pictures(self) -> int:
        return self.n_defect + self.n_good

    @property
    def miss_rate(self) -> Estimate:
        """1 - recall, with the flipped interval: the miss rate that cannot be ruled out is ``1 - recall.low``."""
        return Estimate(1 - self.recall.value, 1 - self.recall.high, 1 - self.recall.low, self.fn, self.n_defect,
                        self.recall.provenance)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CostCurve:
    """Expected cost per 1,000 parts over every distinct threshold (piecewise constant between them)."""

    thresholds: np.ndarray  # (T,) lower ends of the plateaus: threshold t flags pictures with norm > t
    upper: np.ndarray  # (T,) upper ends (exclusive) of the plateaus
    cost: np.ndarray  # (T,) on the test pictures
    low: np.ndarray  # (T,) bootstrap interval
    high: np.ndarray  # (T,)


@dataclass
class CostChoice:
    """A threshold (the cheapest, or any with :meth:`Decisions.cost_at`) and what it means per 1,000 parts."""

    threshold: float  # a value inside the cheapest plateau, snapped for the slider
    threshold_interval: tuple[float, float] | None  # where the cheapest threshold falls across resamples
    cost: Estimate  # expected cost per 1,000 parts (bootstrap interval, exact bounds where resamples agree)
    false_alarms: Estimate  # per 1,000 parts (Clopper-Pearson on the false-alarm rate)
    escapes: Estimate  # missed defects per 1,000 parts (Clopper-Pearson on the miss rate)
    costs: Costs


@dataclass
class ConstraintChoice:
    """A threshold chosen by a constraint (None when no threshold meets it), with its figures."""

    kind: str  # "min_recall" | "max_false_alarm_rate"
    target: float
    threshold: float | None
    intervals: ThresholdIntervals | None


@dataclass
class TypeResult:
    """Recall of one defect type at a threshold, and pixel figures when masks exist."""

    defect_type: str
    recall: Estimate  # count = caught pictures, total = pictures of the type
    pixel_recall: float | None = None  # share of the type's defect pixels marked (preview resolution)
    pixel_precision: float | None = None  # share of marked pixels that are defect, on the type's pictures
    pixel_iou: float | None = None


@dataclass
class FolderResult:
    """False alarms among the good pictures of one sub-folder."""

    folder: str
    false_alarm_rate: Estimate  # count = false alarms, total = good pictures in the folder




@dataclass
class Reason:
    """A statement the page, the report and the CLI word in their language: a code and its numbers.

    Codes: "provenance" (provenance, n, n_defect, n_good, folds), "recall" (recall, low, high, n, miss),
    "width_done" (width), "width_needed" (n, width), "width_never" (width).
    """

    code: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class ThresholdAnswer:
    """Everything the product states at one normalized threshold, for the page, the report and ``hamacho threshold``.

    ``headline`` is the honest figure set (hold-out when the run has one, else cross-fitted; fitted only when
    cross-fitting is impossible, e.g. a class with fewer than 2 pictures); ``fitted`` the counts at the threshold
    chosen on the same pictures, for reference; ``saved`` the headline figures at the run's saved threshold (what a
    move changes). The reason codes carry the numbers of every sentence; the callers word them.
    """

    threshold: float
    headline: ThresholdIntervals
    fitted: ThresholdIntervals
    reasons: list[Reason]
    cost: CostChoice | None = None  # at this threshold, when costs were given
    types: list[TypeResult] = field(default_factory=list)  # headline recall per defect type
    folders: list[FolderResult] = field(default_factory=list)  # headline false alarms per good folder
    cheapest: CostChoice | None = None  # the cheapest threshold under the costs (and the constraints, when asked)
    constraints: list[ConstraintChoice] = field(default_factory=list)  # one per constraint asked
    saved: ThresholdIntervals | None = None  # headline figures at the run's saved threshold
    width: float = 0.1  # the interval width the "pictures needed" reason answers

    @property
    def provenance(self) -> str:
        return self.headline.provenance

    def reason(self, code: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def constraint(self, kind: str) -> ConstraintChoice | None:
        """The answer to the constraint ``kind`` ("min_recall" | "max_false_alarm_rate"), when it was asked."""
        return next((c for c in self.constraints if c.kind == kind), None)


# ------------------------------------------------------------------------------------------------ one basis
class _Verdicts:
    """Verdicts ``score > t`` of one set of pictures and one provenance, with the stratified bootstrap drawn once.

    Args:
        labels: (N,) 1 = defect. scores: (N,) normalized scores the verdicts compare. raw: (N,) raw scores (AUROC).
    """

    def __init__(self, labels: np.ndarray, scores: np.ndarray, raw: np.ndarray, provenance: str, n_resamples: int,
                 seed: int, confidence: float):
        self.labels = np.asarray(labels).astype(bool)
        self.scores = np.asarray(scores, dtype=np.float64)
        self.provenance, self.confidence, self.n_resamples = provenance, confidence, n_resamples
        self.n_defect, self.n_good = int(self.labels.sum()), int((~self.labels).sum())
        weights = stratified_weights(self.labels, n_resamples, seed)
        both = self.n_defect > 0 and self.n_good > 0
        self.auroc = self._auroc(raw, weights) if both else None
        order = np.argsort(self.scores, kind="stable")
        self.sorted_scores = self.scores[order]
        sorted_weights, sorted_labels = weights[:, order], self.labels[order]
        zero = np.zeros((n_resamples, 1), np.int32)
        # (B, N + 1): resampled defect / good pictures with a score <= sorted_scores[k - 1], i.e. judged good
        self.defect_below = np.hstack([zero, np.cumsum(np.where(sorted_labels, sorted_weights, 0), axis=1,
                                                        dtype=np.int32)])
        self.good_below = np.hstack([zero, np.cumsum(np.where(sorted_labels, 0, sorted_weights), axis=1,
                                                      dtype=np.int32)])
        self.defect_cumulative = np.concatenate([[0], np.cumsum(sorted_labels)])  # (N + 1,) full-sample version
        inside = self.sorted_scores[(self.sorted_scores >= 0) & (self.sorted_scores < 1)]
        lower = np.unique(np.concatenate([[0.0], inside]))
        self.cuts = (lower, np.append(lower[1:], 1.0))  # plateaus of the threshold in [0, 1]: every decision

    def _auroc(self, raw: np.ndarray, weights: np.ndarray) -> Estimate:
        """Bootstrap percentile interval; at perfect separation (or inversion) the exact pair bound keeps a width."""
        value = float(roc_auc_score(self.labels, raw))
        low, high = (float(v) for v in percentiles(weighted_auroc(self.labels, raw, weights), self.confidence))
        bound = auroc_bound(self.n_defect, self.n_good, self.confidence)
        if value >= 1.0:
            low = min(low, bound)
        elif value <= 0.0:
            high = max(high, 1.0 - bound)
        return Estimate(value, low, high, provenance=self.provenance)

    def counts(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-sample (TP, FP) at each threshold: (T,), (T,)."""
        k = np.searchsorted(self.sorted_scores, np.asarray(thresholds, dtype=np.float64), side="right")
        below_defect = self.defect_cumulative[k]
        return self.n_defect - below_defect, self.n_good - (k - below_defect)

    def resampled(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap (TP, FP) at each threshold: (B, T), (B, T)."""
        k = np.searchsorted(self.sorted_scores, np.asarray(thresholds, dtype=np.float64), side="right")
        return self.n_defect - self.defect_below[:, k], self.n_good - self.good_below[:, k]

    def interval(self, samples: np.ndarray, value: float, corners: tuple[float, float] | None = None) -> Estimate:
        """Percentile interval of ``samples``, widened to ``corners`` (the exact-bound values) when given."""
        low, high = (float(v) for v in percentiles(samples, self.confidence))
        if corners is not None:
            low, high = min(low, *corners), max(high, *corners)
        return Estimate(float(value), low, high, provenance=self.provenance)

    def corners(self, tp: int, fp: int, figure: Callable[[float, float], float]) -> tuple[float, float] | None:
        """``figure(recall, false-alarm rate)`` at the exact bounds of the rates the bootstrap cannot move, or None."""
        if tp not in (0, self.n_defect) and fp not in (0, self.n_good):
            return None
        (r_low, r_high), (f_low, f_high) = rate_corners(tp, self.n_defect, fp, self.n_good, self.confidence)
        return figure(r_low, f_high), figure(r_high, f_low)

    def f1(self, recall: np.ndarray | float, false_alarm_rate: np.ndarray | float) -> np.ndarray:
        """F1 from the two rates at this set's class sizes."""
        tp, fp = np.asarray(recall) * self.n_defect, np.asarray(false_alarm_rate) * self.n_good
        return 2 * tp / np.maximum(tp + fp + self.n_defect, 1e-12)

    def rates(self, tp: np.ndarray, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(miss rate, false-alarm rate) from counts (any shape)."""
        return (self.n_defect - tp) / max(self.n_defect, 1), fp / max(self.n_good, 1)

    def at(self, threshold: float) -> ThresholdIntervals:
        """Every image figure at ``threshold`` (normalized), with intervals. O(B) per call."""
        tp, fp = (int(v[0]) for v in self.counts(np.array([threshold])))
        fn, tn = self.n_defect - tp, self.n_good - fp
        tp_b, fp_b = (v[:, 0].astype(np.float64) for v in self.resampled(np.array([threshold])))
        f1_b = 2 * tp_b / np.maximum(tp_b + fp_b + self.n_defect, 1)
        f1 = 2 * tp / max(tp + fp + self.n_defect, 1)
        corners = self.corners(tp, fp, lambda r, f: float(self.f1(r, f))) if self.n_defect else None
        c, p = self.confidence, self.provenance
        figures = [proportion(tp, tp + fp, c), proportion(tp, self.n_defect, c), proportion(fp, self.n_good, c),
                   proportion(tp + tn, tp + tn + fp + fn, c)]
        for estimate in figures:
            estimate.provenance = p
        return ThresholdIntervals(float(threshold), *figures, self.interval(f1_b, f1, corners), self.auroc,
                                  tp, fp, tn, fn, p)


# ------------------------------------------------------------------------------------------------ the analysis
class Decisions:
    """Figures, intervals, costs and per-type results of one run; the bootstraps are drawn once, in the constructor.

    Args:
        evaluation: the run's test results.
        n_resamples: bootstrap resamples (>= 1,000 for the percentiles to settle).
        seed: bootstrap and fold seed (same seed, same intervals).
        confidence: interval level.
        holdout: the run's sealed hold-out pictures scored with its normalization (``Evaluation.load_holdout``);
            when given, the headline figures are counted on them.

    Attributes:
        headline_: the verdicts every figure, cost, band and constraint uses (hold-out, else cross-fitted, else
            fitted); fitted_: the verdicts at the threshold fitted on the same pictures.
    """

    def __init__(self, evaluation: Evaluation, n_resamples: int = N_RESAMPLES, seed: int = 420,
                 confidence: float = CONFIDENCE, holdout: Evaluation | None = None):
        self.evaluation, self.holdout = evaluation, holdout
        self.n_resamples, self.seed, self.confidence = n_resamples, seed, confidence
        make = lambda e, scores, provenance: _Verdicts(e.labels, scores, e.raw_scores, provenance,  # noqa: E731
                                                       n_resamples, seed, confidence)
        self.fitted_ = make(evaluation, evaluation.normalized_scores, FITTED)
        crossed = evaluation.cross_fitted_scores(seed)
        self.cross_fitted_ = None if crossed is None else make(evaluation, crossed, CROSS_FITTED)
        self.holdout_ = (make(holdout, holdout.normalized_scores, HOLD_OUT)
                         if holdout is not None and len(holdout.labels) else None)
        self.headline_ = self.holdout_ or self.cross_fitted_ or self.fitted_
        self.source_ = holdout if self.holdout_ is not None else evaluation  # the pictures the headline counts
        folds = evaluation.folds if evaluation.folds is not None else label_folds(evaluation.labels, seed=seed)
        self.n_folds_ = None if crossed is None else int(len(np.unique(folds)))  # the folds cross_fitted_scores used
        # bands, cost curves, the cheapest threshold, constraints, groupings: they do not depend on the threshold
        self._memo: OrderedDict[Any, Any] = OrderedDict()
        self._memo_lock = threading.Lock()  # one Decisions serves every browser session on the run

    @classmethod
    def for_run(cls, run_dir: str | Path, **options: Any) -> Decisions:
        """The decisions of a saved run: its test results and, when it has one, its sealed hold-out."""
        return cls(Evaluation.load(run_dir), holdout=load_holdout(run_dir), **options)

    # ------------------------------------------------------------------------------------- compatibility names
    @property
    def n_defect_(self) -> int:
        return self.headline_.n_defect

    @property
    def n_good_(self) -> int:
        return self.headline_.n_good

    @property
    def labels_(self) -> np.ndarray:
        return self.headline_.labels

    @property
    def scores_(self) -> np.ndarray:
        """(N,) the normalized scores the headline verdicts compare (cross-fitted, hold-out or fitted)."""
        return self.headline_.scores

    @property
    def cuts_(self) -> tuple[np.ndarray, np.ndarray]:
        """Plateaus of the headline threshold in [0, 1]: (lower ends, upper ends)."""
        return self.headline_.cuts

    @property
    def provenance(self) -> str:
        return self.headline_.provenance

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per key (figures that do not depend on the threshold); the MEMO_ENTRIES last used kept."""
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = make()
        with self._memo_lock:
            self._memo[key] = value
            while len(self._memo) > MEMO_ENTRIES:
                self._memo.popitem(last=False)
        return value

    # ------------------------------------------------------------------------------------------- at a threshold
    def at(self, threshold: float) -> ThresholdIntervals:
        """The headline figures at ``threshold`` (normalized), with intervals and provenance. O(B) per call."""
        return self.headline_.at(threshold)

    def fitted_at(self, threshold: float) -> ThresholdIntervals:
        """The figures counted on the same pictures the threshold was fitted on (provenance "fitted")."""
        return self.fitted_.at(threshold)

    def answer(self, threshold: float, costs: Costs | None = None, width: float = 0.1,
               normalized_pixel_threshold: float | None = None, min_recall: float | None = None,
               max_false_alarm_rate: float | None = None, cheapest_meets_constraints: bool = False) -> ThresholdAnswer:
        """Everything stated at ``threshold``, in one object: headline and fitted figures, the saved threshold's
        headline figures, reason codes, per type and folder; with ``costs`` the cost here and the cheapest
        threshold; with ``min_recall`` / ``max_false_alarm_rate`` the threshold each constraint chooses.

        ``cheapest_meets_constraints``: the cheapest threshold among those meeting the constraints (``hamacho
        threshold``); else the cheapest of all (the page states the constraints apart). The threshold-free parts
        (bootstrap, cost curves, cheapest, constraints, the saved figures) are memoised on this object, so a
        slider move costs a few O(resamples) look-ups.
        """
        headline = self.at(threshold)
        priced = costs is not None and headline.n_defect > 0 and headline.n_good > 0
        constraints = []
        if min_recall is not None:
            constraints.append(self.highest_with_recall(min_recall))
        if max_false_alarm_rate is not None:
            constraints.append(self.lowest_with_false_alarm_rate(max_false_alarm_rate))
        limits = (min_recall, max_false_alarm_rate) if cheapest_meets_constraints else (None, None)
        saved = float(self.evaluation.normalization.normalized_image_threshold)
        return ThresholdAnswer(
            float(threshold), headline, self.fitted_at(threshold), self.reasons(headline, width),
            self.cost_at(threshold, costs, headline) if priced else None,
            self.per_type(threshold, normalized_pixel_threshold), self.false_alarms_by_folder(threshold),
            self.cheapest(costs, *limits) if priced else None, constraints,
            headline if threshold == saved else self.memo(("saved", saved), lambda: self.at(saved)), width)

    def reasons(self, figures: ThresholdIntervals, width: float = 0.1) -> list[Reason]:
        """The reason codes and numbers of the sentences about ``figures``."""
        reasons = [Reason("provenance", {"provenance": figures.provenance, "n": figures.n_pictures,
                                         "n_defect": figures.n_defect, "n_good": figures.n_good,
                                         "folds": self.n_folds_})]
        if figures.n_defect == 0:
            return reasons
        recall = figures.recall
        reasons.append(Reason("recall", {"recall": recall.value, "low": recall.low, "high": recall.high,
                                         "n": figures.n_defect, "miss": 1 - recall.low}))
        if recall.width <= width:
            reasons.append(Reason("width_done", {"width": width}))
        elif (needed := pictures_for_width(recall.value, width, self.confidence)) is None:
            reasons.append(Reason("width_never", {"width": width}))
        else:
            reasons.append(Reason("width_needed", {"n": needed, "width": width}))
        return reasons

    # ------------------------------------------------------------------------------------------------ bands
    def roc_band(self, n_points: int = 101) -> dict[str, list[float]]:
        """Pointwise 95 % band of the ROC curve: true-positive rate at fixed false-positive rates (memoised)."""
        return self.memo(("roc_band", n_points), lambda: self._roc_band(n_points))

    def _roc_band(self, n_points: int) -> dict[str, list[float]]:
        basis = self.headline_
        thresholds = np.append(basis.cuts[0], 1.0)
        tp_b, fp_b = basis.resampled(thresholds)  # (B, T), non-increasing along T
        grid = np.linspace(0, 1, n_points)
        limit = np.floor(grid * basis.n_good + 1e-9).astype(int)  # false alarms allowed at each grid fpr
        # the best tpr with fp <= limit sits at the first threshold index where fp <= limit
        first = thresholds.size - count_at_most(fp_b, basis.n_good)[:, limit]  # (B, G)
        padded = np.hstack([tp_b, np.zeros((self.n_resamples, 1), tp_b.dtype)])
        rows = np.take_along_axis(padded, first, axis=1) / max(basis.n_defect, 1)
        low, high = percentiles(rows, self.confidence)
        return {"fpr": grid.tolist(), "low": low.tolist(), "high": high.tolist()}

    def pr_band(self, n_points: int = 101) -> dict[str, list[float]]:
        """Pointwise 95 % band of the PR curve: the best precision reached at or above each recall (memoised)."""
        return self.memo(("pr_band", n_points), lambda: self._pr_band(n_points))

    def _pr_band(self, n_points: int) -> dict[str, list[float]]:
        basis = self.headline_
        thresholds = basis.cuts[0]
        tp_b, fp_b = basis.resampled(thresholds)  # (B, T), non-increasing along T
        precision_b = np.where(tp_b + fp_b > 0, tp_b / np.maximum(tp_b + fp_b, 1), 1.0)
        best_before = np.hstack([np.zeros((self.n_resamples, 1)), np.maximum.accumulate(precision_b, axis=1)])
        grid = np.linspace(0, 1, n_points)
        needed = np.ceil(grid * basis.n_defect - 1e-9).astype(int)  # caught defects for each grid recall
        at_most = count_at_most(tp_b, basis.n_defect)
        # thresholds reaching the recall form a prefix of length (T - #{tp <= needed - 1})
        reach = thresholds.size - np.where(needed > 0, at_most[:, np.maximum(needed - 1, 0)], 0)
        rows = np.take_along_axis(best_before, reach, axis=1)
        low, high = percentiles(rows, self.confidence)
        return {"recall": grid.tolist(), "low": low.tolist(), "high": high.tolist()}

    # ------------------------------------------------------------------------------------------------- costs
    def _resampled_cost(self, costs: Costs, thresholds: np.ndarray) -> np.ndarray:
        """(B, T) expected cost per 1,000 parts of each resample at each threshold."""
        basis = self.headline_
        return costs.per_parts(*basis.rates(*basis.resampled(thresholds)))

    def cost_curve(self, costs: Costs) -> CostCurve:
        """Expected cost per 1,000 parts at every distinct threshold, with its bootstrap band (memoised)."""
        return self.memo(("cost_curve", costs.key()), lambda: self._cost_curve(costs))

    def _cost_curve(self, costs: Costs) -> CostCurve:
        basis = self.headline_
        lower, upper = basis.cuts
        cost = costs.per_parts(*basis.rates(*basis.counts(lower)))
        low, high = percentiles(self._resampled_cost(costs, lower), self.confidence)
        return CostCurve(lower, upper, cost, low, high)

    def cheapest(self, costs: Costs, min_recall: float | None = None,
                 max_false_alarm_rate: float | None = None) -> CostChoice | None:
        """The threshold with the lowest expected cost per 1,000 parts (the lowest one on ties: fewer misses).

        With ``min_recall`` / ``max_false_alarm_rate``, only thresholds meeting them on the headline verdicts are
        considered (None when none does). The threshold interval is where the cheapest allowed threshold falls
        across the bootstrap resamples. Memoised per costs and constraints.
        """
        return self.memo(("cheapest", costs.key(), min_recall, max_false_alarm_rate),
                         lambda: self._cheapest(costs, min_recall, max_false_alarm_rate))

    def _cheapest(self, costs: Costs, min_recall: float | None,
                  max_false_alarm_rate: float | None) -> CostChoice | None:
        lower, upper = self.headline_.cuts
        curve = self.cost_curve(costs)
        allowed = self._allowed(min_recall, max_false_alarm_rate)
        if not allowed.any():
            return None
        best = int(np.argmin(np.where(allowed, curve.cost, np.inf)))
        snapped = self.memo("snapped", lambda: np.array([snap_inside(float(a), float(b))  # each plateau's value
                                                         for a, b in zip(lower, upper, strict=True)]))
        cost_b = self._resampled_cost(costs, lower)  # (B, T): used once per costs (the result is memoised)
        chosen_b = snapped[np.argmin(np.where(allowed[None, :], cost_b, np.inf), axis=1)]
        spread = percentiles(chosen_b, self.confidence)
        choice = self.cost_at(snap_inside(float(lower[best]), float(upper[best])), costs)
        choice.threshold_interval = (float(spread[0]), float(spread[1]))
        return choice

    def cost_at(self, threshold: float, costs: Costs, figures: ThresholdIntervals | None = None) -> CostChoice:
        """Expected cost, false alarms and escapes per 1,000 parts at ``threshold`` (no threshold interval).

        ``figures``: the headline figures at ``threshold`` when the caller already has them (``answer``)."""
        basis = self.headline_
        figures = basis.at(threshold) if figures is None else figures
        fa, miss = figures.false_alarm_rate, figures.miss_rate
        cost_b = self._resampled_cost(costs, np.array([threshold]))[:, 0]
        cost = float(costs.per_parts(miss.value, fa.value))
        corners = basis.corners(figures.tp, figures.fp, lambda r, f: float(costs.per_parts(1 - r, f)))
        good_parts, bad_parts = PER_PARTS * (1 - costs.defect_rate), PER_PARTS * costs.defect_rate
        scale = lambda e, parts: Estimate(parts * e.value, parts * e.low, parts * e.high,  # noqa: E731
                                          e.count, e.total, e.provenance)
        return CostChoice(float(threshold), None, basis.interval(cost_b, cost, corners), scale(fa, good_parts),
                          scale(miss, bad_parts), costs)

    def _allowed(self, min_recall: float | None, max_false_alarm_rate: float | None) -> np.ndarray:
        """(T,) which plateaus meet the constraints on the headline verdicts."""
        basis = self.headline_
        tp, fp = basis.counts(basis.cuts[0])
        allowed = np.ones(tp.size, bool)
        if min_recall is not None:
            allowed &= tp / max(basis.n_defect, 1) >= min_recall - 1e-12
        if max_false_alarm_rate is not None:
            allowed &= fp / max(basis.n_good, 1) <= max_false_alarm_rate + 1e-12
        return allowed

    # ------------------------------------------------------------------------------------------- constraints
    def highest_with_recall(self, min_recall: float) -> ConstraintChoice:
        """The highest threshold (fewest false alarms) whose headline recall is >= ``min_recall`` (memoised)."""
        return self.memo(("min_recall", min_recall), lambda: self._choice("min_recall", min_recall))

    def lowest_with_false_alarm_rate(self, max_false_alarm_rate: float) -> ConstraintChoice:
        """The lowest threshold (most defects caught) whose headline false-alarm rate is <= the target (memoised)."""
        return self.memo(("max_false_alarm_rate", max_false_alarm_rate),
                         lambda: self._choice("max_false_alarm_rate", max_false_alarm_rate))

    def _choice(self, kind: str, target: float) -> ConstraintChoice:
        if kind == "min_recall":
            meets = np.flatnonzero(self._allowed(target, None))
            index = int(meets[-1]) if meets.size else None
        else:
            meets = np.flatnonzero(self._allowed(None, target))
            index = int(meets[0]) if meets.size else None
        if index is None:
            return ConstraintChoice(kind, target, None, None)
        lower, upper = self.headline_.cuts
        threshold = snap_inside(float(lower[index]), float(upper[index]))
        return ConstraintChoice(kind, target, threshold, self.at(threshold))

    # -------------------------------------------------------------------------------------------- per type
    def per_type(self, threshold: float, normalized_pixel_threshold: float | None = None) -> list[TypeResult]:
        """Headline recall per defect type at ``threshold``; pixel figures at ``normalized_pixel_threshold``
        with masks (those use the run's normalization: pixel thresholds are not cross-fitted)."""
        source, basis = self.source_, self.headline_
        flagged = basis.scores > threshold
        results = []
        for name, members in self.memo("types", self._types).items():  # grouping once per run
            result = TypeResult(name, proportion(int(flagged[members].sum()), members.size, self.confidence))
            result.recall.provenance = basis.provenance
            if source.masks is not None and normalized_pixel_threshold is not None:
                result.pixel_recall, result.pixel_precision, result.pixel_iou = self.memo(
                    ("pixels", name, normalized_pixel_threshold),
                    lambda members=members: _pixel_figures(source, members, normalized_pixel_threshold))
            results.append(result)
        return results

    def _types(self) -> dict[str, np.ndarray]:
        labels = self.headline_.labels
        types = np.asarray(self.source_.defect_types, dtype=object)
        return {name: np.flatnonzero(labels & (types == name)) for name in sorted({str(v) for v in types[labels]})}

    def false_alarms_by_folder(self, threshold: float) -> list[FolderResult]:
        """Headline false alarms among the good pictures, per sub-folder they came from."""
        basis = self.headline_
        folders = self.memo("folders", self._folders)  # path handling once per run, not per slider move
        flagged = basis.scores > threshold
        results = []
        for name, members in folders.items():
            rate = proportion(int(flagged[members].sum()), members.size, self.confidence)
            rate.provenance = basis.provenance
            results.append(FolderResult(name, rate))
        return results

    def _folders(self) -> dict[str, np.ndarray]:
        labels = self.headline_.labels
        folders = np.asarray(_good_folders(self.source_), dtype=object)
        return {name: np.flatnonzero(~labels & (folders == name))
                for name in sorted({folders[i] for i in np.flatnonzero(~labels)})}


def load_holdout(run_dir: str | Path) -> Evaluation | None:
    """The run's sealed hold-out pictures scored with its normalization, or None (no hold-out, or a Hamacho
    without hold-out support)."""
    loader = getattr(Evaluation, "load_holdout", None)
    return None if loader is None else loader(run_dir)


def _pixel_figures(evaluation: Evaluation, members: np.ndarray,
                   normalized_threshold: float) -> tuple[float, float, float]:
    """(recall, precision, IoU) of the predicted defect pixels on the given pictures (preview size)."""
    truth = evaluation.masks[members]
    normalized_maps = evaluation.normalization.normalize_maps(evaluation.maps[members].astype(np.float32))
    predicted = normalized_maps > normalized_threshold
    hit = int(np.sum(predicted & truth))
    n_truth, n_predicted = int(truth.sum()), int(predicted.sum())
    union = n_truth + n_predicted - hit
    return hit / max(n_truth, 1), hit / n_predicted if n_predicted else 0.0, hit / union if union else 0.0


def _good_folders(evaluation: Evaluation) -> list[str]:
    """The sub-folder each picture came from, named from the folder that holds all the good pictures.

    ``.../good/line1/a.png`` and ``.../good/line2/b.png`` give ``good/line1`` and ``good/line2``; when every good
    picture sits in one folder, that folder's name (``good``).
    """
    parents = [Path(p).parent for p in evaluation.paths]
    good = [parents[i] for i in np.flatnonzero(np.asarray(evaluation.labels) == 0)]
    if not good:
        return [p.name for p in parents]
    try:
        root = Path(os.path.commonpath([str(p) for p in good]))
    except ValueError:  # different drives
        return [p.name for p in parents]
    base = root.parent
    return [p.relative_to(base).as_posix() if p.is_relative_to(base) else p.name for p in parents]
