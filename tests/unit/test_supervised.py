"""Supervised head and its cross-fitting, on synthetic patch features (no backbone: fast and exact)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from hamacho_core.crossfit import CrossFitConfig, cross_fit, fold_indices, supervised_enabled
from hamacho_core.detectors.supervised import HeadConfig, SupervisedHead, patch_targets
from hamacho_core.errors import ConfigError

GRID = 8  # patches per side
N_CHANNELS = 48  # embedding channels (the distance is one more)


def _finish(raw: torch.Tensor, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A detector's finish_maps without upsampling: maps = raw patch maps, score = their maximum."""
    maps = raw[:, 0].reshape(n_images, GRID, GRID)
    return maps.flatten(1).amax(dim=1), maps


def _pictures(n_good: int, n_defect: int, seed: int) -> tuple[list[torch.Tensor], np.ndarray, list[np.ndarray | None]]:
    """Patch inputs where the plain distance is useless and the defect is a direction in the embedding.

    Every picture also has its own random offset (its "texture"), shared by all its patches: a head that saw a
    picture could recognise it, which is what the shuffle test must catch.
    """
    rng = np.random.default_rng(seed)
    direction = np.zeros(N_CHANNELS)
    direction[:3] = 1.0
    inputs, masks = [], []
    labels = np.array([0] * n_good + [1] * n_defect)
    for label in labels:
        embedding = rng.normal(size=(N_CHANNELS, GRID, GRID)) * 0.7 + rng.normal(size=(N_CHANNELS, 1, 1)) * 1.5
        mask = None
        if label == 1:
            y, x = rng.integers(0, GRID - 2, 2)
            mask = np.zeros((GRID, GRID), bool)
            mask[y:y + 2, x:x + 2] = True
            embedding[:, mask] += 4.0 * direction[:, None]
        distance = rng.gamma(2.0, 1.0, size=(1, GRID, GRID))  # same law for every patch: a weak plain detector
        inputs.append(torch.from_numpy(np.concatenate([embedding, distance])[None]).half())
        masks.append(mask)
    return inputs, labels, masks


def _strata(labels: np.ndarray) -> list[str]:
    return ["good" if label == 0 else "spot" for label in labels]


CONFIG = CrossFitConfig(n_folds=5, seed=3, curve_sizes=(5, 10),
                        head=HeadConfig(regularization=1.0, positives_per_image=64, negatives_per_image=64))


def test_cross_fitted_head_beats_the_weak_plain_score_and_curve_is_recorded() -> None:
    inputs, labels, masks = _pictures(30, 30, seed=0)
    plain = np.array([float(x[0, -1].max()) for x in inputs])
    result = cross_fit(inputs, labels, _strata(labels), masks, _finish, CONFIG, plain_scores=plain)
    assert roc_auc_score(labels, plain) < 0.7
    assert roc_auc_score(labels, result.scores) > 0.95
    assert result.masks_used and result.n_folds == 5
    assert result.maps.shape == (60, GRID, GRID)
    assert [p.n_defect_pictures for p in result.learning_curve][:2] == [5, 10]
    assert result.learning_curve[-1].is_all and result.learning_curve[-1].n_defect_pictures == 24
    assert result.learning_curve[-1].image_auroc == pytest.approx(roc_auc_score(labels, result.scores))
    # the final head (all pictures) carries the boost to pictures it never saw
    new_inputs, new_labels, _ = _pictures(20, 20, seed=1)
    new_scores = _finish(torch.cat([result.head.raw_map(x) for x in new_inputs]), 40)[0].numpy()
    assert roc_auc_score(new_labels, new_scores) > 0.95


def test_shuffled_labels_fall_to_chance_only_when_cross_fitted() -> None:
    """Proof that no picture is scored by a head that saw it: with labels and masks shuffled among the pictures,
    the cross-fitted AUROC (against the shuffled labels) is at chance, while scoring the same pictures with a
    head fitted on them (the leak this guards against) would look far better than chance."""
    inputs, labels, masks = _pictures(30, 30, seed=0)
    order = np.random.default_rng(7).permutation(len(labels))
    shuffled_labels, shuffled_masks = labels[order], [masks[i] for i in order]
    shuffled_masks = [m if label == 1 else None for m, label in zip(shuffled_masks, shuffled_labels, strict=True)]
    config = CrossFitConfig(n_folds=5, seed=3, curve_sizes=(), head=CONFIG.head)
    result = cross_fit(inputs, shuffled_labels, _strata(shuffled_labels), shuffled_masks, _finish, config)
    assert roc_auc_score(shuffled_labels, result.scores) < 0.75
    leaked = _finish(torch.cat([result.head.raw_map(x) for x in inputs]), len(inputs))[0].numpy()
    assert roc_auc_score(shuffled_labels, leaked) > 0.9


def test_without_masks_multiple_instance_positives_still_help() -> None:
    inputs, labels, masks = _pictures(30, 30, seed=2)
    for x, mask in zip(inputs, masks, strict=True):  # the distance peaks on the defect, as in real pictures
        if mask is not None:
            x[0, -1][torch.from_numpy(mask)] += 4.0
    plain = np.array([float(x[0, -1].max()) for x in inputs])
    config = CrossFitConfig(n_folds=5, seed=3, curve_sizes=(), head=CONFIG.head)
    result = cross_fit(inputs, labels, _strata(labels), None, _finish, config)
    assert not result.masks_used
    assert roc_auc_score(labels, result.scores) > max(0.95, roc_auc_score(labels, plain) + 0.03)


def test_patch_targets_masks_margins_and_multiple_instance() -> None:
    config = HeadConfig(mil_share=0.05)
    inputs = torch.zeros(1, 3, 4, 4)
    inputs[0, -1, 1, 2] = 5.0  # the highest distance
    assert (patch_targets(inputs, 0, None, config) == 0).all()
    mil = patch_targets(inputs, 1, None, config)
    assert mil[0, 1, 2] == 1 and (mil == 1).sum() == 1 and (mil == -1).sum() == 15
    mask = torch.zeros(1, 32, 32, dtype=torch.bool)
    mask[0, 0:8, 0:8] = True  # exactly patch (0, 0) of a 4 x 4 grid over 32 x 32 pixels
    targets = patch_targets(inputs, 1, mask, config)
    assert targets[0, 0, 0] == 1
    assert targets[0, 1, 1] == -1 and targets[0, 0, 1] == -1  # the margin next to the defect is left out
    assert targets[0, 3, 3] == 0 and targets[0, 2, 0] == 0


def test_head_round_trips_and_combinations_are_one_linear_layer() -> None:
    inputs, labels, masks = _pictures(10, 10, seed=4)
    targets = [patch_targets(x, int(label), None if m is None else torch.from_numpy(m)[None], HeadConfig())
               for x, label, m in zip(inputs, labels, masks, strict=True)]
    head = SupervisedHead().fit(inputs, targets)
    x = inputs[12].float()
    flat = x[0].permute(1, 2, 0).reshape(-1, x.shape[1]).double().numpy()
    for combination in ("head", "sum"):
        head.set_combination(combination)
        coef = head.coef_ / head.scale_
        logit = (flat - head.mean_) / head.scale_ @ head.coef_ + head.intercept_
        expected = logit if combination == "head" else (
            (flat[:, -1] - head.negative_stats_["distance_mean"]) / head.negative_stats_["distance_scale"]
            + (logit - head.negative_stats_["logit_mean"]) / head.negative_stats_["logit_scale"])
        np.testing.assert_allclose(head.raw_map(x).flatten().numpy(), expected, rtol=1e-4, atol=1e-4)
        assert coef.shape == (N_CHANNELS + 1,)
        again = SupervisedHead.from_state(head.state_tensors(), head.state_settings())
        torch.testing.assert_close(again.raw_map(x), head.raw_map(x))
        with torch.no_grad():  # the exporter's layer
            torch.testing.assert_close(head.as_conv()(x), head.raw_map(x))
    with pytest.raises(ConfigError, match=f"expects {N_CHANNELS + 1} features"):
        head.raw_map(torch.zeros(1, 7, 2, 2))
    with pytest.raises(ConfigError, match="good pictures"):
        SupervisedHead().fit(inputs[:10], targets[:10])  # good pictures only: no positive patch


def test_modes_and_folds() -> None:
    assert supervised_enabled("auto", 10, 10) and not supervised_enabled("auto", 9, 10)
    assert supervised_enabled("on", 2, 10) and not supervised_enabled("off", 500, 10)
    with pytest.raises(ConfigError, match="--supervised on needs"):
        supervised_enabled("on", 1, 10)
    with pytest.raises(ConfigError, match="--supervised must be"):
        supervised_enabled("maybe", 10, 10)
    strata = ["good"] * 20 + ["a"] * 10 + ["b"] * 5
    folds, n_folds = fold_indices(strata, 5, seed=1)
    assert n_folds == 5
    for fold in range(5):  # every type spread evenly over the folds
        held = [s for s, f in zip(strata, folds, strict=True) if f == fold]
        assert held.count("good") == 4 and held.count("a") == 2 and held.count("b") == 1
    np.testing.assert_array_equal(fold_indices(strata, 5, seed=1)[0], folds)


@pytest.mark.parametrize("name", ["patchcore", "padim"])
def test_detector_with_head_predicts_saves_and_loads(name: str, tmp_path) -> None:
    from hamacho_core.detectors import create_detector
    from hamacho_core.persistence import load_run, save_run
    from hamacho_core.thresholds import Normalization

    rng = np.random.default_rng(0)
    good = [rng.integers(100, 140, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    bad = [image.copy() for image in good[:4]]
    for image in bad:
        image[20:36, 20:36] = 255
    detector = create_detector(name, {"input_shape": (64, 64), "device": "cpu", "batch_size": 4}).fit(good[4:])
    plain = detector.predict(good[:4] + bad, keep_patch_inputs=True)
    n_inputs = plain.patch_inputs[0].shape[1]
    assert plain.patch_inputs[0].shape[0] == 1 and plain.patch_inputs[0].dtype == torch.float16
    mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    mask[0, 20:36, 20:36] = True
    targets = [patch_targets(x, int(i >= 4), mask if i >= 4 else None, HeadConfig()) for i, x in
               enumerate(plain.patch_inputs)]
    detector.head_ = SupervisedHead().fit(plain.patch_inputs, targets)
    boosted = detector.predict(good[:4] + bad)
    assert boosted.patch_inputs is None and boosted.maps.shape == (8, 64, 64)
    np.testing.assert_allclose(boosted.scores, boosted.maps.reshape(8, -1).max(axis=1), rtol=1e-5)
    assert boosted.scores[4:].min() > boosted.scores[:4].max()
    save_run(tmp_path, detector, Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0), {"category": "x"})
    loaded = load_run(tmp_path, accelerator="cpu").detector
    assert loaded.head_ is not None and loaded.head_.weight_.numel() == n_inputs
    np.testing.assert_allclose(loaded.predict(good[:4] + bad).scores, boosted.scores, rtol=1e-5)
    detector.head_ = None  # an old run without a head: the plain scores, unchanged
    np.testing.assert_allclose(detector.predict(good[:4] + bad).scores, plain.scores, rtol=1e-6)


def test_newton_solver_reaches_scikit_learns_optimum_from_zero_and_from_a_warm_start() -> None:
    """logistic_newton solves LogisticRegression(C, class_weight="balanced")'s problem (intercept not penalised);
    a start near another optimum (a warm start) ends at the same optimum, so it leaves no trace of its origin."""
    from sklearn.linear_model import LogisticRegression

    from hamacho_core.detectors.supervised import logistic_newton

    rng = np.random.default_rng(3)
    features = rng.normal(size=(3000, 12)).astype(np.float32)
    labels = (features @ rng.normal(size=12) + rng.normal(scale=2.0, size=3000) > 2.0).astype(np.int64)
    reference = LogisticRegression(C=0.1, class_weight="balanced", solver="newton-cholesky", tol=1e-10,
                                   max_iter=1000).fit(features.astype(np.float64), labels)
    expected = np.append(reference.coef_[0], reference.intercept_)
    cold = logistic_newton(features, labels, 0.1, 100)
    other = logistic_newton(features[:1500], labels[:1500], 0.1, 100)  # an optimum on other patches
    warm = logistic_newton(features, labels, 0.1, 100, start=other)
    assert np.abs(cold - expected).max() < 1e-3 * np.abs(expected).max()
    assert np.abs(warm - cold).max() < 1e-3 * np.abs(expected).max()
    assert np.abs(other - cold).max() > 1e-2 * np.abs(expected).max()  # the start was elsewhere
