"""Exact k-nearest-neighbour search by chunked matrix products (no index library needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hamacho_core.errors import NotFittedError

__all__ = ["NearestNeighbours"]


@dataclass
class NearestNeighbours:
    """k-NN over a fixed bank, computed in chunks of ``chunk_size`` queries to bound memory."""

    chunk_size: int = 2048
    bank_: torch.Tensor | None = field(default=None, repr=False)
    bank_norms_: torch.Tensor | None = field(default=None, repr=False)
    bank_t_: torch.Tensor | None = field(default=None, repr=False)  # (D, M) contiguous: the fast GEMM layout

    def fit(self, bank: torch.Tensor) -> NearestNeighbours:
        """Args: bank (M, D). Returns: self."""
        self.bank_ = bank
        self.bank_norms_ = (bank * bank).sum(dim=1)
        self.bank_t_ = bank.T.contiguous()
        return self

    def kneighbors(self, queries: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: queries (Q, D). Returns: distances (Q, k) (Euclidean, ascending) and bank indices (Q, k)."""
        if self.bank_ is None:
            raise NotFittedError("NearestNeighbours.fit must be called before kneighbors")
        k = min(k, self.bank_.shape[0])
        distances, indices = [], []
        for chunk in torch.split(queries.to(self.bank_.dtype), self.chunk_size):
            # ||q - b||^2 = ||b||^2 - 2 q.b + ||q||^2; the per-query term is added after the reduction
            partial = torch.mm(chunk, self.bank_t_).mul_(-2.0).add_(self.bank_norms_)
            if k == 1:
                values, where = partial.min(dim=1, keepdim=True)
            else:
                values, where = partial.topk(k, dim=1, largest=False)
            values = values.add_((chunk * chunk).sum(dim=1, keepdim=True)).clamp_(min=0.0)
            distances.append(values.sqrt_())
            indices.append(where)
        return torch.cat(distances), torch.cat(indices)
