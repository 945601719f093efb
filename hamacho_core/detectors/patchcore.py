"""PatchCore (Roth et al., "Towards Total Recall in Industrial Anomaly Detection", CVPR 2022).

Locally aware patch features from two mid-level stages, a greedy coreset memory bank, and nearest-neighbour
scoring with the paper's re-weighting of the image score.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from hamacho_core.choices import DEFAULT_MAX_BANK_SIZE
from hamacho_core.detectors.base import Detector, DetectorConfig, top_mean
from hamacho_core.errors import NotFittedError
from hamacho_core.neighbours import InvertedFileNeighbours, NearestNeighbours, create_search
from hamacho_core.progress import ProgressCallback
from hamacho_core.sampling import GreedyCoresetSampler

__all__ = ["DEFAULT_MAX_BANK_SIZE", "DEFAULT_MAX_CANDIDATES", "PatchCore", "PatchCoreConfig", "candidate_count"]

DEFAULT_MAX_CANDIDATES = 4_194_304  # 4M patches x 152 channels = 2.5 GB of float32


def candidate_count(n_patches: int, max_candidates: int | None) -> int:
    """Training patches the coreset chooses from: all of them, or about ``max_candidates`` drawn at random."""
    return min(n_patches, max_candidates) if max_candidates else n_patches


@dataclass
class PatchCoreConfig(DetectorConfig):
    """PatchCore settings."""

    coreset_ratio: float = 0.1  # share of training patches kept in the memory bank
    max_bank_size: int | None = DEFAULT_MAX_BANK_SIZE  # memory-bank budget (entries); None = ratio only
    max_candidates: int | None = DEFAULT_MAX_CANDIDATES  # patches the coreset sees (random subset beyond); None = all
    n_neighbors: int = 9  # neighbours used to re-weight the image score
    exact_search_limit: int = 20_000  # banks larger than this are searched with an inverted file (IVF)


class PatchCore(Detector):
    """PatchCore detector.

    Learned state: ``memory_bank_`` (M, D) patch features of good images.
    """

    name = "patchcore"
    config_class = PatchCoreConfig
    reductions = (8, 16)

    def __init__(self, config: PatchCoreConfig | None = None):
        super().__init__(config)
        self.memory_bank_: torch.Tensor | None = None
        self.n_candidates_: int = 0
        self._search: NearestNeighbours | InvertedFileNeighbours = NearestNeighbours()

    # ---------------------------------------------------------------------------------------- features
    @staticmethod
    def embed(features: list[torch.Tensor]) -> torch.Tensor:
        """Locally aware patch embedding.

        Each stage is averaged over its 3x3 neighbourhood, deeper stages are upsampled to the first stage's grid,
        and the channels are concatenated.

        Args:
            features: [(B, C_i, h_i, w_i)], first = finest.

        Returns:
            (B, D, h, w) with D = sum(C_i), (h, w) the first stage's grid.
        """
        pooled = [F.avg_pool2d(f.float(), kernel_size=3, stride=1, padding=1) for f in features]
        size = pooled[0].shape[-2:]
        upsampled = [pooled[0]] + [F.interpolate(p, size=size, mode="bilinear", align_corners=False)
                                   for p in pooled[1:]]
        return torch.cat(upsampled, dim=1)

    @staticmethod
    def _flatten(embedding: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> (B * h * w, D)."""
        return embedding.permute(0, 2, 3, 1).reshape(-1, embedding.shape[1])

    # --------------------------------------------------------------------------------------------- fit
    def _fit_features(
        self, features: Iterator[list[torch.Tensor]], n_images: int, progress: ProgressCallback | None
    ) -> None:
        config = self.config
        expected = n_images * self.input_shape_.patches(self.reductions[0])
        rate = candidate_count(expected, config.max_candidates) / max(expected, 1)
        generator = torch.Generator().manual_seed(config.seed)
        kept = []
        for batch in features:
            flat = self._flatten(self.embed(batch)).cpu()
            # Beyond the candidate budget (huge or tiled images), a uniform random share of each batch: the coreset
            # keeps at most max_bank_size entries anyway, and memory and coreset time stay bounded.
            kept.append(flat[torch.rand(len(flat), generator=generator) < rate] if rate < 1.0 else flat)
        patches = torch.cat(kept)
        sampler = GreedyCoresetSampler(ratio=config.coreset_ratio, max_size=config.max_bank_size, seed=config.seed)
        selected = sampler.run(patches.to(self.device), progress)
        self.n_candidates_ = patches.shape[0]
        self._set_bank(patches[selected].contiguous())

    def _set_bank(self, bank: torch.Tensor) -> None:
        self.memory_bank_ = bank.to(self.device)
        self._search = create_search(bank.shape[0], self.config.exact_search_limit, self.config.seed)
        self._search.fit(self.memory_bank_)

    # ----------------------------------------------------------------------------------------- predict
    def _score_patches(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Image scores (B,), distance maps (B, 1, h, w) and head inputs (B, D + 1, h, w) = [embedding, distance]."""
        embedding = self.embed(features)
        batch, _, height, width = embedding.shape
        flat = self._flatten(embedding)
        distances, locations = self._search.kneighbors(flat, k=1)
        patch_scores = distances.view(batch, height * width)
        scores = self._reweighted_scores(patch_scores, locations.view(batch, -1), flat.view(batch, height * width, -1))
        maps = patch_scores.view(batch, 1, height, width)
        return scores, maps, torch.cat([embedding, maps.to(embedding.dtype)], dim=1)

    def _reweighted_scores(
        self, patch_scores: torch.Tensor, locations: torch.Tensor, embedding: torch.Tensor
    ) -> torch.Tensor:
        """Image score s* re-weighted by how isolated its nearest bank entry m* is (PatchCore eq. 7), or with
        ``score_top_share`` > 0 the mean of the highest share of patch distances (no re-weighting).

        Args:
            patch_scores: (B, P) distance of each patch to its nearest bank entry.
            locations: (B, P) index of that entry.
            embedding: (B, P, D) patch features.

        Returns:
            (B,) image scores.
        """
        if self.config.score_top_share > 0:
            return top_mean(patch_scores, self.config.score_top_share)
        rows = torch.arange(patch_scores.shape[0], device=patch_scores.device)
        worst = patch_scores.argmax(dim=1)
        score = patch_scores[rows, worst]  # s*
        if self.config.n_neighbors <= 1:
            return score
        test_feature = embedding[rows, worst]  # m_test*
        nearest = self.memory_bank_[locations[rows, worst]]  # m*
        _, support = self._search.kneighbors(nearest, k=self.config.n_neighbors)  # N_b(m*)
        support_distances = torch.linalg.vector_norm(test_feature.unsqueeze(1) - self.memory_bank_[support], dim=2)
        weights = 1.0 - torch.softmax(support_distances, dim=1)[:, 0]
        return weights * score

    # ------------------------------------------------------------------------------------- persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        if self.memory_bank_ is None:
            raise NotFittedError("PatchCore is not fitted")
        return {"memory_bank": self.memory_bank_.detach().cpu().contiguous()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._set_bank(tensors["memory_bank"].float())

    def state_settings(self) -> dict[str, Any]:
        return {**super().state_settings(), "n_candidates": self.n_candidates_,
                "bank_size": int(self.memory_bank_.shape[0])}

    def load_state_settings(self, settings: dict[str, Any]) -> None:
        super().load_state_settings(settings)
        self.n_candidates_ = int(settings.get("n_candidates", 0))
