"""The slider's fast path (sorted scores, cumulative counts, resample matrices, memoised threshold-free parts) gives
the same numbers as the straightforward computation: count the verdicts, resample them, take the percentiles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from hamacho_core.decisions import Costs, Decisions, stratified_weights
from hamacho_core.evaluation import Evaluation
from hamacho_core.intervals import rate_corners
from hamacho_core.thresholds import Normalization

B, SEED = 400, 420


def _evaluation(n: int = 240, seed: int = 3) -> Evaluation:
    """Scores with ties (rounded), two defect types, good pictures in two folders; normalized = raw."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.35).astype(np.int64)
    raw = np.round(np.clip(np.where(labels == 1, rng.normal(0.65, 0.15, n), rng.normal(0.4, 0.12, n)), 0, 1), 2)
    types = ["good" if v == 0 else ("scratch", "crack")[i % 2] for i, v in enumerate(labels)]
    paths = [f"/d/good/line{i % 2}/{i}.png" if t == "good" else f"/d/{t}/{i}.png" for i, t in enumerate(types)]
    normalization = Normalization("adaptive", 0.5, 0.0, 1.0, 0.5, 0.0, 1.0, normalized_image_threshold=0.47)
    return Evaluation(paths, types, labels, raw.astype(np.float64), np.zeros((n, 4, 4), np.float16), None,
                      normalization)


def _exact(successes: int, trials: int) -> tuple[float, float]:
    if trials == 0:
        return 0.0, 1.0
    low = 0.0 if successes == 0 else beta.ppf(0.025, successes, trials - successes + 1)
    high = 1.0 if successes == trials else beta.ppf(0.975, successes + 1, trials - successes)
    return float(low), float(high)


def _spread(samples: np.ndarray, corners: tuple[float, float] | None) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    if corners is not None:
        low, high = min(low, *corners), max(high, *corners)
    return float(low), float(high)


@pytest.mark.parametrize("hold_out", [True, False], ids=["counted", "cross-fitted"])
def test_the_answer_equals_the_straightforward_computation_at_many_thresholds(hold_out: bool) -> None:
    evaluation = _evaluation()
    decisions = Decisions(evaluation, n_resamples=B, seed=SEED, holdout=evaluation if hold_out else None)
    scores, labels = decisions.scores_, decisions.labels_.astype(bool)
    n_defect, n_good = int(labels.sum()), int((~labels).sum())
    weights = stratified_weights(labels, B, SEED).astype(np.float64)  # the resamples the answer uses
    costs = Costs(120.0, 3.0, 0.01)
    types = np.asarray(evaluation.defect_types)
    folders = np.array([p.split("/")[3] if "/good/" in p else "" for p in evaluation.paths])
    # every kind of place: plateau edges (exact scores), between them, the ends
    thresholds = np.unique(np.r_[0.0, 1.0, np.linspace(0.01, 0.99, 41), scores[::7]])
    for t in thresholds:
        answer = decisions.answer(float(t), costs, 0.1, None, 0.9, 0.1)
        flagged = scores > t
        tp, fp = int((flagged & labels).sum()), int((flagged & ~labels).sum())
        h = answer.headline
        assert (h.tp, h.fp, h.tn, h.fn) == (tp, fp, n_good - fp, n_defect - tp)
        assert (h.recall.low, h.recall.high) == pytest.approx(_exact(tp, n_defect))
        assert (h.precision.low, h.precision.high) == pytest.approx(_exact(tp, tp + fp))
        assert (h.false_alarm_rate.low, h.false_alarm_rate.high) == pytest.approx(_exact(fp, n_good))
        assert (h.accuracy.low, h.accuracy.high) == pytest.approx(_exact(tp + n_good - fp, labels.size))
        # the bootstrap by hand: each resample's counts from its draw weights
        tp_b, fp_b = weights @ (flagged & labels), weights @ (flagged & ~labels)
        (r_low, r_high), (f_low, f_high) = rate_corners(tp, n_defect, fp, n_good)
        edge = tp in (0, n_defect) or fp in (0, n_good)
        f1 = lambda r, f: 2 * r * n_defect / max(r * n_defect + f * n_good + n_defect, 1e-12)  # noqa: E731
        assert h.f1.value == pytest.approx(2 * tp / max(tp + fp + n_defect, 1))
        assert (h.f1.low, h.f1.high) == pytest.approx(_spread(
            2 * tp_b / np.maximum(tp_b + fp_b + n_defect, 1), (f1(r_low, f_high), f1(r_high, f_low)) if edge
            else None))
        cost_b = costs.per_parts((n_defect - tp_b) / n_defect, fp_b / n_good)
        cost = lambda r, f: float(costs.per_parts(1 - r, f))  # noqa: E731
        assert answer.cost.cost.value == pytest.approx(float(costs.per_parts(1 - tp / n_defect, fp / n_good)))
        assert (answer.cost.cost.low, answer.cost.cost.high) == pytest.approx(_spread(
            cost_b, (cost(r_low, f_high), cost(r_high, f_low)) if edge else None))
        for item in answer.types:
            members = labels & (types == item.defect_type)
            assert (item.recall.count, item.recall.total) == (int((flagged & members).sum()), int(members.sum()))
        for folder in answer.folders:
            members = ~labels & (folders == folder.folder.rsplit("/", 1)[-1])
            assert (folder.false_alarm_rate.count, folder.false_alarm_rate.total) == (
                int((flagged & members).sum()), int(members.sum()))
        assert answer.saved.tp == int(((scores > 0.47) & labels).sum())
    # the threshold-free parts by brute force over every distinct decision
    cuts = np.unique(np.r_[0.0, scores[(scores >= 0) & (scores < 1)]])
    recall_at = np.array([((scores > c) & labels).sum() / n_defect for c in cuts])
    fa_at = np.array([((scores > c) & ~labels).sum() / n_good for c in cuts])
    cost_at = costs.per_parts(1 - recall_at, fa_at)
    best = int(np.argmin(cost_at))
    assert answer.cheapest.cost.value == pytest.approx(float(cost_at[best]))
    assert cuts[best] <= answer.cheapest.threshold < (cuts[best + 1] if best + 1 < cuts.size else 1.0)
    highest = answer.constraint("min_recall")
    assert highest.threshold == pytest.approx(decisions.highest_with_recall(0.9).threshold)
    meets = np.flatnonzero(recall_at >= 0.9)
    assert cuts[meets[-1]] <= highest.threshold and highest.intervals.recall.value >= 0.9
    lowest = answer.constraint("max_false_alarm_rate")
    meets = np.flatnonzero(fa_at <= 0.1)
    assert cuts[meets[0]] <= lowest.threshold < cuts[meets[0] + 1] and lowest.intervals.false_alarm_rate.value <= 0.1


def test_the_answer_is_the_same_asked_again_and_in_any_order() -> None:
    """Memoised parts (cheapest, constraints, groupings, exact intervals) do not leak between thresholds."""
    evaluation = _evaluation(seed=5)
    costs = Costs(50.0, 2.0, 0.02)
    first = Decisions(evaluation, n_resamples=B, seed=SEED)
    again = Decisions(evaluation, n_resamples=B, seed=SEED)
    thresholds = np.linspace(0.1, 0.9, 17)
    forward = [first.answer(float(t), costs, 0.1, None, 0.8, 0.2) for t in thresholds]
    backward = [again.answer(float(t), costs, 0.1, None, 0.8, 0.2) for t in thresholds[::-1]][::-1]
    for one, other in zip(forward, backward, strict=True):
        assert one.headline == other.headline and one.cost == other.cost and one.types == other.types
        assert one.cheapest == other.cheapest and one.constraints == other.constraints
