import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hamacho_core.errors import ConfigError
from hamacho_core.metrics import (
    PixelHistograms,
    RunMetrics,
    confusion_at,
    cross_fitted_estimate,
    image_metrics,
    run_metrics,
)
from hamacho_core.thresholds import (
    Normalization,
    adaptive_threshold,
    check_normalized_threshold,
    normalize,
    sigma6_threshold,
)


def test_adaptive_threshold_separates_separable_scores_and_sits_in_the_gap() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    threshold = adaptive_threshold(labels, scores)
    assert 0.3 < threshold < 0.8
    assert confusion_at(labels, scores, threshold)["f1"] == 1.0
    with pytest.raises(ConfigError):
        adaptive_threshold(np.zeros(3), scores[:3])


def test_normalization_puts_threshold_at_half_and_clips() -> None:
    assert normalize(5.0, 5.0, 0.0, 10.0) == pytest.approx(0.5)
    assert normalize(100.0, 5.0, 0.0, 10.0) == 1.0 and normalize(-100.0, 5.0, 0.0, 10.0) == 0.0
    assert normalize(7.0, 5.0, 0.0, 10.0) == pytest.approx(0.7)


def test_sigma6_and_old_normalized_threshold_rule() -> None:
    threshold, maximum = sigma6_threshold(np.array([1.0, 2.0, 3.0]))
    assert threshold == pytest.approx(2.0 + 3 * np.std([1, 2, 3]))
    assert maximum == pytest.approx(2 * threshold)
    assert check_normalized_threshold(0.995) == (0.5, "image_norm=0.995 is outside (0.01, 0.99): using 0.5")
    assert check_normalized_threshold(0.7) == (0.7, None)


def test_normalization_roundtrip_dict() -> None:
    norm = Normalization("adaptive", 1.0, 0.0, 2.0, 3.0, 0.0, 6.0, 0.6, 0.4)
    assert Normalization.from_dict(norm.to_dict()) == norm
    assert norm.normalize_scores(np.array([1.0]))[0] == pytest.approx(0.5)
    assert norm.normalize_maps(np.array([[3.0, 9.0]])).tolist() == [[0.5, 1.0]]


def test_run_metrics_round_trip_through_the_json_form() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(6), np.ones(6)].astype(int)
    scores = labels + rng.random(12)
    norm = Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0)
    histograms = PixelHistograms(0.0, 1.0)
    histograms.add(np.array([[0.1, 0.9]]), np.array([[False, True]]))
    metrics = run_metrics(labels, scores, norm, histograms.metrics(), seed=1)
    metrics.supervised = {"enabled": False, "reason": "--supervised off"}
    data = metrics.to_dict()
    assert list(data) == ["image", "image_cross_validated", "pixel", "curves", "normalization", "n_test", "supervised"]
    assert data["n_test"] == {"good": 6, "defect": 6} and data["image"]["auroc"] == 1.0
    assert RunMetrics.from_dict(data) == metrics
    headline = metrics.headline()
    assert headline["honest_f1"] == metrics.image_cross_fitted.f1 and headline["pixel_auroc"] == 1.0
    assert headline["supervised"] is False


def test_image_metrics_counts() -> None:
    metrics = image_metrics(np.array([0, 0, 1, 1]), np.array([0.2, 0.6, 0.7, 0.4]), 0.5)
    assert (metrics.tp, metrics.fp, metrics.tn, metrics.fn) == (1, 1, 1, 1)
    assert metrics.auroc == pytest.approx(0.75)
    assert image_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]), 0.5).auroc is None


def test_histogram_pixel_auroc_matches_sklearn_and_aupro_is_one_for_perfect_maps() -> None:
    rng = np.random.default_rng(0)
    maps = rng.random((6, 32, 32)).astype(np.float32)
    masks = np.zeros_like(maps, bool)
    masks[:, 5:12, 5:12] = True
    maps[masks] += 0.3
    hist = PixelHistograms(float(maps.min()), float(maps.max()))
    for m, k in zip(maps, masks, strict=True):
        hist.add(m, k)
    assert hist.metrics().auroc == pytest.approx(roc_auc_score(masks.ravel(), maps.ravel()), abs=1e-3)
    perfect = PixelHistograms(0.0, 1.0)
    for k in masks:
        perfect.add(k.astype(np.float32), k)
    result = perfect.metrics()
    assert result.auroc == pytest.approx(1.0) and result.aupro == pytest.approx(1.0, abs=1e-3)


def test_cross_fitted_estimate_is_not_better_than_fitted_on_noise() -> None:
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(40), np.ones(40)].astype(int)
    scores = rng.random(80)  # no signal: a fitted threshold flatters, the cross-fitted one should not
    fitted = confusion_at(labels, scores, adaptive_threshold(labels, scores))["f1"]
    estimate = cross_fitted_estimate(labels, scores)
    assert estimate is not None and estimate.n_folds == 5 and len(estimate.thresholds) == 5
    assert estimate.f1 <= fitted
    assert cross_fitted_estimate(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.9])) is None
