"""Exact k-nearest-neighbour search by chunked matrix products (no index library needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hamacho_core.errors import NotFittedError

__all__ = ["NearestNeighbours", "squared_distances"]


def squared_distances(queries: torch.Tensor, bank: torch.Tensor, bank_norms: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances.

    Args:
        queries: (Q, D). bank: (M, D). bank_norms: optional precomputed (M,) squared norms of ``bank``.

    Returns:
        (Q, M), clamped at 0.
    """
    if bank_norms is None:
        bank_norms = (bank * bank).sum(dim=1)
    query_norms = (queries * queries).sum(dim=1, keepdim=True)
    distances = torch.addmm(bank_norms.unsqueeze(0) + query_norms, queries, bank.T, alpha=-2.0)
    return distances.clamp_(min=0.0)


@dataclass
class NearestNeighbours:
    """k-NN over a fixed bank, computed in chunks of ``chunk_size`` queries to bound memory."""

    chunk_size: int = 2048
    bank_: torch.Tensor | None = field(default=None, repr=False)
    bank_norms_: torch.Tensor | None = field(default=None, repr=False)

    def fit(self, bank: torch.Tensor) -> NearestNeighbours:
        """Args: bank (M, D). Returns: self."""
        self.bank_ = bank
        self.bank_norms_ = (bank * bank).sum(dim=1)
        return self

    def kneighbors(self, queries: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: queries (Q, D). Returns: distances (Q, k) (Euclidean, ascending) and bank indices (Q, k)."""
        if self.bank_ is None:
            raise NotFittedError("NearestNeighbours.fit must be called before kneighbors")
        k = min(k, self.bank_.shape[0])
        distances, indices = [], []
        for chunk in torch.split(queries, self.chunk_size):
            squared = squared_distances(chunk.to(self.bank_.dtype), self.bank_, self.bank_norms_)
            if k == 1:
                values, where = squared.min(dim=1, keepdim=True)
            else:
                values, where = squared.topk(k, dim=1, largest=False)
            distances.append(values.sqrt_())
            indices.append(where)
        return torch.cat(distances), torch.cat(indices)
