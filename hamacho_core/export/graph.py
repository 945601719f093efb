"""Pure-torch modules that turn a preprocessed batch into scores and maps, the way the PyTorch path does.

``create_graph(detector)`` builds an ``nn.Module`` for a fitted detector:

    images (B, 3, H, W) float32, normalized  ->  scores (B,), maps (B, H, W)

with everything inside: the backbone, the detector's feature aggregation, PatchCore's nearest-neighbour distance
to the memory bank (exact search, the bank split into chunks of ``BANK_CHUNK`` entries so memory stays bounded,
plus the paper's re-weighting of the image score) or PaDiM's Mahalanobis distance, the upsampling and Gaussian
blur of the maps, and, for a tiled run, the split of the canvas into tiles and the feathered stitch back. These
modules trace to ONNX with fixed input height and width and a free batch size.

A run with a supervised head (``detector.head_``) carries it as one more layer: a 1x1 convolution over
``[embedding, plain distance]`` gives the raw map, which is upsampled, blurred and stitched as a plain map, and the
picture score is the mean of that map's highest ``score_top_share`` (its maximum at 0; ``Detector.finish_maps``;
see docs/architecture.md, "Supervised head").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hamacho_core.detectors import Detector, PaDiM, PatchCore
from hamacho_core.detectors.base import gaussian_blur, top_mean
from hamacho_core.errors import ConfigError
from hamacho_core.tiling import TileGrid

__all__ = ["BANK_CHUNK", "DetectorGraph", "PaDiMGraph", "PatchCoreGraph", "create_graph"]

BANK_CHUNK = 8192  # memory-bank entries compared at once: (B * P, BANK_CHUNK) distances in memory


class DetectorGraph(nn.Module):
    """Shared part: tiles, upsampling + blur of the raw maps, and stitching. Subclasses define ``score_tiles``."""

    def __init__(self, detector: Detector):
        super().__init__()
        detector._check_fitted()
        shape = detector.input_shape_
        self.input_shape = shape.as_tuple()
        self.model_input = shape.model_input
        self.grid: TileGrid | None = shape.tiles
        self.blur_sigma = float(detector.config.blur_sigma)
        self.top_share = float(detector.config.score_top_share)
        self.backbone = detector.extractor.stages().cpu().eval()
        head = getattr(detector, "head_", None)
        self.head = head.as_conv().cpu() if head is not None else None  # Conv2d(D + 1 -> 1, 1x1) or None
        if self.grid is not None:
            weights = torch.from_numpy(self.grid.weights())
            norm = torch.zeros(self.grid.canvas)
            for y, x in self.grid.origins():
                norm[y:y + self.grid.tile[0], x:x + self.grid.tile[1]] += weights
            self.register_buffer("tile_weights", weights)
            self.register_buffer("tile_norm", norm)

    def score_tiles(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Args: model inputs (N, 3, th, tw).

        Returns:
            plain scores (N,), raw distance maps (N, 1, h, w) and the embedding the head reads (N, D, h, w).
        """
        raise NotImplementedError

    def smooth(self, maps: torch.Tensor) -> torch.Tensor:
        """Raw maps (N, 1, h, w) -> (N, 1, th, tw): bilinear upsampling and Gaussian blur, as Detector._smooth."""
        maps = F.interpolate(maps, size=self.model_input, mode="bilinear", align_corners=False)
        return gaussian_blur(maps, self.blur_sigma)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: images (B, 3, H, W) normalized, at the input shape (the canvas when tiled).

        Returns:
            scores (B,) raw image anomaly scores, maps (B, H, W) raw anomaly maps.
        """
        inputs = images if self.grid is None else self._split(images)
        scores, maps, embedding = self.score_tiles(inputs)
        if self.head is not None:  # the supervised head's raw map replaces the distance map
            maps = self.head(torch.cat([embedding, maps], dim=1))
        smoothed = self.smooth(maps)[:, 0]
        if self.grid is not None:
            smoothed = self._stitch(smoothed.reshape(-1, self.grid.count, *self.grid.tile))
            scores = scores.reshape(-1, self.grid.count).amax(dim=1)
        if self.head is not None:
            scores = top_mean(smoothed.flatten(1), self.top_share)
        return scores, smoothed

    def _split(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B * count, 3, th, tw), image by image, row by row (as tiling.split_tiles)."""
        th, tw = self.grid.tile
        tiles = [images[:, :, y:y + th, x:x + tw] for y, x in self.grid.origins()]
        return torch.stack(tiles, dim=1).flatten(0, 1)

    def _stitch(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, count, th, tw) -> (B, H, W): feathered average, written with pads (no in-place writes to trace)."""
        th, tw = self.grid.tile
        height, width = self.grid.canvas
        total = None
        for index, (y, x) in enumerate(self.grid.origins()):
            placed = F.pad(maps[:, index] * self.tile_weights, (x, width - x - tw, y, height - y - th))
            total = placed if total is None else total + placed
        return total / self.tile_norm


class PatchCoreGraph(DetectorGraph):
    """PatchCore: embedding, exact nearest bank entry per patch, re-weighted image score (PatchCore eq. 7)."""

    def __init__(self, detector: PatchCore):
        super().__init__(detector)
        bank = detector.memory_bank_.detach().float().cpu()
        self.register_buffer("bank_t", bank.T.contiguous())  # (D, M): the bank is stored once, in the GEMM layout
        self.register_buffer("bank_norms", (bank * bank).sum(dim=1))  # (M,)
        self.n_neighbors = int(detector.config.n_neighbors)

    def nearest(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact nearest bank entry. Args: queries (Q, D). Returns: distances (Q,), bank indices (Q,)."""
        values, indices = [], []
        size = self.bank_t.shape[1]
        for start in range(0, size, BANK_CHUNK):
            end = min(start + BANK_CHUNK, size)
            partial = torch.mm(queries, self.bank_t[:, start:end]) * -2.0 + self.bank_norms[start:end]
            value, index = partial.min(dim=1)
            values.append(value)
            indices.append(index + start)
        if len(values) == 1:
            best, where = values[0], indices[0]
        else:
            stacked = torch.stack(values, dim=1)  # (Q, chunks)
            best, chunk = stacked.min(dim=1)
            where = torch.gather(torch.stack(indices, dim=1), 1, chunk.unsqueeze(1))[:, 0]
        distances = (queries - self.rows(where)).norm(dim=1)  # from the difference, as neighbours._exact
        return distances, where

    def rows(self, indices: torch.Tensor) -> torch.Tensor:
        """Bank entries. Args: indices (K,). Returns: (K, D)."""
        return torch.index_select(self.bank_t, 1, indices).T

    def score_tiles(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        embedding = PatchCore.embed(self.backbone(inputs))  # (N, D, h, w)
        batch, depth, height, width = embedding.shape
        flat = embedding.permute(0, 2, 3, 1).reshape(-1, depth)  # (N * P, D)
        distances, locations = self.nearest(flat)
        patch_scores = distances.reshape(batch, height * width)
        features = flat.reshape(batch, height * width, depth)
        scores = self.reweighted(patch_scores, locations.reshape(batch, height * width), features)
        return scores, patch_scores.reshape(batch, 1, height, width), embedding

    def reweighted(self, patch_scores: torch.Tensor, locations: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """As PatchCore._reweighted_scores. Args: (N, P), (N, P), (N, P, D). Returns: (N,)."""
        if self.top_share > 0:
            return top_mean(patch_scores, self.top_share)
        score, worst = patch_scores.max(dim=1)  # s*
        if self.n_neighbors <= 1:
            return score
        pick = worst.unsqueeze(1)
        test_feature = torch.gather(features, 1, pick.unsqueeze(2).expand(-1, -1, features.shape[2]))[:, 0]
        nearest = self.rows(torch.gather(locations, 1, pick)[:, 0])  # m* (N, D)
        k = min(self.n_neighbors, self.bank_t.shape[1])
        partial = torch.mm(nearest, self.bank_t) * -2.0 + self.bank_norms  # (N, M)
        support = partial.topk(k, dim=1, largest=False).indices  # N_b(m*) (N, k)
        members = self.rows(support.reshape(-1)).reshape(support.shape[0], k, -1)  # (N, k, D)
        support_distances = (test_feature.unsqueeze(1) - members).norm(dim=2)
        weights = 1.0 - torch.softmax(support_distances, dim=1)[:, 0]
        return weights * score


class PaDiMGraph(DetectorGraph):
    """PaDiM: chosen channels of all stages at the finest grid, Mahalanobis distance per position."""

    def __init__(self, detector: PaDiM):
        super().__init__(detector)
        self.register_buffer("channels", detector.channels_.long().cpu())
        self.register_buffer("mean", detector.mean_.float().cpu())  # (P, d)
        self.register_buffer("inverse_covariance", detector.inverse_covariance_.float().cpu())  # (P, d, d)

    def score_tiles(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.backbone(inputs)
        size = features[0].shape[-2:]
        stacked = torch.cat([features[0]] + [F.interpolate(f, size=size, mode="nearest") for f in features[1:]], 1)
        embedding = torch.index_select(stacked, 1, self.channels)  # (N, d, h, w)
        batch, _, height, width = embedding.shape
        delta = embedding.flatten(2).permute(2, 0, 1) - self.mean.unsqueeze(1)  # (P, N, d)
        squared = (torch.bmm(delta, self.inverse_covariance) * delta).sum(dim=2).clamp(min=0)  # (P, N)
        maps = squared.sqrt().T.reshape(batch, 1, height, width)
        return self.smooth(maps).flatten(1).amax(dim=1), maps, embedding


def create_graph(detector: Detector) -> DetectorGraph:
    """The export graph of a fitted detector (on the CPU, in eval mode), its supervised head included.

    Raises:
        ConfigError: a detector this exporter does not know.
    """
    if isinstance(detector, PatchCore):
        graph: DetectorGraph = PatchCoreGraph(detector)
    elif isinstance(detector, PaDiM):
        graph = PaDiMGraph(detector)
    else:
        raise ConfigError(f"cannot export a {type(detector).__name__} model: only patchcore and padim")
    return graph.eval()
