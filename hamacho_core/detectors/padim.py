"""PaDiM (Defard et al., "PaDiM: a Patch Distribution Modeling Framework", ICPR 2021).

A multivariate Gaussian per feature-map position over a random subset of channels; the anomaly map is the
Mahalanobis distance of each test patch to its position's Gaussian.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hamacho_core.detectors.base import Detector, DetectorConfig
from hamacho_core.errors import NotFittedError
from hamacho_core.progress import ProgressCallback

__all__ = ["PaDiM", "PaDiMConfig"]


@dataclass
class PaDiMConfig(DetectorConfig):
    """PaDiM settings."""

    n_features: int = 100  # random channels kept out of all stages'
    epsilon: float = 0.01  # covariance regulariser (added to the diagonal)


class PaDiM(Detector):
    """PaDiM detector.

    Learned state: ``channels_`` (d,), ``mean_`` (P, d), ``inverse_covariance_`` (P, d, d), P = h * w positions.
    """

    name = "padim"
    config_class = PaDiMConfig
    reductions = (4, 8, 16)

    def __init__(self, config: PaDiMConfig | None = None):
        super().__init__(config)
        self.channels_: torch.Tensor | None = None
        self.mean_: torch.Tensor | None = None
        self.inverse_covariance_: torch.Tensor | None = None

    def embed(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Concatenate all stages at the finest grid and keep the chosen channels.

        Args: features [(B, C_i, h_i, w_i)]. Returns: (B, d, h, w).
        """
        size = features[0].shape[-2:]
        stacked = torch.cat([features[0].float()] + [F.interpolate(f.float(), size=size, mode="nearest")
                                                     for f in features[1:]], dim=1)
        return stacked[:, self.channels_.to(stacked.device)]

    def _fit_features(
        self, features: Iterator[list[torch.Tensor]], n_images: int, progress: ProgressCallback | None
    ) -> None:
        total_channels = sum(self.extractor.channels)
        n_features = min(self.config.n_features, total_channels)
        generator = torch.Generator().manual_seed(self.config.seed)
        self.channels_ = torch.sort(torch.randperm(total_channels, generator=generator)[:n_features]).values
        count, total, outer = 0, None, None
        for batch in features:
            embedding = self.embed(batch).double()  # (B, d, h, w)
            flat = embedding.flatten(2).permute(2, 0, 1)  # (P, B, d)
            total = flat.sum(1) if total is None else total + flat.sum(1)
            products = torch.einsum("pbi,pbj->pij", flat, flat)
            outer = products if outer is None else outer + products
            count += flat.shape[1]
        mean = total / count
        covariance = (outer - count * torch.einsum("pi,pj->pij", mean, mean)) / max(count - 1, 1)
        covariance += self.config.epsilon * torch.eye(n_features, dtype=covariance.dtype, device=covariance.device)
        self.mean_ = mean.float()
        self.inverse_covariance_ = torch.linalg.inv(covariance).float()

    def _score_patches(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Image scores (B,), Mahalanobis maps (B, 1, h, w) and head inputs (B, d + 1, h, w) = [embedding, distance]."""
        embedding = self.embed(features)
        batch, _, height, width = embedding.shape
        delta = embedding.flatten(2).permute(2, 0, 1) - self.mean_.unsqueeze(1)  # (P, B, d)
        squared = torch.einsum("pbi,pij,pbj->pb", delta, self.inverse_covariance_, delta).clamp_(min=0)
        maps = squared.sqrt().T.reshape(batch, 1, height, width)
        smoothed = self._smooth(maps)
        return smoothed.flatten(1).amax(dim=1), maps, torch.cat([embedding, maps], dim=1)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if self.mean_ is None:
            raise NotFittedError("PaDiM is not fitted")
        return {"channels": self.channels_.cpu(), "mean": self.mean_.cpu().contiguous(),
                "inverse_covariance": self.inverse_covariance_.cpu().contiguous()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        device = self.device
        self.channels_ = tensors["channels"].long()
        self.mean_ = tensors["mean"].float().to(device)
        self.inverse_covariance_ = tensors["inverse_covariance"].float().to(device)
