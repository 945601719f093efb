import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hamacho_core.errors import ConfigError
from hamacho_core.metrics import PixelHistograms, confusion_at, cross_validated_estimate, image_metrics
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
    assert norm.image(np.array([1.0]))[0] == pytest.approx(0.5)


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


def test_cross_validated_estimate_is_not_better_than_fitted_on_noise() -> None:
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(40), np.ones(40)].astype(int)
    scores = rng.random(80)  # no signal: a fitted threshold flatters, the honest one should not
    fitted = confusion_at(labels, scores, adaptive_threshold(labels, scores))["f1"]
    honest = cross_validated_estimate(labels, scores)
    assert honest is not None and honest.n_folds == 5 and len(honest.thresholds) == 5
    assert honest.f1 <= fitted
    assert cross_validated_estimate(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.9])) is None
