"""Cross-fitting of the supervised head: every test picture is scored by a head that never saw it.

The supervised head (``detectors/supervised.py``) learns from the test pictures themselves (their masks and
labels), so scoring them with a head fitted on all of them would flatter it. Instead the test pictures are split
into k folds, stratified by defect type (good pictures are one more type) and seeded; each fold is scored by a
head fitted on the other folds only. Thresholds and every figure the product shows are fitted on those
cross-fitted scores and maps. The head saved for inference is then fitted on all pictures.

The same folds give the learning curve: heads fitted on 5, 10, 20, 50 of the other folds' defect pictures (and all
their good pictures), to show how much more defect pictures would help.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from hamacho_core.config import SUPERVISED_MODES
from hamacho_core.detectors.supervised import COMBINATIONS, HeadConfig, SupervisedHead, draw_patches, patch_targets
from hamacho_core.errors import ConfigError
from hamacho_core.metrics import cross_fitted_estimate
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.tiling import TileGrid, split_tiles

__all__ = ["CrossFitConfig", "CrossFitResult", "LearningPoint", "cross_fit", "fold_indices", "supervised_enabled"]

LEARNING_CURVE_SIZES = (5, 10, 20, 50)

# raw maps (n_images * T, 1, h, w) and a number of images -> scores (n_images,), maps (n_images, H, W)
FinishMaps = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def supervised_enabled(mode: str, n_defect_pictures: int, min_defects: int) -> bool:
    """Whether ``--supervised auto|on|off`` trains a head with this many defect pictures.

    Raises:
        ConfigError: unknown mode, or "on" with fewer than 2 defect pictures (nothing to cross-fit).
    """
    if mode not in SUPERVISED_MODES:
        raise ConfigError(f"--supervised must be one of {', '.join(SUPERVISED_MODES)}, got {mode!r}")
    if mode == "on" and n_defect_pictures < 2:
        raise ConfigError(f"--supervised on needs at least 2 defect pictures with the test pictures, found "
                          f"{n_defect_pictures}: add defect pictures or use --supervised off")
    return mode == "on" or (mode == "auto" and n_defect_pictures >= min_defects)


@dataclass
class CrossFitConfig:
    """Cross-fitting settings."""

    n_folds: int = 5  # folds over the test pictures (fewer when a type has fewer pictures)
    seed: int = 420  # folds and patch sampling
    head: HeadConfig = field(default_factory=HeadConfig)
    combinations: tuple[str, ...] = COMBINATIONS  # candidates, chosen by cross-fitted image AUROC
    curve_sizes: tuple[int, ...] = LEARNING_CURVE_SIZES  # defect pictures per head for the learning curve
    chunk: int = 16  # pictures per head application


@dataclass
class LearningPoint:
    """Cross-fitted figures of heads fitted on ``n_defect_pictures`` defect pictures each."""

    n_defect_pictures: int  # defect pictures each head learned from ("all": the other folds' ones, on average)
    image_auroc: float | None
    recall: float | None  # at a threshold fitted on other pictures (the cross-fitted estimate)
    f1: float | None
    is_all: bool = False


@dataclass
class CrossFitResult:
    """What cross-fitting produced.

    Attributes:
        scores: (N,) cross-fitted image scores of the test pictures.
        maps: (N, H, W) float32 cross-fitted anomaly maps.
        folds: (N,) fold of each picture.
        head: the head fitted on all pictures (for the saved model), set to the chosen combination.
    """

    scores: np.ndarray
    maps: np.ndarray
    folds: np.ndarray
    head: SupervisedHead
    combination: str
    candidate_auroc: dict[str, float | None]
    plain_auroc: float | None
    learning_curve: list[LearningPoint]
    masks_used: bool
    n_folds: int
    seconds: float

    def summary(self) -> dict[str, Any]:
        """JSON-able figures for metrics.json and config.yaml (no arrays)."""
        return {"combination": self.combination, "candidate_image_auroc": self.candidate_auroc,
                "plain_image_auroc": self.plain_auroc, "n_folds": self.n_folds, "masks_used": self.masks_used,
                "seconds": round(self.seconds, 2), "head_counts": dict(self.head.counts_),
                "learning_curve": [asdict(p) for p in self.learning_curve]}


def fold_indices(strata: Sequence[str], n_folds: int, seed: int) -> tuple[np.ndarray, int]:
    """Seeded folds stratified by ``strata`` (defect type, "good"): (N,) fold of each picture, and the fold count."""
    strata = np.asarray([str(s) for s in strata])
    _, counts = np.unique(strata, return_counts=True)
    n_folds = int(min(n_folds, counts.max()))
    if n_folds < 2:
        raise ConfigError("cross-fitting needs at least 2 pictures of one kind in the test pictures")
    folds = np.zeros(len(strata), dtype=np.int64)
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a type with fewer pictures than folds is spread over fewer folds
        for fold, (_, held) in enumerate(splitter.split(np.zeros(len(strata)), strata)):
            folds[held] = fold
    return folds, n_folds


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else None


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(average_precision_score(labels, scores)) if 0 < labels.sum() < len(labels) else 0.0


class _CrossFitter:
    """One cross-fitting job over fixed head inputs, targets and folds.

    Each picture's patches are drawn once (seeded by the picture's place), so every head that learns from a picture
    learns from the same patches of it; heads start from the head fitted on all pictures (warm start). Every map is
    finished once per picture: the "head" and "sum" combinations are both linear in the head inputs, and so are the
    upsampling, blur and tile stitching that finish a map, so a picture's "sum" map is its finished "head" map and
    its finished plain distance map combined (``_combine``).
    """

    def __init__(self, patch_inputs: Sequence[torch.Tensor], targets: list[torch.Tensor], labels: np.ndarray,
                 folds: np.ndarray, finish: FinishMaps, config: CrossFitConfig):
        self.patch_inputs, self.labels, self.folds = patch_inputs, labels, folds
        self.finish, self.config = finish, config
        drawn = [draw_patches(x, t, config.head, np.random.default_rng([config.head.seed, i]))
                 for i, (x, t) in enumerate(zip(patch_inputs, targets, strict=True))]
        self.rows = [features for features, _ in drawn]
        self.row_labels = [row_labels for _, row_labels in drawn]
        self.start: SupervisedHead | None = None

    def fit_head(self, index: np.ndarray) -> SupervisedHead:
        head = SupervisedHead(HeadConfig(**self.config.head.to_dict()))
        return head.fit_rows(np.concatenate([self.rows[i] for i in index]),
                             np.concatenate([self.row_labels[i] for i in index]), self.start)

    def finished(self, head: SupervisedHead, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (len(index),) and maps (len(index), H, W) of these pictures by ``head`` as it is combined."""
        scores, maps = [], []
        for begin in range(0, len(index), self.config.chunk):
            part = [self.patch_inputs[i] for i in index[begin:begin + self.config.chunk]]
            part_scores, part_maps = self.finish(head.raw_map(torch.cat(part)), len(part))
            scores.append(part_scores.numpy().astype(np.float64))
            maps.append(part_maps.numpy())
        return np.concatenate(scores), np.concatenate(maps)

    def training_index(self, fold: int, n_defects: int | None, seed: int) -> np.ndarray:
        """The other folds' pictures; with ``n_defects``, only that many of their defect pictures (seeded draw)."""
        index = np.flatnonzero(self.folds != fold)
        if n_defects is None:
            return index
        defects = index[self.labels[index] == 1]
        chosen = np.random.default_rng(seed).choice(defects, min(n_defects, len(defects)), replace=False)
        return np.sort(np.concatenate([index[self.labels[index] == 0], chosen]))


def _combine(head_maps: np.ndarray, distance_maps: np.ndarray, head: SupervisedHead, combination: str) -> np.ndarray:
    """Finished maps of ``combination`` from the finished "head" maps and plain distance maps (same pictures).

    "sum" = (logit - logit_mean) / logit_scale + (distance - distance_mean) / distance_scale, exactly what
    ``SupervisedHead.set_combination("sum")`` folds into one 1x1 convolution (finishing is linear and keeps constants).
    """
    if combination == "head":
        return head_maps
    stats = head.negative_stats_
    out = (head_maps - stats["logit_mean"]) / stats["logit_scale"]
    out += (distance_maps - stats["distance_mean"]) / stats["distance_scale"]
    return out.astype(np.float32, copy=False)


def cross_fit(
    patch_inputs: Sequence[torch.Tensor],
    labels: Sequence[int],
    strata: Sequence[str],
    masks: Sequence[np.ndarray | None] | None,
    finish: FinishMaps,
    config: CrossFitConfig | None = None,
    tile_grid: TileGrid | None = None,
    plain_scores: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    plain_maps: np.ndarray | None = None,
) -> CrossFitResult:
    """Cross-fit the supervised head over the test pictures and fit the final head on all of them.

    Args:
        patch_inputs: per picture (T, D + 1, h, w) head inputs (``Detector.predict(keep_patch_inputs=True)``).
        labels: (N,) 0 good, 1 defect.
        strata: (N,) defect type of each picture ("good" for good ones): the folds keep their shares.
        masks: per picture (H, W) bool ground truth at the model input (canvas when tiled), None where unknown;
            None = no masks at all (multiple-instance positives).
        finish: raw maps -> (scores, maps), e.g. ``Detector.finish_maps``.
        config: cross-fitting settings.
        tile_grid: the detector's tile grid (masks are cut into tiles like the pictures), None without tiling.
        plain_scores: (N,) the plain detector's scores, only recorded for comparison.
        progress: callback (done, total, stage).
        plain_maps: (N, H, W) the plain detector's finished maps (``Prediction.maps``), for the "sum" combination;
            None = finished here from the head inputs' distance channel.

    Returns:
        :class:`CrossFitResult`.
    """
    start = time.perf_counter()
    config = config or CrossFitConfig()
    labels = np.asarray(labels, dtype=np.int64)
    if labels.sum() < 2 or (labels == 0).sum() < 2:
        raise ConfigError("the supervised head needs at least 2 good and 2 defect test pictures: add pictures or "
                          "use --supervised off")
    masks_used = masks is not None and any(m is not None and m.any() for m in masks)
    targets = [patch_targets(x, int(label), _tiles(masks[i], tile_grid) if masks is not None else None, config.head)
               for i, (x, label) in enumerate(zip(patch_inputs, labels, strict=True))]
    folds, n_folds = fold_indices(strata, config.n_folds, config.seed)
    fitter = _CrossFitter(patch_inputs, targets, labels, folds, finish, config)
    curve_sizes = [n for n in config.curve_sizes if n < int(labels.sum() * (n_folds - 1) / n_folds)]
    total, done = n_folds * (1 + len(curve_sizes)) + 1, 0
    stage = "supervised head (cross-fitting)"
    notify(progress, 0, total, stage)

    # the head on all pictures first: the saved head, and the start of every fold's solver
    final = fitter.fit_head(np.arange(len(labels)))
    fitter.start = final
    done += 1
    notify(progress, done, total, stage)
    if plain_maps is None:
        plain_maps = np.concatenate([finish(x[:, -1:].float(), 1)[1].numpy() for x in patch_inputs])
    heads, maps = [], None
    candidate_scores = {c: np.zeros(len(labels)) for c in config.combinations}
    for fold in range(n_folds):
        held = np.flatnonzero(folds == fold)
        head = fitter.fit_head(fitter.training_index(fold, None, 0)).set_combination("head")
        scores_head, maps_head = fitter.finished(head, held)
        if maps is None:
            maps = np.empty((len(labels), *maps_head.shape[1:]), np.float32)
        maps[held] = maps_head
        for combination in config.combinations:
            combined = _combine(maps_head, plain_maps[held], head, combination)
            candidate_scores[combination][held] = (scores_head if combination == "head"
                                                   else combined.reshape(len(held), -1).max(axis=1))
        heads.append(head)
        done += 1
        notify(progress, done, total, stage)
    candidate_auroc = {c: _auroc(labels, s) for c, s in candidate_scores.items()}
    combination = max(config.combinations, key=lambda c: (candidate_auroc[c] or 0.0,
                                                          _average_precision(labels, candidate_scores[c])))
    scores = candidate_scores[combination]
    if combination != "head":
        for fold, head in enumerate(heads):
            held = np.flatnonzero(folds == fold)
            maps[held] = _combine(maps[held], plain_maps[held], head, combination)

    curve = []
    for n_defects in curve_sizes:
        curve_scores = np.zeros(len(labels))
        for fold in range(n_folds):
            held = np.flatnonzero(folds == fold)
            head = fitter.fit_head(fitter.training_index(fold, n_defects, config.seed + 1000 * n_defects + fold))
            curve_scores[held] = fitter.finished(head.set_combination(combination), held)[0]
            done += 1
            notify(progress, done, total, stage)
        curve.append(_point(n_defects, labels, curve_scores, config.seed, False))
    n_all = int(round(np.mean([labels[folds != f].sum() for f in range(n_folds)])))
    curve.append(_point(n_all, labels, scores, config.seed, True))

    final.set_combination(combination)
    notify(progress, total, total, stage)
    return CrossFitResult(scores, maps, folds, final, combination, candidate_auroc,
                          None if plain_scores is None else _auroc(labels, np.asarray(plain_scores)), curve,
                          masks_used, n_folds, time.perf_counter() - start)


def _point(n_defects: int, labels: np.ndarray, scores: np.ndarray, seed: int, is_all: bool) -> LearningPoint:
    estimate = cross_fitted_estimate(labels, scores, seed=seed)
    return LearningPoint(n_defects, _auroc(labels, scores), None if estimate is None else estimate.recall,
                         None if estimate is None else estimate.f1, is_all)


def _tiles(mask: np.ndarray | None, grid: TileGrid | None) -> torch.Tensor | None:
    """(H, W) bool canvas mask -> (T, H_t, W_t) tile masks (T = 1 without tiling)."""
    if mask is None:
        return None
    tensor = torch.from_numpy(np.ascontiguousarray(mask)).bool().view(1, 1, *mask.shape)
    if grid is None:
        return tensor[0]
    return split_tiles(tensor, grid)[:, 0]
