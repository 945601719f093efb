"""Decisions: intervals against known answers, bootstrap coverage, the cost minimum, per-type and run comparison."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from hamacho_core.comparison import compare_runs
from hamacho_core.decisions import (
    Costs,
    Decisions,
    clopper_pearson,
    pictures_for_width,
    snap_inside,
    stratified_weights,
    weighted_auroc,
)
from hamacho_core.errors import ConfigError
from hamacho_core.evaluation import Evaluation
from hamacho_core.thresholds import Normalization


def _evaluation(labels: np.ndarray, raw: np.ndarray, types: list[str] | None = None,
                paths: list[str] | None = None, masks: np.ndarray | None = None,
                maps: np.ndarray | None = None, image_norm: float = 0.5,
                names: list[str] | None = None) -> Evaluation:
    """Raw scores in [0, 1] with threshold 0.5 and span 1, so normalized scores equal raw scores."""
    labels = np.asarray(labels).astype(np.int64)
    n = labels.size
    types = types or ["good" if v == 0 else "bad" for v in labels]
    paths = paths or [f"/data/{t}/{i}.png" for i, t in enumerate(types)]
    maps = np.zeros((n, 4, 4), np.float16) if maps is None else maps
    normalization = Normalization("adaptive", 0.5, 0.0, 1.0, 0.5, 0.0, 1.0, normalized_image_threshold=image_norm)
    return Evaluation(paths, types, labels, np.asarray(raw, np.float64), maps, masks, normalization, names)


def _counted(evaluation: Evaluation, **options: object) -> Decisions:
    """Decisions whose headline counts exactly these scores (the evaluation as its own hold-out): the mechanics
    of intervals, costs, bands and constraints checked against hand counts."""
    return Decisions(evaluation, holdout=evaluation, **options)


# --------------------------------------------------------------------------------------------- exact intervals
def test_clopper_pearson_known_answers() -> None:
    low, high = clopper_pearson(19, 20)
    assert (round(low, 3), round(high, 3)) == (0.751, 0.999)
    low, high = clopper_pearson(38, 40)  # a typical case: recall 0.95 with 40 defect pictures
    assert round(low, 2) == 0.83 and round(high, 3) == 0.994
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0
    assert clopper_pearson(0, 0) == (0.0, 1.0)


def test_pictures_for_width_is_the_first_sample_size_that_suffices() -> None:
    n = pictures_for_width(0.95, 0.10)
    assert n is not None
    width = lambda size: np.subtract(*clopper_pearson(round(0.95 * size), size)[::-1])  # noqa: E731
    assert width(n) <= 0.10 < width(n - 1)
    all_caught = pictures_for_width(1.0, 0.05)  # 1 - 0.025 ** (1 / n) <= 0.05  <=>  n >= 72
    assert all_caught == 72
    with pytest.raises(ConfigError):
        pictures_for_width(0.9, 0.0)


def test_snap_inside_prefers_short_decimals_inside_the_plateau() -> None:
    assert snap_inside(0.4612, 0.4890) == 0.48  # middle 0.4751
    assert 0.50001 <= snap_inside(0.50001, 0.50002) < 0.50002


def test_intervals_at_a_threshold_match_hand_counts() -> None:
    labels = np.array([1] * 20 + [0] * 30)
    raw = np.concatenate([np.r_[np.full(19, 0.9), 0.1], np.r_[np.full(3, 0.8), np.full(27, 0.2)]])
    figures = _counted(_evaluation(labels, raw), n_resamples=1000).at(0.5)
    assert (figures.tp, figures.fp, figures.tn, figures.fn) == (19, 3, 27, 1)
    assert (round(figures.recall.low, 3), round(figures.recall.high, 3)) == (0.751, 0.999)
    assert figures.precision.total == 22 and figures.false_alarm_rate.value == pytest.approx(0.1)
    assert figures.miss_rate.high == pytest.approx(1 - figures.recall.low)
    assert figures.f1.low <= figures.f1.value <= figures.f1.high
    assert figures.f1.value == pytest.approx(2 * 19 / (2 * 19 + 3 + 1))


# ----------------------------------------------------------------------------------------------------- bootstrap
def test_stratified_weights_keep_class_sizes_and_are_seeded() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    weights = stratified_weights(labels, 200, seed=3)
    assert weights.shape == (200, 8)
    assert (weights[:, :3].sum(axis=1) == 3).all() and (weights[:, 3:].sum(axis=1) == 5).all()
    assert np.array_equal(weights, stratified_weights(labels, 200, seed=3))


def test_weighted_auroc_equals_scikit_learn_on_each_resample() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(15), np.zeros(25)].astype(int)
    scores = np.round(rng.normal(size=40) + labels, 1)  # rounded: ties on purpose
    weights = stratified_weights(labels, 20, seed=0)
    fast = weighted_auroc(labels, scores, weights)
    for row, value in zip(weights, fast, strict=True):
        index = np.repeat(np.arange(40), row)
        assert value == pytest.approx(roc_auc_score(labels[index], scores[index]))


def _covered(n_pos: int, n_neg: int, shift: float, seed: int, squeeze: float = 1.0) -> bool:
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n_pos), np.zeros(n_neg)].astype(int)
    raw = np.r_[rng.normal(shift, 1, n_pos), rng.normal(0, 1, n_neg)]
    figures = _counted(_evaluation(labels, raw), n_resamples=1000, seed=seed).at(0.5)
    truth = norm.cdf(shift / np.sqrt(2))  # AUROC of N(shift, 1) against N(0, 1)
    middle, half = (figures.auroc.low + figures.auroc.high) / 2, squeeze * figures.auroc.width / 2
    return middle - half <= truth <= middle + half


def test_bootstrap_auroc_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    hits = [_covered(40, 60, 1.2, seed) for seed in range(200)]
    assert 0.90 <= np.mean(hits) <= 0.99
    # the check has teeth: an interval half as wide covers far too rarely
    narrow = [_covered(40, 60, 1.2, seed, squeeze=0.5) for seed in range(60)]
    assert np.mean(narrow) < 0.85


# --------------------------------------------------------------------------------------------------------- costs
def _brute_force_cost(evaluation: Evaluation, costs: Costs) -> float:
    labels, scores = evaluation.labels.astype(bool), evaluation.normalized_scores
    candidates = np.unique(np.r_[0.0, scores, (scores[:-1] + scores[1:]) / 2, np.linspace(0, 0.999, 1000)])
    best = np.inf
    for threshold in candidates:
        flagged = scores > threshold
        miss = np.sum(labels & ~flagged) / labels.sum()
        alarm = np.sum(~labels & flagged) / (~labels).sum()
        best = min(best, float(costs.per_parts(miss, alarm)))
    return best


@pytest.mark.parametrize("cost_miss, cost_false_alarm, rate", [(500.0, 5.0, 0.003), (10.0, 10.0, 0.3)])
def test_cheapest_threshold_equals_a_brute_force_search(cost_miss: float, cost_false_alarm: float,
                                                         rate: float) -> None:
    rng = np.random.default_rng(7)
    labels = np.r_[np.ones(30), np.zeros(70)].astype(int)
    raw = np.clip(np.r_[rng.normal(0.65, 0.12, 30), rng.normal(0.4, 0.1, 70)], 0, 1)
    evaluation = _evaluation(labels, raw)
    costs = Costs(cost_miss, cost_false_alarm, rate)
    decisions = _counted(evaluation, n_resamples=1000)
    choice = decisions.cheapest(costs)
    assert choice.cost.value == pytest.approx(_brute_force_cost(evaluation, costs))
    assert choice.cost.low <= choice.cost.value <= choice.cost.high
    assert choice.threshold_interval[0] <= choice.threshold_interval[1]
    at = decisions.at(choice.threshold)  # the snapped threshold makes the same decisions
    assert float(costs.per_parts(at.miss_rate.value, at.false_alarm_rate.value)) == pytest.approx(choice.cost.value)
    assert choice.escapes.value == pytest.approx(1000 * rate * at.miss_rate.value)
    assert choice.false_alarms.low <= choice.false_alarms.value <= choice.false_alarms.high


def test_expensive_misses_move_the_cheapest_threshold_down() -> None:
    rng = np.random.default_rng(2)
    labels = np.r_[np.ones(30), np.zeros(70)].astype(int)
    decisions = _counted(_evaluation(labels, np.clip(np.r_[rng.normal(0.6, 0.15, 30),
                                                            rng.normal(0.4, 0.12, 70)], 0, 1)), n_resamples=1000)
    cheap_misses = decisions.cheapest(Costs(1.0, 10.0, 0.01)).threshold
    dear_misses = decisions.cheapest(Costs(10_000.0, 1.0, 0.01)).threshold
    assert dear_misses < cheap_misses


def test_costs_are_checked() -> None:
    with pytest.raises(ConfigError, match="fraction"):
        Costs(1.0, 1.0, 3.0)
    with pytest.raises(ConfigError):
        Costs(0.0, 0.0, 0.01)


def test_constraint_forms() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    raw = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1])
    decisions = _counted(_evaluation(labels, raw), n_resamples=1000)
    high = decisions.highest_with_recall(0.75)  # catches 0.9, 0.8, 0.6: threshold in [0.4, 0.6)
    assert 0.4 <= high.threshold < 0.6 and high.intervals.recall.value == 0.75
    low = decisions.lowest_with_false_alarm_rate(0.25)  # one good flagged at most: threshold in [0.4, 0.6)
    assert 0.4 <= low.threshold < 0.6 and low.intervals.false_alarm_rate.value == 0.25
    none = decisions.lowest_with_false_alarm_rate(0.0)
    assert 0.7 <= none.threshold < 0.8
    assert decisions.highest_with_recall(1.0).threshold < 0.3


# ---------------------------------------------------------------------------------------- per type, comparison
def test_per_type_recall_pixels_and_folders() -> None:
    labels = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    raw = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.6, 0.1, 0.2])
    types = ["scratch", "scratch", "scratch", "spot", "spot", "good", "good", "good"]
    paths = ["/d/bad/scratch/a.png", "/d/bad/scratch/b.png", "/d/bad/scratch/c.png", "/d/bad/spot/d.png",
             "/d/bad/spot/e.png", "/d/good/line1/f.png", "/d/good/line1/g.png", "/d/good/line2/h.png"]
    masks = np.zeros((8, 4, 4), bool)
    masks[:5, :2, :2] = True  # 4 defect pixels each
    maps = np.zeros((8, 4, 4), np.float16)
    maps[0, :2, :2] = 1.0  # scratch a: all 4 found
    maps[3, :2, :] = 1.0  # spot d: 4 found, 4 extra
    evaluation = _evaluation(labels, raw, types, paths=paths, masks=masks, maps=maps)
    decisions = _counted(evaluation, n_resamples=1000)
    results = {r.defect_type: r for r in decisions.per_type(0.5, normalized_pixel_threshold=0.5)}
    assert (results["scratch"].recall.count, results["scratch"].recall.total) == (2, 3)
    assert (results["spot"].recall.count, results["spot"].recall.total) == (1, 2)
    assert results["scratch"].pixel_recall == pytest.approx(4 / 12)
    spot = results["spot"]  # 8 truth pixels, 8 marked, 4 of them right
    assert (spot.pixel_recall, spot.pixel_precision, spot.pixel_iou) == pytest.approx((0.5, 0.5, 4 / 12))
    folders = {f.folder: f for f in _counted(evaluation, n_resamples=1000).false_alarms_by_folder(0.5)}
    assert (folders["good/line1"].false_alarm_rate.count, folders["good/line1"].false_alarm_rate.total) == (1, 2)
    assert folders["good/line2"].false_alarm_rate.count == 0


def test_compare_runs_on_common_pictures() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0])
    paths = [f"/d/{i}.png" for i in range(6)]
    first = _evaluation(labels, np.array([0.9, 0.8, 0.4, 0.3, 0.6, 0.1]), paths=paths)
    # the second run has one extra picture and its pictures in another order
    order = [5, 4, 3, 2, 1, 0]
    second = _evaluation(np.r_[labels[order], 0], np.r_[np.array([0.9, 0.8, 0.7, 0.2, 0.3, 0.1])[order], 0.2],
                         paths=[paths[i] for i in order] + ["/d/extra.png"])
    comparison = compare_runs([first, second], ["old", "new"], n_resamples=1000)
    assert comparison.n_common == 6 and not comparison.same_pictures
    assert comparison.runs[1].n_pictures == 7
    assert comparison.runs[0].intervals.auroc.value == pytest.approx(8 / 9)
    assert comparison.runs[1].intervals.auroc.value == pytest.approx(1.0)
    difference = comparison.auroc_differences[1]
    assert difference.value == pytest.approx(1 / 9) and difference.low <= difference.value <= difference.high
    assert {d.path for d in comparison.disagreements} == {"/d/2.png", "/d/4.png"}
    assert [d.verdicts for d in comparison.disagreements if d.path == "/d/2.png"] == [[False, True]]
    with pytest.raises(ConfigError):
        compare_runs([first], ["only"])


def test_cheapest_under_a_constraint_and_costs_kept_with_the_run(tmp_path) -> None:
    from hamacho_core.decisions import load_costs, save_costs

    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    raw = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1])
    decisions = _counted(_evaluation(labels, raw), n_resamples=1000)
    costs = Costs(1.0, 100.0, 0.01)  # false alarms dear: unconstrained, flag only above every good picture
    free = decisions.cheapest(costs)
    assert free.escapes.count == 2 and free.false_alarms.count == 0 and 0.7 <= free.threshold < 0.8
    constrained = decisions.cheapest(costs, min_recall=0.75)
    assert constrained.escapes.count == 1 and 0.4 <= constrained.threshold < 0.6
    assert decisions.cheapest(costs, min_recall=1.0, max_false_alarm_rate=0.0) is None
    save_costs(tmp_path, costs)
    assert load_costs(tmp_path) == costs
    save_costs(tmp_path, None)
    assert load_costs(tmp_path) is None


def test_bands_equal_a_direct_search_per_resample() -> None:
    rng = np.random.default_rng(5)
    labels = np.r_[np.ones(12), np.zeros(20)].astype(int)
    raw = np.clip(np.round(np.r_[rng.normal(0.6, 0.15, 12), rng.normal(0.4, 0.15, 20)], 2), 0, 1)
    decisions = _counted(_evaluation(labels, raw), n_resamples=1000)
    lower = np.append(decisions.cuts_[0], 1.0)
    tp_b, fp_b = decisions.headline_.resampled(lower)
    grid = np.linspace(0, 1, 11)
    roc = np.array([[np.max(np.where(fp_b[b] / 20 <= g + 1e-12, tp_b[b] / 12, 0.0)) for g in grid]
                    for b in range(1000)])
    precision = np.where(tp_b + fp_b > 0, tp_b / np.maximum(tp_b + fp_b, 1), 1.0)
    pr = np.array([[np.max(np.where(tp_b[b] / 12 >= g - 1e-12, precision[b], 0.0)) for g in grid]
                   for b in range(1000)])
    assert np.allclose(decisions.roc_band(11)["low"], np.percentile(roc, 2.5, axis=0))
    assert np.allclose(decisions.roc_band(11)["high"], np.percentile(roc, 97.5, axis=0))
    assert np.allclose(decisions.pr_band(11)["low"], np.percentile(pr, 2.5, axis=0))
    assert np.allclose(decisions.pr_band(11)["high"], np.percentile(pr, 97.5, axis=0))


# ------------------------------------------------------------------------------- cross-fitted, exact, provenance
def _normalized(labels: np.ndarray, raw: np.ndarray) -> Evaluation:
    """An evaluation with the run's own fitted normalization (as training writes it)."""
    from hamacho_core.metrics import fit_normalization

    normalization, _ = fit_normalization(labels, raw, np.zeros((labels.size, 4, 4), np.float32))
    evaluation = _evaluation(labels, raw)
    evaluation.normalization = normalization
    return evaluation


def test_perfect_separation_gives_exact_bounds_and_no_zero_width() -> None:
    labels = np.r_[np.ones(40), np.zeros(40)].astype(int)
    raw = np.r_[np.linspace(2, 3, 40), np.linspace(0, 1, 40)]
    decisions = Decisions(_normalized(labels, raw), n_resamples=1000)
    figures = decisions.at(0.5)
    assert figures.provenance == "cross-fitted" and figures.recall.provenance == "cross-fitted"
    assert (figures.tp, figures.fp) == (40, 0)
    assert figures.recall.low == pytest.approx(0.025 ** (1 / 40))  # n defects all caught: exact lower bound
    assert figures.false_alarm_rate.high == pytest.approx(1 - 0.025 ** (1 / 40))
    for estimate in (figures.precision, figures.recall, figures.false_alarm_rate, figures.accuracy, figures.f1,
                     figures.auroc):
        assert estimate.width > 0.01, estimate
    assert figures.auroc.value == 1.0 and figures.auroc.low == pytest.approx(0.025 ** (1 / 40))
    cost = decisions.cost_at(0.5, Costs(100.0, 1.0, 0.01))
    assert cost.cost.value == 0.0 and cost.cost.high > 0.0  # the costs follow the same exact bounds
    fitted = decisions.fitted_at(0.5)
    assert fitted.provenance == "fitted" and fitted.f1.width > 0


def test_cross_fitted_verdicts_match_the_cross_fitted_estimate_at_the_saved_threshold() -> None:
    rng = np.random.default_rng(3)
    labels = np.r_[np.ones(30), np.zeros(50)].astype(int)
    raw = np.r_[rng.normal(1.5, 1, 30), rng.normal(0, 1, 50)]
    evaluation = _normalized(labels, raw)
    figures = Decisions(evaluation, n_resamples=200).at(0.5)
    estimate = evaluation.cross_fitted_estimate()
    assert figures.recall.value == pytest.approx(estimate.recall)
    assert figures.f1.value == pytest.approx(estimate.f1)
    # every picture's cross-fitted score comes from a normalization that did not see it
    crossed = evaluation.cross_fitted_scores()
    assert not np.allclose(crossed, evaluation.normalized_scores)


def test_head_folds_are_used_and_saved(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(4)
    labels = np.r_[np.ones(20), np.zeros(20)].astype(int)
    raw = np.r_[rng.normal(1.5, 1, 20), rng.normal(0, 1, 20)]
    evaluation = _normalized(labels, raw)
    evaluation.folds = np.tile(np.arange(4), 10)
    from hamacho_core.metrics import cross_fitted_scores

    assert np.allclose(evaluation.cross_fitted_scores(), cross_fitted_scores(labels, raw, evaluation.folds)[0])
    assert len(cross_fitted_scores(labels, raw, evaluation.folds)[1]) == 4
    evaluation.save(tmp_path)
    monkeypatch.setattr("hamacho_core.evaluation.read_config",
                        lambda _: {"normalization": evaluation.normalization.to_dict()})
    assert np.array_equal(Evaluation.load(tmp_path).folds, evaluation.folds)


def _coverage_run(seed: int) -> dict[str, bool]:
    """One simulated test set: is the true value of each headline figure inside its interval?"""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(40), np.zeros(60)].astype(int)
    shift = 1.5
    raw = np.r_[rng.normal(shift, 1, 40), rng.normal(0, 1, 60)]
    evaluation = _normalized(labels, raw)
    figures = Decisions(evaluation, n_resamples=400, seed=seed).at(0.5)
    # the truth: the cross-fitted rule's rates on the population, averaged over the folds' thresholds
    thresholds = np.array(evaluation.cross_fitted_estimate(seed).thresholds)  # the same folds
    recall, false_alarm = np.mean(1 - norm.cdf(thresholds - shift)), np.mean(1 - norm.cdf(thresholds))
    inside = lambda e, truth: e.low - 1e-9 <= truth <= e.high + 1e-9  # noqa: E731
    return {"recall": inside(figures.recall, recall), "false_alarm_rate": inside(figures.false_alarm_rate,
                                                                                false_alarm),
            "auroc": inside(figures.auroc, norm.cdf(shift / np.sqrt(2)))}


def test_headline_intervals_cover_the_truth_on_simulated_data() -> None:
    runs = [_coverage_run(seed) for seed in range(120)]
    for figure in ("recall", "false_alarm_rate", "auroc"):
        share = np.mean([run[figure] for run in runs])
        assert 0.88 <= share <= 1.0, (figure, share)


def test_hold_out_is_the_headline_and_the_answer_carries_everything() -> None:
    rng = np.random.default_rng(6)
    labels = np.r_[np.ones(30), np.zeros(30)].astype(int)
    evaluation = _normalized(labels, np.r_[rng.normal(2, 1, 30), rng.normal(0, 1, 30)])
    held_labels = np.r_[np.ones(10), np.zeros(15)].astype(int)
    holdout = _evaluation(held_labels, np.r_[rng.normal(2, 1, 10), rng.normal(0, 1, 15)])
    holdout.normalization = evaluation.normalization
    decisions = Decisions(evaluation, n_resamples=300, holdout=holdout)
    answer = decisions.answer(0.5, Costs(100.0, 1.0, 0.01), width=0.1)
    assert answer.provenance == "hold-out" and answer.headline.n_pictures == 25
    predicted = holdout.normalized_scores > 0.5
    assert answer.headline.tp == int((predicted & (held_labels == 1)).sum())
    assert answer.fitted.provenance == "fitted" and answer.fitted.n_pictures == 60
    assert answer.reason("provenance").values["n"] == 25
    assert answer.reason("recall").values["n"] == 10
    assert answer.reason("width_needed") is not None
    assert answer.cost is not None and answer.cost.cost.provenance == "hold-out"
    assert sum(item.recall.total for item in answer.types) == 10


def test_too_few_pictures_to_cross_fit_stay_fitted_and_say_so() -> None:
    labels = np.array([1, 0, 0, 0, 0])
    decisions = Decisions(_normalized(labels, np.array([0.9, 0.1, 0.2, 0.3, 0.4])), n_resamples=100)
    assert decisions.at(0.5).provenance == "fitted"
