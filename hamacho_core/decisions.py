"""Decisions an analyst can defend: intervals, a cost-based operating point, per-defect-type results, runs compared.

Everything works on an :class:`~hamacho_core.evaluation.Evaluation` (cached test scores; no model call) and on the
normalized threshold scale of the rest of Hamacho (0.5 = the fitted threshold; ``norm > threshold`` = defect).

* Proportions (precision, recall, false-alarm rate, accuracy) get exact binomial Clopper-Pearson intervals
  (``scipy.stats.beta``: the exact quantiles, no normal approximation that breaks at 0/40 or 40/40).
* F1, AUROC, the expected cost and the cheapest threshold get a seeded, stratified percentile bootstrap: each
  resample draws the defect and the good pictures apart (class sizes fixed), and is kept as cumulative counts along
  the sorted scores, so any threshold's resampled confusion matrices cost two array look-ups (O(B)). What does not
  depend on the threshold is computed once per :class:`Decisions` object; callers cache that object per run.
* Text (EN/JA sentences) lives in the UI and the CLI; this module returns numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import beta
from sklearn.metrics import roc_auc_score

from hamacho_core.atomic import atomic_write_text
from hamacho_core.errors import ConfigError
from hamacho_core.evaluation import Evaluation

__all__ = [
    "Comparison",
    "ConstraintChoice",
    "CostChoice",
    "CostCurve",
    "Costs",
    "Decisions",
    "Disagreement",
    "Estimate",
    "FolderResult",
    "RunSummary",
    "ThresholdIntervals",
    "TypeResult",
    "clopper_pearson",
    "compare_runs",
    "load_costs",
    "pictures_for_width",
    "save_costs",
    "snap_inside",
    "stratified_weights",
    "weighted_auroc",
]

CONFIDENCE = 0.95
N_RESAMPLES = 1000
PER_PARTS = 1000.0  # costs and counts are stated per 1,000 parts


# ------------------------------------------------------------------------------------------------ plain intervals
@dataclass
class Estimate:
    """A figure with its interval (and, for proportions, the counts it comes from)."""

    value: float
    low: float
    high: float
    count: int | None = None  # numerator of a proportion
    total: int | None = None  # denominator of a proportion

    @property
    def width(self) -> float:
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion; (0, 1) when ``trials`` is 0.

    Example: 19 of 20 gives (0.751, 0.999) at 95 %.
    """
    if trials <= 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    low = 0.0 if successes <= 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes >= trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return low, high


def proportion(successes: int, trials: int, confidence: float = CONFIDENCE) -> Estimate:
    """``successes / trials`` with its Clopper-Pearson interval (value 0 when there is no trial)."""
    low, high = clopper_pearson(successes, trials, confidence)
    return Estimate(successes / trials if trials else 0.0, low, high, int(successes), int(trials))


def _cp_widths(rate: float, trials: np.ndarray, confidence: float) -> np.ndarray:
    """Clopper-Pearson widths at ``round(rate * n)`` successes for each n in ``trials`` (vectorised)."""
    alpha = 1.0 - confidence
    successes = np.clip(np.round(rate * trials), 0, trials)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(successes > 0, beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
        high = np.where(successes < trials, beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return high - low


def pictures_for_width(rate: float, width: float, confidence: float = CONFIDENCE,
                       limit: int = 1_000_000) -> int | None:
    """How many pictures (e.g. defect pictures for recall) bring the exact interval of ``rate`` under ``width``.

    Assumes the observed rate stays as it is. Returns None when even ``limit`` pictures do not suffice.
    """
    if not 0.0 < width < 1.0:
        raise ConfigError(f"the interval width must be between 0 and 1 (got {width})")
    start = 1
    while start <= limit:
        stop = min(max(2 * start, 1024), limit + 1)
        trials = np.arange(start, stop, dtype=np.float64)
        small = np.flatnonzero(_cp_widths(rate, trials, confidence) <= width)
        if small.size:
            return int(trials[small[0]])
        start = stop
    return None


# ---------------------------------------------------------------------------------------------------- bootstrap
def stratified_weights(labels: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 420) -> np.ndarray:
    """How often each picture is drawn in each stratified bootstrap resample.

    Args:
        labels: (N,) 1 = defect.

    Returns:
        (n_resamples, N) int32; every row holds as many defect and good draws as ``labels`` has.
    """
    labels = np.asarray(labels).astype(bool)
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_resamples, labels.size), np.int32)
    for members in (np.flatnonzero(labels), np.flatnonzero(~labels)):
        if members.size:
            weights[:, members] = rng.multinomial(members.size, np.full(members.size, 1.0 / members.size),
                                                  size=n_resamples)
    return weights


def weighted_auroc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC of each weighted resample (ties count one half), without a Python loop.

    Args:
        labels: (N,) 1 = defect; scores: (N,) higher = more anomalous; weights: (B, N) draw counts.

    Returns:
        (B,) AUROC per resample (NaN where a resample lacks a class).
    """
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(scores, kind="stable")
    sorted_scores = np.asarray(scores, dtype=np.float64)[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_scores)) + 1])
    sorted_weights = weights[:, order].astype(np.float64)
    sorted_labels = labels[order]
    positives = np.add.reduceat(np.where(sorted_labels, sorted_weights, 0.0), starts, axis=1)  # (B, G)
    negatives = np.add.reduceat(np.where(sorted_labels, 0.0, sorted_weights), starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positives * (below + 0.5 * negatives)).sum(axis=1) / pairs


def _percentiles(values: np.ndarray, confidence: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    alpha = 100 * (1 - confidence) / 2
    percentile = np.nanpercentile if np.isnan(values).any() else np.percentile  # the NaN-aware one is ~5x slower
    low, high = percentile(values, [alpha, 100 - alpha], axis=axis)
    return low, high


def _count_at_most(counts: np.ndarray, largest: int) -> np.ndarray:
    """For (B, T) integer counts in [0, largest]: (B, largest + 1), entry [b, c] = #{j: counts[b, j] <= c}."""
    rows = counts.shape[0]
    flat = (np.arange(rows)[:, None] * (largest + 1) + counts).ravel()
    histogram = np.bincount(flat, minlength=rows * (largest + 1)).reshape(rows, largest + 1)
    return np.cumsum(histogram, axis=1)


def snap_inside(low: float, high: float) -> float:
    """The shortest decimal in [low, high) near its middle (0.47 rather than 0.4712), so a slider can hold it."""
    middle = (low + high) / 2
    for digits in range(1, 7):
        value = round(middle, digits)
        if low <= value < high or (low == high and value == low):
            return value
    return float(middle)


# ------------------------------------------------------------------------------------------------ result types
@dataclass
class ThresholdIntervals:
    """Image figures at one normalized threshold, each with its 95 % interval."""

    threshold: float
    precision: Estimate  # Clopper-Pearson on TP / (TP + FP)
    recall: Estimate  # Clopper-Pearson on TP / defect pictures
    false_alarm_rate: Estimate  # Clopper-Pearson on FP / good pictures
    accuracy: Estimate  # Clopper-Pearson on (TP + TN) / pictures
    f1: Estimate  # stratified bootstrap
    auroc: Estimate | None  # stratified bootstrap (raw scores); None with one class
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n_defect(self) -> int:
        return self.tp + self.fn

    @property
    def n_good(self) -> int:
        return self.fp + self.tn

    @property
    def miss_rate(self) -> Estimate:
        """1 - recall, with the flipped interval: the miss rate that cannot be ruled out is ``1 - recall.low``."""
        return Estimate(1 - self.recall.value, 1 - self.recall.high, 1 - self.recall.low, self.fn, self.n_defect)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Costs:
    """What the line pays: a missed defect, a false alarm (re-inspection), and the share of defective parts."""

    cost_miss: float
    cost_false_alarm: float
    defect_rate: float  # fraction of parts that are defective on the line (e.g. 0.002 = 2 per 1,000 = 2,000 ppm)

    def __post_init__(self) -> None:
        if self.cost_miss < 0 or self.cost_false_alarm < 0:
            raise ConfigError("costs must be 0 or more")
        if self.cost_miss + self.cost_false_alarm <= 0:
            raise ConfigError("give a cost for a missed defect or for a false alarm (both are 0)")
        if not 0.0 < self.defect_rate < 1.0:
            raise ConfigError(f"the defect rate must be a fraction between 0 and 1 (got {self.defect_rate}); "
                              "for 3 per 1,000 give 0.003")

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Costs:
        return cls(float(data["cost_miss"]), float(data["cost_false_alarm"]), float(data["defect_rate"]))

    def per_parts(self, miss_rate: np.ndarray | float, false_alarm_rate: np.ndarray | float) -> np.ndarray:
        """Expected cost per 1,000 parts for the given miss and false-alarm rates (any shape)."""
        return PER_PARTS * (self.defect_rate * np.asarray(miss_rate) * self.cost_miss
                            + (1 - self.defect_rate) * np.asarray(false_alarm_rate) * self.cost_false_alarm)


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
    cost: Estimate  # expected cost per 1,000 parts (bootstrap interval)
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


# ------------------------------------------------------------------------------------------------ the analysis
class Decisions:
    """Intervals, costs and per-type figures of one evaluation; the bootstrap is drawn once, in the constructor.

    Args:
        evaluation: the run's test results.
        n_resamples: bootstrap resamples (>= 1,000 for the percentiles to settle).
        seed: bootstrap seed (same seed, same intervals).
        confidence: interval level.
    """

    def __init__(self, evaluation: Evaluation, n_resamples: int = N_RESAMPLES, seed: int = 420,
                 confidence: float = CONFIDENCE):
        self.evaluation = evaluation
        self.n_resamples, self.seed, self.confidence = n_resamples, seed, confidence
        self.labels_ = np.asarray(evaluation.labels).astype(bool)
        self.scores_ = np.asarray(evaluation.normalized_scores, dtype=np.float64)
        self.n_defect_, self.n_good_ = int(self.labels_.sum()), int((~self.labels_).sum())
        weights = stratified_weights(self.labels_, n_resamples, seed)
        self.auroc_samples_ = (weighted_auroc(self.labels_, evaluation.raw_scores, weights)
                               if self.n_defect_ and self.n_good_ else None)
        self.auroc_ = (float(roc_auc_score(self.labels_, evaluation.raw_scores))
                       if self.auroc_samples_ is not None else None)
        order = np.argsort(self.scores_, kind="stable")
        self.sorted_scores_ = self.scores_[order]
        sorted_weights, sorted_labels = weights[:, order], self.labels_[order]
        zero = np.zeros((n_resamples, 1), np.int32)
        # (B, N + 1): resampled defect / good pictures with a score <= sorted_scores_[k - 1], i.e. judged good
        self.defect_below_ = np.hstack([zero, np.cumsum(np.where(sorted_labels, sorted_weights, 0), axis=1,
                                                          dtype=np.int32)])
        self.good_below_ = np.hstack([zero, np.cumsum(np.where(sorted_labels, 0, sorted_weights), axis=1,
                                                        dtype=np.int32)])
        self.cuts_ = self._cuts()
        self._memo: dict[tuple, Any] = {}  # bands: they do not depend on the threshold

    # -------------------------------------------------------------------------------------------- helpers
    def _cuts(self) -> tuple[np.ndarray, np.ndarray]:
        """Plateaus of the normalized threshold in [0, 1]: every distinct decision, as (lower, upper) ends."""
        inside = self.sorted_scores_[(self.sorted_scores_ >= 0) & (self.sorted_scores_ < 1)]
        lower = np.unique(np.concatenate([[0.0], inside]))
        upper = np.append(lower[1:], 1.0)
        return lower, upper

    def _counts(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-sample (TP, FP) at each threshold: (T,), (T,)."""
        predicted = self.scores_[None, :] > np.asarray(thresholds, dtype=np.float64)[:, None]
        return (predicted & self.labels_).sum(axis=1), (predicted & ~self.labels_).sum(axis=1)

    def _resampled_counts(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap (TP, FP) at each threshold: (B, T), (B, T)."""
        k = np.searchsorted(self.sorted_scores_, np.asarray(thresholds, dtype=np.float64), side="right")
        return self.n_defect_ - self.defect_below_[:, k], self.n_good_ - self.good_below_[:, k]

    def _interval(self, samples: np.ndarray, value: float) -> Estimate:
        low, high = _percentiles(samples, self.confidence)
        return Estimate(float(value), float(low), float(high))

    # ------------------------------------------------------------------------------------------- at a threshold
    def at(self, threshold: float) -> ThresholdIntervals:
        """Every image figure at ``threshold`` (normalized), with intervals. O(B) per call."""
        tp, fp = (int(v[0]) for v in self._counts(np.array([threshold])))
        fn, tn = self.n_defect_ - tp, self.n_good_ - fp
        tp_b, fp_b = (v[:, 0].astype(np.float64) for v in self._resampled_counts(np.array([threshold])))
        f1_b = 2 * tp_b / np.maximum(2 * tp_b + fp_b + (self.n_defect_ - tp_b), 1)
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        auroc = None if self.auroc_ is None else self._interval(self.auroc_samples_, self.auroc_)
        c = self.confidence
        return ThresholdIntervals(float(threshold), proportion(tp, tp + fp, c), proportion(tp, self.n_defect_, c),
                                  proportion(fp, self.n_good_, c), proportion(tp + tn, tp + tn + fp + fn, c),
                                  self._interval(f1_b, f1), auroc, tp, fp, tn, fn)

    def roc_band(self, n_points: int = 101) -> dict[str, list[float]]:
        """Pointwise 95 % band of the ROC curve: true-positive rate at fixed false-positive rates (memoised)."""
        key = ("roc_band", n_points)
        if key not in self._memo:
            self._memo[key] = self._roc_band(n_points)
        return self._memo[key]

    def _roc_band(self, n_points: int) -> dict[str, list[float]]:
        thresholds = np.append(self.cuts_[0], 1.0)
        tp_b, fp_b = self._resampled_counts(thresholds)  # (B, T), non-increasing along T
        grid = np.linspace(0, 1, n_points)
        limit = np.floor(grid * self.n_good_ + 1e-9).astype(int)  # false alarms allowed at each grid fpr
        # the best tpr with fp <= limit sits at the first threshold index where fp <= limit
        first = thresholds.size - _count_at_most(fp_b, self.n_good_)[:, limit]  # (B, G)
        padded = np.hstack([tp_b, np.zeros((self.n_resamples, 1), tp_b.dtype)])
        rows = np.take_along_axis(padded, first, axis=1) / max(self.n_defect_, 1)
        low, high = _percentiles(rows, self.confidence)
        return {"fpr": grid.tolist(), "low": low.tolist(), "high": high.tolist()}

    def pr_band(self, n_points: int = 101) -> dict[str, list[float]]:
        """Pointwise 95 % band of the PR curve: the best precision reached at or above each recall (memoised)."""
        key = ("pr_band", n_points)
        if key not in self._memo:
            self._memo[key] = self._pr_band(n_points)
        return self._memo[key]

    def _pr_band(self, n_points: int) -> dict[str, list[float]]:
        thresholds = self.cuts_[0]
        tp_b, fp_b = self._resampled_counts(thresholds)  # (B, T), non-increasing along T
        precision_b = np.where(tp_b + fp_b > 0, tp_b / np.maximum(tp_b + fp_b, 1), 1.0)
        best_before = np.hstack([np.zeros((self.n_resamples, 1)), np.maximum.accumulate(precision_b, axis=1)])
        grid = np.linspace(0, 1, n_points)
        needed = np.ceil(grid * self.n_defect_ - 1e-9).astype(int)  # caught defects for each grid recall
        at_most = _count_at_most(tp_b, self.n_defect_)
        # thresholds reaching the recall form a prefix of length (T - #{tp <= needed - 1})
        reach = thresholds.size - np.where(needed > 0, at_most[:, np.maximum(needed - 1, 0)], 0)
        rows = np.take_along_axis(best_before, reach, axis=1)
        low, high = _percentiles(rows, self.confidence)
        return {"recall": grid.tolist(), "low": low.tolist(), "high": high.tolist()}

    # ------------------------------------------------------------------------------------------------- costs
    def cost_curve(self, costs: Costs) -> CostCurve:
        """Expected cost per 1,000 parts at every distinct threshold, with its bootstrap band (memoised)."""
        key = ("cost_curve", costs.cost_miss, costs.cost_false_alarm, costs.defect_rate)
        if key not in self._memo:
            self._memo[key] = self._cost_curve(costs)
        return self._memo[key]

    def _cost_curve(self, costs: Costs) -> CostCurve:
        lower, upper = self.cuts_
        tp, fp = self._counts(lower)
        miss = (self.n_defect_ - tp) / max(self.n_defect_, 1)
        cost = costs.per_parts(miss, fp / max(self.n_good_, 1))
        tp_b, fp_b = self._resampled_counts(lower)
        cost_b = costs.per_parts((self.n_defect_ - tp_b) / max(self.n_defect_, 1), fp_b / max(self.n_good_, 1))
        low, high = _percentiles(cost_b, self.confidence)
        return CostCurve(lower, upper, cost, low, high)

    def cheapest(self, costs: Costs, min_recall: float | None = None,
                 max_false_alarm_rate: float | None = None) -> CostChoice | None:
        """The threshold with the lowest expected cost per 1,000 parts (the lowest one on ties: fewer misses).

        With ``min_recall`` / ``max_false_alarm_rate``, only thresholds meeting them on the test pictures are
        considered (None when none does). The threshold interval is where the cheapest allowed threshold falls
        across the bootstrap resamples.
        """
        lower, upper = self.cuts_
        curve = self.cost_curve(costs)
        allowed = self._allowed(min_recall, max_false_alarm_rate)
        if not allowed.any():
            return None
        best = int(np.argmin(np.where(allowed, curve.cost, np.inf)))
        tp_b, fp_b = self._resampled_counts(lower)
        cost_b = costs.per_parts((self.n_defect_ - tp_b) / max(self.n_defect_, 1), fp_b / max(self.n_good_, 1))
        if "snapped" not in self._memo:  # the value offered for each plateau, as for the full sample
            self._memo["snapped"] = np.array([snap_inside(float(a), float(b)) for a, b in zip(lower, upper,
                                                                                             strict=True)])
        chosen_b = self._memo["snapped"][np.argmin(np.where(allowed[None, :], cost_b, np.inf), axis=1)]
        spread = _percentiles(chosen_b, self.confidence)
        threshold = snap_inside(float(lower[best]), float(upper[best]))
        choice = self.cost_at(threshold, costs)
        choice.threshold_interval = (float(spread[0]), float(spread[1]))
        return choice

    def cost_at(self, threshold: float, costs: Costs) -> CostChoice:
        """Expected cost, false alarms and escapes per 1,000 parts at ``threshold`` (no threshold interval)."""
        figures = self.at(threshold)
        fa, miss = figures.false_alarm_rate, figures.miss_rate
        tp_b, fp_b = (v[:, 0] for v in self._resampled_counts(np.array([threshold])))
        cost_b = costs.per_parts((self.n_defect_ - tp_b) / max(self.n_defect_, 1), fp_b / max(self.n_good_, 1))
        cost = float(costs.per_parts(miss.value, fa.value))
        good_parts, bad_parts = PER_PARTS * (1 - costs.defect_rate), PER_PARTS * costs.defect_rate
        return CostChoice(
            float(threshold), None, self._interval(cost_b, cost),
            Estimate(good_parts * fa.value, good_parts * fa.low, good_parts * fa.high, fa.count, fa.total),
            Estimate(bad_parts * miss.value, bad_parts * miss.low, bad_parts * miss.high, miss.count, miss.total),
            costs)

    def _allowed(self, min_recall: float | None, max_false_alarm_rate: float | None) -> np.ndarray:
        """(T,) which plateaus meet the constraints on the test pictures."""
        tp, fp = self._counts(self.cuts_[0])
        allowed = np.ones(tp.size, bool)
        if min_recall is not None:
            allowed &= tp / max(self.n_defect_, 1) >= min_recall - 1e-12
        if max_false_alarm_rate is not None:
            allowed &= fp / max(self.n_good_, 1) <= max_false_alarm_rate + 1e-12
        return allowed

    # ------------------------------------------------------------------------------------------- constraints
    def highest_with_recall(self, min_recall: float) -> ConstraintChoice:
        """The highest threshold (fewest false alarms) whose recall on the test pictures is >= ``min_recall``."""
        meets = np.flatnonzero(self._allowed(min_recall, None))
        return self._choice("min_recall", min_recall, int(meets[-1]) if meets.size else None)

    def lowest_with_false_alarm_rate(self, max_false_alarm_rate: float) -> ConstraintChoice:
        """The lowest threshold (most defects caught) whose false-alarm rate is <= ``max_false_alarm_rate``."""
        meets = np.flatnonzero(self._allowed(None, max_false_alarm_rate))
        return self._choice("max_false_alarm_rate", max_false_alarm_rate, int(meets[0]) if meets.size else None)

    def _choice(self, kind: str, target: float, index: int | None) -> ConstraintChoice:
        if index is None:
            return ConstraintChoice(kind, target, None, None)
        lower, upper = self.cuts_
        threshold = snap_inside(float(lower[index]), float(upper[index]))
        return ConstraintChoice(kind, target, threshold, self.at(threshold))

    # -------------------------------------------------------------------------------------------- per type
    def per_type(self, threshold: float, normalized_pixel_threshold: float | None = None) -> list[TypeResult]:
        """Recall per defect type at ``threshold``; pixel figures at ``normalized_pixel_threshold`` with masks."""
        evaluation = self.evaluation
        types = np.asarray(evaluation.defect_types, dtype=object)
        flagged = self.scores_ > threshold
        results = []
        for name in sorted({str(v) for v in types[self.labels_]}):
            members = np.flatnonzero(self.labels_ & (types == name))
            result = TypeResult(name, proportion(int(flagged[members].sum()), members.size, self.confidence))
            if evaluation.masks is not None and normalized_pixel_threshold is not None:
                result.pixel_recall, result.pixel_precision, result.pixel_iou = _pixel_figures(
                    evaluation, members, normalized_pixel_threshold)
            results.append(result)
        return results

    def false_alarms_by_folder(self, threshold: float) -> list[FolderResult]:
        """False alarms among the good pictures, per sub-folder they came from."""
        if "folders" not in self._memo:  # path handling once per run, not per slider move
            folders = np.asarray(_good_folders(self.evaluation), dtype=object)
            self._memo["folders"] = {name: np.flatnonzero(~self.labels_ & (folders == name))
                                     for name in sorted({folders[i] for i in np.flatnonzero(~self.labels_)})}
        flagged = self.scores_ > threshold
        return [FolderResult(name, proportion(int(flagged[members].sum()), members.size, self.confidence))
                for name, members in self._memo["folders"].items()]


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


COSTS_NAME = "costs.json"  # in the run folder: the costs the analyst last saved (the report states them)


def save_costs(run_dir: str | Path, costs: Costs | None) -> None:
    """Keep the analyst's costs with the run (atomically), or forget them with None."""
    path = Path(run_dir) / COSTS_NAME
    if costs is None:
        path.unlink(missing_ok=True)
        return
    atomic_write_text(path, json.dumps(costs.to_dict(), indent=1))


def load_costs(run_dir: str | Path) -> Costs | None:
    """The costs saved with a run, or None (also when the file is unreadable: costs are optional)."""
    path = Path(run_dir) / COSTS_NAME
    try:
        return Costs.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------------------------------ runs side by side
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
                      None if names is None else [names[i] for i in index])


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
    common = [k for k in keys[0] if all(k in set(other) for other in keys[1:])]
    common = list(dict.fromkeys(common))
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
        low, high = _percentiles(samples - aurocs[0], confidence)
        value = runs[index].intervals.auroc.value - runs[0].intervals.auroc.value
        differences.append(Estimate(value, float(low), float(high)))
    verdicts = np.array([s.normalized_scores > s.normalization.normalized_image_threshold for s in subsets])  # (R, N)
    scores = np.array([s.normalized_scores for s in subsets])
    split = np.flatnonzero(verdicts.min(axis=0) != verdicts.max(axis=0))
    disagreements = [Disagreement(common[i], subsets[0].defect_types[i], int(labels[i]),
                                  [float(v) for v in scores[:, i]], [bool(v) for v in verdicts[:, i]])
                     for i in split]
    same = all(len(e.paths) == len(common) for e in evaluations)
    return Comparison(runs, len(common), same, differences, disagreements)
