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

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F

from hamacho_core.errors import ConfigError, NotFittedError

__all__ = ["COMBINATIONS", "HeadConfig", "SupervisedHead", "patch_targets"]

COMBINATIONS = ("head", "sum")
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1


@dataclass
class HeadConfig:
    """Settings of the supervised head."""

    regularization: float = 0.1  # C of the logistic regression (smaller = stronger L2 penalty)
    combination: str = "head"  # "head" | "sum" (see module docstring)
    positives_per_image: int = 256  # most positive patches drawn from one picture
    negatives_per_image: int = 128  # most negative patches drawn from one picture
    positive_share: float = 0.3  # least share of a patch inside the mask for it to count as positive
    mil_share: float = 0.01  # without a mask: share of a defect picture's highest-distance patches taken as positive
    max_iter: int = 100  # L-BFGS iterations (a linear score needs no more; warnings silenced)
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
        from sklearn.linear_model import LogisticRegression  # a tested, regularised solver beats a hand-written one

        features, labels = self._draw(patch_inputs, targets)
        n_positive = int(labels.sum())
        if n_positive == 0 or n_positive == len(labels):
            raise ConfigError("the supervised head needs defect pictures and good pictures: turn --supervised off or "
                              "add pictures of the missing kind")
        self.mean_ = features.mean(0)
        self.scale_ = features.std(0) + 1e-6
        standard = (features - self.mean_) / self.scale_
        model = LogisticRegression(C=self.config.regularization, class_weight="balanced", max_iter=self.config.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: the last iterate is a fine linear score
            model.fit(standard, labels)
        self.coef_ = model.coef_[0].astype(np.float64)
        self.intercept_ = float(model.intercept_[0])
        negatives = features[labels == 0]
        logits = ((negatives - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        self.negative_stats_ = {"distance_mean": float(negatives[:, -1].mean()),
                                "distance_scale": float(negatives[:, -1].std() + 1e-6),
                                "logit_mean": float(logits.mean()), "logit_scale": float(logits.std() + 1e-6)}
        self.counts_ = {"positive_patches": n_positive, "negative_patches": int(len(labels) - n_positive)}
        return self.set_combination(self.config.combination)

    def _draw(self, patch_inputs: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]
              ) -> tuple[np.ndarray, np.ndarray]:
        """A seeded sample of each picture's positive and negative patches: (n, D + 1) float64 and (n,) labels."""
        generator = np.random.default_rng(self.config.seed)
        rows, labels = [], []
        for inputs, target in zip(patch_inputs, targets, strict=True):
            flat = inputs.permute(0, 2, 3, 1).reshape(-1, inputs.shape[1])
            target = target.reshape(-1).numpy()
            for value, cap in ((POSITIVE, self.config.positives_per_image),
                               (NEGATIVE, self.config.negatives_per_image)):
                index = np.flatnonzero(target == value)
                if len(index) > cap:
                    index = generator.choice(index, cap, replace=False)
                rows.append(flat[torch.from_numpy(index)].double().numpy())
                labels.append(np.full(len(index), value, dtype=np.int64))
        return np.concatenate(rows), np.concatenate(labels)

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
