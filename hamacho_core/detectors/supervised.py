"""Supervised head: a logistic regression on the detector's frozen patch features and its patch distance.

The plain detectors learn from good pictures only. When defect pictures are available, this head learns which
patches look defective: positives are the patches inside the defect masks (without masks: each defect picture's
highest-distance patches, multiple-instance style), negatives are the patches of good pictures (and those far
from the mask in defect pictures). Its score replaces the plain distance in the anomaly map.

The math, for exporters (one more layer after the detector's patch embedding):

* Input per patch: ``x = [e_1, ..., e_D, d]`` (D + 1 values), in this order. ``e`` is the detector's patch
  embedding: PatchCore's locally aware features at stride 8 (D = the channels of both stages, 152 for
  EfficientNet-Lite0), PaDiM's chosen channels at stride 4 (D = n_features). ``d`` is the detector's raw patch
  distance before smoothing: PatchCore the L2 distance to the nearest memory-bank entry, PaDiM the Mahalanobis
  distance to the position's Gaussian.
* Raw map: ``r = w . x + b`` with ``w = head.weight`` (D + 1,) and ``b = head.bias`` (1,), i.e. a 1x1
  convolution of the (B, D + 1, h, w) tensor with one output channel. The feature standardisation and the
  combination with the plain distance are already folded into ``w`` and ``b``.
* Then exactly what the plain detector does with its distance map: bilinear upsampling to the model input,
  Gaussian blur (``blur_sigma``), tiles stitched; the picture score is the maximum of that map (no PatchCore
  re-weighting).

Combinations (``combination``): ``"head"`` = the logistic regression's logit (which has ``d`` as one input);
``"sum"`` = z-scored distance + z-scored logit, both standardised on the negative patches. Either is linear in
``x``, so the exported graph is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F

from hamacho_core.errors import ConfigError, NotFittedError

__all__ = ["COMBINATIONS", "HeadConfig", "SupervisedHead", "draw_patches", "logistic_newton", "patch_targets"]

COMBINATIONS = ("head", "sum")
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1
SOLVER_TOLERANCE = 1e-4  # largest gradient entry at the optimum (scikit-learn's default tolerance)


@dataclass
class HeadConfig:
    """Settings of the supervised head."""

    regularization: float = 0.1  # C of the logistic regression (smaller = stronger L2 penalty)
    combination: str = "head"  # "head" | "sum" (see module docstring)
    positives_per_image: int = 256  # most positive patches drawn from one picture
    negatives_per_image: int = 128  # most negative patches drawn from one picture
    positive_share: float = 0.3  # least share of a patch inside the mask for it to count as positive
    mil_share: float = 0.01  # without a mask: share of a defect picture's highest-distance patches taken as positive
    max_iter: int = 100  # most solver iterations (Newton: about 8 from zero, 2 from a warm start)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def patch_targets(
    patch_inputs: torch.Tensor,
    label: int,
    mask: torch.Tensor | None,
    config: HeadConfig,
) -> torch.Tensor:
    """Which patches of one picture are positive, negative or left out of training.

    Args:
        patch_inputs: (T, D + 1, h, w) the picture's head inputs (T tiles; T = 1 without tiling); the last channel is
            the plain distance.
        label: 0 good, 1 defect.
        mask: (T, H_t, W_t) bool ground truth at the model input of each tile, or None (no mask: multiple-instance
            positives). An all-False mask of a defect picture counts as no mask.
        config: head settings.

    Returns:
        (T, h, w) int8: 1 positive, 0 negative, -1 ignored.
    """
    tiles, _, height, width = patch_inputs.shape
    if label == 0:
        return torch.full((tiles, height, width), NEGATIVE, dtype=torch.int8)
    targets = torch.full((tiles, height, width), IGNORED, dtype=torch.int8)
    if mask is None or not bool(mask.any()):
        distance = patch_inputs[:, -1].float().flatten()
        count = max(1, int(round(config.mil_share * distance.numel())))
        targets.view(-1)[distance.topk(count).indices] = POSITIVE
        return targets
    share = F.interpolate(mask.float().unsqueeze(1), size=(height, width), mode="area")  # (T, 1, h, w)
    touched = F.max_pool2d((share > 0).float(), kernel_size=3, stride=1, padding=1)[:, 0] > 0  # 1-patch margin
    share = share[:, 0]
    positive = share >= min(config.positive_share, float(share.max()))  # tiny defects: their best patch at least
    targets[~touched] = NEGATIVE
    targets[positive] = POSITIVE
    return targets


def draw_patches(patch_inputs: torch.Tensor, targets: torch.Tensor, config: HeadConfig,
                 generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of one picture's positive and negative patches (at most ``positives_per_image`` and
    ``negatives_per_image``): features (n, D + 1) float32 and labels (n,) int64 (1 positive, 0 negative).

    Args: patch_inputs (T, D + 1, h, w) (float16 as predict keeps them); targets (T, h, w) from :func:`patch_targets`.
    """
    tiles, depth = patch_inputs.shape[:2]
    # channel-major gather: only the drawn columns are converted, never the whole picture
    columns = patch_inputs.detach().cpu().numpy().reshape(tiles, depth, -1).transpose(1, 0, 2).reshape(depth, -1)
    target = targets.reshape(-1).numpy()
    rows, labels = [], []
    for value, cap in ((POSITIVE, config.positives_per_image), (NEGATIVE, config.negatives_per_image)):
        index = np.flatnonzero(target == value)
        if len(index) > cap:
            index = generator.choice(index, cap, replace=False)
        rows.append(columns[:, index].T.astype(np.float32))
        labels.append(np.full(len(index), value, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(labels)


def logistic_newton(features: np.ndarray, labels: np.ndarray, regularization: float, max_iter: int,
                    start: np.ndarray | None = None, tolerance: float = SOLVER_TOLERANCE) -> np.ndarray:
    """L2-regularised logistic regression with balanced class weights, by Newton's method: (coef..., intercept).

    The objective and optimum of scikit-learn's ``LogisticRegression(C=regularization, class_weight="balanced")``
    (the intercept not penalised): mean over patches of w_i * log(1 + exp(-y_i z_i)) + ||coef||^2 / (2 C n), w_i =
    n / (2 n_class(y_i)). With D + 1 <= a few hundred inputs and tens of thousands of patches, each Newton step is
    one (n, D + 1) x (D + 1, n) product and a Cholesky solve; it converges in about eight steps from zero and in two
    from a nearby optimum (``start``), where scikit-learn's solvers took 50 L-BFGS iterations or 5-10 times longer
    for the same Newton steps. Stops when the largest gradient entry is under ``tolerance`` (scikit-learn's rule).
    """
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    x = torch.cat([x, torch.ones(len(x), 1)], dim=1)
    y = torch.from_numpy(labels.astype(np.float64))
    n = float(len(y))
    positives = float(y.sum())
    weights = torch.where(y > 0, n / (2 * positives), n / (2 * (n - positives))) / n  # balanced, mean-normalised
    penalty = torch.full((x.shape[1],), 1.0 / (regularization * n), dtype=torch.float64)
    penalty[-1] = 0.0  # the intercept is not penalised
    signs = 2 * y - 1

    def objective(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        margin = (x @ theta.float()).double()
        value = float((weights * F.softplus(-signs * margin)).sum() + 0.5 * (penalty * theta * theta).sum())
        return value, margin

    theta = torch.zeros(x.shape[1], dtype=torch.float64) if start is None else torch.from_numpy(start).double()
    value, margin = objective(theta)
    for _ in range(max_iter):
        p = torch.sigmoid(margin)
        gradient = (x.T @ (weights * (p - y)).float()).double() + penalty * theta
        if float(gradient.abs().max()) <= tolerance:
            break
        curvature = (weights * p * (1 - p)).float()
        hessian = (x.T @ (x * curvature[:, None])).double() + torch.diag(penalty)
        hessian[-1, -1] += 1e-12  # an all-one intercept column is never singular; guards constant features
        step = torch.cholesky_solve(-gradient[:, None], torch.linalg.cholesky(hessian))[:, 0]
        slope, size = float(gradient @ step), 1.0
        for _ in range(30):  # backtracking (Armijo): a full Newton step almost always passes
            candidate = theta + size * step
            new_value, new_margin = objective(candidate)
            if new_value <= value + 1e-4 * size * slope:
                break
            size /= 2
        theta, value, margin = candidate, new_value, new_margin
    return theta.numpy()


class SupervisedHead:
    """Logistic regression on patch inputs ``x = [embedding, distance]``; a linear map ``w . x + b``.

    Learned state: ``weight_`` (D + 1,), ``bias_`` (scalar), folded for ``config.combination``; the unfolded parts
    (``coef_``, ``intercept_``, ``mean_``, ``scale_`` and the negatives' statistics) allow switching the combination
    after fitting without refitting.
    """

    def __init__(self, config: HeadConfig | None = None):
        self.config = config if config is not None else HeadConfig()
        self.weight_: torch.Tensor | None = None
        self.bias_: float = 0.0
        self.coef_: np.ndarray | None = None
        self.intercept_: float = 0.0
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.negative_stats_: dict[str, float] = {}
        self.counts_: dict[str, int] = {}

    # --------------------------------------------------------------------------------------------- fit
    def fit(self, patch_inputs: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]) -> Self:
        """Fit on pictures' patches.

        Args:
            patch_inputs: per picture (T, D + 1, h, w).
            targets: per picture (T, h, w) int8 from :func:`patch_targets`.

        Returns:
            self.

        Raises:
            ConfigError: no positive or no negative patch.
        """
        generator = np.random.default_rng(self.config.seed)
        drawn = [draw_patches(x, t, self.config, generator) for x, t in zip(patch_inputs, targets, strict=True)]
        return self.fit_rows(np.concatenate([f for f, _ in drawn]), np.concatenate([y for _, y in drawn]))

    def fit_rows(self, features: np.ndarray, labels: np.ndarray, start: SupervisedHead | None = None) -> Self:
        """Fit on drawn patches (:func:`draw_patches`): features (n, D + 1), labels (n,) 1 positive / 0 negative.

        ``start``: a head fitted on similar patches (the cross-fitting's head on all pictures) whose solution starts
        the solver (warm start: the same optimum in a few iterations instead of dozens).

        Raises:
            ConfigError: no positive or no negative patch.
        """
        n_positive = int(labels.sum())
        if n_positive == 0 or n_positive == len(labels):
            raise ConfigError("the supervised head needs defect pictures and good pictures: turn --supervised off or "
                              "add pictures of the missing kind")
        features = np.asarray(features, dtype=np.float32)
        self.mean_ = features.mean(0, dtype=np.float64)
        self.scale_ = features.std(0, dtype=np.float64) + 1e-6
        standard = (features - self.mean_.astype(np.float32)) / self.scale_.astype(np.float32)
        start_point = None
        if start is not None and start.coef_ is not None:  # the start's linear score in this fit's standardisation
            raw = start.coef_ / start.scale_
            start_point = np.append(raw * self.scale_, start.intercept_ + float(raw @ (self.mean_ - start.mean_)))
        solution = logistic_newton(standard, labels, self.config.regularization, self.config.max_iter, start_point)
        self.coef_, self.intercept_ = solution[:-1], float(solution[-1])
        logits = standard[labels == 0].astype(np.float64) @ self.coef_ + self.intercept_
        distances = features[labels == 0, -1]
        self.negative_stats_ = {"distance_mean": float(distances.mean()),
                                "distance_scale": float(distances.std() + 1e-6),
                                "logit_mean": float(logits.mean()), "logit_scale": float(logits.std() + 1e-6)}
        self.counts_ = {"positive_patches": n_positive, "negative_patches": int(len(labels) - n_positive)}
        return self.set_combination(self.config.combination)

    def set_combination(self, combination: str) -> Self:
        """Fold the standardisation and ``combination`` ("head" | "sum") into ``weight_`` and ``bias_``."""
        if combination not in COMBINATIONS:
            raise ConfigError(f"unknown combination {combination!r}: use one of {', '.join(COMBINATIONS)}")
        if self.coef_ is None:
            raise NotFittedError("SupervisedHead is not fitted: call fit() first")
        weight = self.coef_ / self.scale_
        bias = self.intercept_ - float(weight @ self.mean_)
        if combination == "sum":
            stats = self.negative_stats_
            weight = weight / stats["logit_scale"]
            bias = (bias - stats["logit_mean"]) / stats["logit_scale"]
            weight[-1] += 1.0 / stats["distance_scale"]
            bias -= stats["distance_mean"] / stats["distance_scale"]
        self.config.combination = combination
        self.weight_ = torch.from_numpy(weight.astype(np.float32))
        self.bias_ = float(bias)
        return self

    # ----------------------------------------------------------------------------------------- predict
    def raw_map(self, patch_inputs: torch.Tensor) -> torch.Tensor:
        """The head's raw map: a 1x1 convolution. Args: (B, D + 1, h, w). Returns: (B, 1, h, w) float32."""
        if self.weight_ is None:
            raise NotFittedError("SupervisedHead is not fitted: call fit() or load a saved run")
        if patch_inputs.shape[1] != self.weight_.numel():
            raise ConfigError(f"the supervised head expects {self.weight_.numel()} features per patch, got "
                              f"{patch_inputs.shape[1]}: it belongs to another backbone or model")
        weight = self.weight_.to(patch_inputs.device).view(1, -1, 1, 1)
        return F.conv2d(patch_inputs.float(), weight, bias=torch.tensor([self.bias_], device=patch_inputs.device))

    def as_conv(self) -> torch.nn.Conv2d:
        """The head as one layer for exporters: Conv2d(D + 1 -> 1, kernel 1) over ``[embedding, distance]``.

        ``as_conv()(x)`` equals :meth:`raw_map` ``(x)``; the detector then upsamples, blurs, stitches and takes the
        maximum as for its plain distance map (``Detector.finish_maps``).
        """
        if self.weight_ is None:
            raise NotFittedError("SupervisedHead is not fitted: call fit() or load a saved run")
        layer = torch.nn.Conv2d(self.weight_.numel(), 1, kernel_size=1)
        with torch.no_grad():
            layer.weight.copy_(self.weight_.view(1, -1, 1, 1))
            layer.bias.fill_(self.bias_)
        return layer.eval()

    # ------------------------------------------------------------------------------------- persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """``head.weight`` (D + 1,) and ``head.bias`` (1,) for safetensors."""
        if self.weight_ is None:
            raise NotFittedError("SupervisedHead is not fitted")
        return {"head.weight": self.weight_.contiguous(), "head.bias": torch.tensor([self.bias_], dtype=torch.float32)}

    def state_settings(self) -> dict[str, Any]:
        """Settings and counts for the run's YAML (the tensors go to safetensors)."""
        return {"config": self.config.to_dict(), "counts": dict(self.counts_), "n_inputs": int(self.weight_.numel()),
                "layout": "x = [patch embedding (D), plain patch distance (1)]; map = conv1x1(x, weight) + bias, "
                          "then the detector's upsampling, blur and tile stitching; score = max of the map"}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], settings: dict[str, Any]) -> SupervisedHead:
        """Rebuild a head for prediction from :meth:`state_tensors` and :meth:`state_settings`."""
        head = cls(HeadConfig.from_dict(settings.get("config", {})))
        head.weight_ = tensors["head.weight"].float().reshape(-1)
        head.bias_ = float(tensors["head.bias"].reshape(-1)[0])
        head.counts_ = {k: int(v) for k, v in settings.get("counts", {}).items()}
        return head
