"""Interval primitives of the decision figures: exact binomial bounds, the stratified bootstrap, and exact bounds
where every resample agrees.

* Proportions (precision, recall, false-alarm rate, accuracy) get exact binomial Clopper-Pearson intervals
  (``scipy.stats.beta``: the exact quantiles, no normal approximation that breaks at 0/40 or 40/40).
* F1, AUROC and costs get a seeded, stratified percentile bootstrap (class sizes fixed in each resample).
* A percentile bootstrap cannot move a rate that sits at 0 or 1 (every resample agrees), so it would report a
  zero-width interval from a finite sample. There the exact bounds take over: F1 and costs are monotone in recall
  and in the false-alarm rate, so their interval is widened to the values at those rates' Clopper-Pearson bounds
  (:func:`rate_corners`); a perfectly separating AUROC gets the exact lower bound of :func:`auroc_bound`.
* Every figure carries its provenance (:data:`PROVENANCES`): "fitted" (threshold chosen on these pictures),
  "cross-fitted" (threshold, and the supervised head, chosen on the other folds), or "hold-out" (sealed pictures
  that never touched the model, the threshold or the normalization).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

from hamacho_core.errors import ConfigError

__all__ = [
    "CONFIDENCE",
    "CROSS_FITTED",
    "FITTED",
    "HOLD_OUT",
    "N_RESAMPLES",
    "PER_PARTS",
    "PROVENANCES",
    "Estimate",
    "auroc_bound",
    "clopper_pearson",
    "count_at_most",
    "percentiles",
    "pictures_for_width",
    "proportion",
    "rate_corners",
    "snap_inside",
    "stratified_weights",
    "weighted_auroc",
]

FITTED, CROSS_FITTED, HOLD_OUT = "fitted", "cross-fitted", "hold-out"
PROVENANCES = (FITTED, CROSS_FITTED, HOLD_OUT)

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
    provenance: str | None = None  # one of PROVENANCES (None: a figure of the runs comparison)

    @property
    def width(self) -> float:
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion; (0, 1) when ``trials`` is 0.

    Example: 19 of 20 gives (0.751, 0.999) at 95 %. Memoised: the counts are integers and a slider move asks for
    the same few again (each exact quantile costs about 0.1 ms).
    """
    return _clopper_pearson(int(successes), int(trials), float(confidence))


@functools.lru_cache(maxsize=65536)
def _clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
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

    Assumes the observed rate stays as it is. Returns None when even ``limit`` pictures do not suffice. Memoised
    (a slider move that keeps the recall asks again).
    """
    if not 0.0 < width < 1.0:
        raise ConfigError(f"the interval width must be between 0 and 1 (got {width})")
    return _pictures_for_width(float(rate), float(width), float(confidence), int(limit))


@functools.lru_cache(maxsize=4096)
def _pictures_for_width(rate: float, width: float, confidence: float, limit: int) -> int | None:
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


def percentiles(values: np.ndarray, confidence: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    alpha = 100 * (1 - confidence) / 2
    percentile = np.nanpercentile if np.isnan(values).any() else np.percentile  # the NaN-aware one is ~5x slower
    low, high = percentile(values, [alpha, 100 - alpha], axis=axis)
    return low, high


def count_at_most(counts: np.ndarray, largest: int) -> np.ndarray:
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


def auroc_bound(n_defect: int, n_good: int, confidence: float = CONFIDENCE) -> float:
    """Exact lower bound of the AUROC when every defect outscores every good picture.

    AUROC = P(defect score > good score). Pair the pictures into m = min(n_defect, n_good) disjoint pairs: each is
    ordered correctly with probability AUROC, independently, and perfect separation means all m are. So an AUROC
    below ``((1 - confidence) / 2) ** (1 / m)`` would give perfect separation less than 2.5 % of the time: the
    Clopper-Pearson bound of m successes in m trials (conservative: only m of the n_defect * n_good pairs count).
    """
    pairs = max(min(n_defect, n_good), 1)
    return float(((1.0 - confidence) / 2) ** (1.0 / pairs))


def rate_corners(tp: int, n_defect: int, fp: int, n_good: int,
                 confidence: float = CONFIDENCE) -> tuple[tuple[float, float], tuple[float, float]]:
    """The recall and false-alarm-rate ranges the bootstrap cannot see: ((recall low, high), (fa low, high)).

    A rate at 0 or 1 does not move in any resample; its exact Clopper-Pearson bounds are given for it. A rate
    inside (0, 1) is left at its value (its spread is the bootstrap's). Figures monotone in both rates (F1, costs)
    evaluated at these corners widen a bootstrap interval that would otherwise collapse.
    """
    recall, false_alarm = tp / max(n_defect, 1), fp / max(n_good, 1)
    recall_range = clopper_pearson(tp, n_defect, confidence) if tp in (0, n_defect) else (recall, recall)
    false_alarm_range = clopper_pearson(fp, n_good, confidence) if fp in (0, n_good) else (false_alarm, false_alarm)
    return recall_range, false_alarm_range
