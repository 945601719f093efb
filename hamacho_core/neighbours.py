"""Nearest-neighbour search over the memory bank, by chunked matrix products (no index library needed).

* :class:`NearestNeighbours`: exact k-NN; on a CPU the 1-NN of many queries runs on onnxruntime
  (:func:`hamacho_core.cpu_kernels.nearest_session`: MLAS's GEMM is 2-3x faster than MKL's on AMD processors).
* :class:`InvertedFileNeighbours`: for large banks, an inverted file (IVF): the bank is clustered by k-means and
  each query is compared only with the members of its ``n_probe`` nearest clusters. Cost per query drops from
  M to about ``n_clusters + n_probe * M / n_clusters`` distance evaluations; the nearest entry is missed only when
  it lies outside every probed cluster, and then a near-nearest one is returned instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hamacho_core.cpu_kernels import nearest_session
from hamacho_core.errors import NotFittedError

__all__ = ["InvertedFileNeighbours", "NearestNeighbours", "create_search"]

RUNTIME_MIN_QUERIES = 256  # fewer queries (the re-weighting's few) stay on PyTorch
RUNTIME_CHUNK = 1024  # queries per onnxruntime call: the (1024, M) distances stay in cache


def _partial_distances(queries: torch.Tensor, bank_t: torch.Tensor, bank_norms: torch.Tensor) -> torch.Tensor:
    """||b||^2 - 2 q.b for queries (Q, D) and a transposed bank (D, M): (Q, M). Add ||q||^2 for the distance.

    One ``addmm``: the -2 and the norms are applied by the GEMM itself, not by two more passes over the (Q, M)
    result (bit-identical: scaling by -2 is exact).
    """
    return torch.addmm(bank_norms, queries, bank_t, alpha=-2.0)


def _finish(partial: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Euclidean distances from partial ones (in place)."""
    return partial.add_((queries * queries).sum(dim=1, keepdim=True)).clamp_(min=0.0).sqrt_()


def _exact(queries: torch.Tensor, bank: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (Q, 1) from queries (Q, D) to their chosen bank rows ``indices`` (Q, 1), as ||q - b||.

    The search ranks by ||b||^2 - 2 q.b, whose float32 rounding at small distances depends on how a library sums
    the product (onnxruntime, MKL, the exported graph: up to 0.009 apart on battery_weld's maps of 3-41); the
    distance itself is taken from the difference, so every search path gives the same value for the same entry.
    """
    chosen = bank[indices[:, 0]]
    return torch.linalg.vector_norm(queries.to(chosen.dtype) - chosen, dim=1, keepdim=True)


@dataclass
class NearestNeighbours:
    """Exact k-NN over a fixed bank, computed in chunks of ``chunk_size`` queries to bound memory."""

    chunk_size: int = 2048
    bank_: torch.Tensor | None = field(default=None, repr=False)
    bank_norms_: torch.Tensor | None = field(default=None, repr=False)
    bank_t_: torch.Tensor | None = field(default=None, repr=False)  # (D, M) contiguous: the fast GEMM layout
    session_: Any = field(default=None, repr=False)  # onnxruntime 1-NN over the bank (CPU; see cpu_kernels)
    _session_tried: bool = field(default=False, repr=False)

    def fit(self, bank: torch.Tensor) -> NearestNeighbours:
        """Args: bank (M, D). Returns: self."""
        self.bank_ = bank
        self.bank_norms_ = (bank * bank).sum(dim=1)
        self.bank_t_ = bank.T.contiguous()
        self.session_, self._session_tried = None, False
        return self

    def kneighbors(self, queries: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: queries (Q, D). Returns: distances (Q, k) (Euclidean, ascending) and bank indices (Q, k)."""
        if self.bank_ is None:
            raise NotFittedError("NearestNeighbours.fit must be called before kneighbors")
        k = min(k, self.bank_.shape[0])
        if k == 1 and len(queries) >= RUNTIME_MIN_QUERIES and self._runtime(queries):
            return self._runtime_nearest(queries)
        distances, indices = [], []
        for chunk in torch.split(queries.to(self.bank_.dtype), self.chunk_size):
            partial = _partial_distances(chunk, self.bank_t_, self.bank_norms_)
            if k == 1:
                where = partial.argmin(dim=1, keepdim=True)
                distances.append(_exact(chunk, self.bank_, where))
            else:
                values, where = partial.topk(k, dim=1, largest=False)
                distances.append(_finish(values, chunk))
            indices.append(where)
        return torch.cat(distances), torch.cat(indices)

    def _runtime(self, queries: torch.Tensor) -> bool:
        """Whether onnxruntime searches these queries (CPU tensors; the session is built once per bank)."""
        if queries.device.type != "cpu" or self.bank_.device.type != "cpu":
            return False
        if not self._session_tried:
            self._session_tried = True
            self.session_ = nearest_session(self.bank_)
        return self.session_ is not None

    def _runtime_nearest(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The onnxruntime path, NumPy around it: PyTorch's small element-wise kernels cost 30x more CPU than
        NumPy's here (two threads handing over a 1,024 x 152 difference); the distances agree with ``_exact``'s to
        about 1e-7 relative (summation order)."""
        distances, indices = [], []
        bank = self.bank_.detach().float().numpy()
        for chunk in torch.split(queries.float(), RUNTIME_CHUNK):
            array = chunk.contiguous().numpy()
            _, where = self.session_.run(None, {"queries": array})
            difference = array - bank[where[:, 0]]
            distances.append(torch.from_numpy(np.sqrt(np.einsum("ij,ij->i", difference, difference))[:, None]))
            indices.append(torch.from_numpy(where))
        return torch.cat(distances), torch.cat(indices)


@dataclass
class InvertedFileNeighbours:
    """Approximate 1-NN by an inverted file; k > 1 falls back to exact search (it is only used on few queries).

    Attributes:
        n_clusters: k-means clusters (None = 2 * sqrt(M)).
        n_probe: clusters searched per query.
        n_iterations: k-means (Lloyd) iterations.
        seed: k-means initialisation.
    """

    n_clusters: int | None = None
    n_probe: int = 16
    n_iterations: int = 8
    seed: int = 0
    chunk_size: int = 4096
    exact_: NearestNeighbours = field(default_factory=NearestNeighbours, repr=False)
    centroids_: torch.Tensor | None = field(default=None, repr=False)
    offsets_: list[int] = field(default_factory=list, repr=False)
    order_: torch.Tensor | None = field(default=None, repr=False)  # bank rows sorted by cluster

    def fit(self, bank: torch.Tensor) -> InvertedFileNeighbours:
        """Cluster the bank (M, D). Returns: self."""
        self.exact_.fit(bank)
        n_clusters = self.n_clusters or max(1, int(2 * math.sqrt(bank.shape[0])))
        assignment = self._kmeans(bank, min(n_clusters, bank.shape[0]))
        self.order_ = torch.argsort(assignment, stable=True)
        counts = torch.bincount(assignment, minlength=self.centroids_.shape[0])
        self.offsets_ = [0, *torch.cumsum(counts, 0).tolist()]
        sorted_bank = bank[self.order_]
        spans = list(zip(self.offsets_[:-1], self.offsets_[1:], strict=True))
        self._lists_t = [sorted_bank[a:b].T.contiguous() for a, b in spans]  # per cluster: (D, size)
        self._lists_norms = [(sorted_bank[a:b] ** 2).sum(1) for a, b in spans]
        self._centroid_search = NearestNeighbours(chunk_size=self.chunk_size).fit(self.centroids_)
        return self

    def _kmeans(self, bank: torch.Tensor, n_clusters: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        start = torch.randperm(bank.shape[0], generator=generator)[:n_clusters].to(bank.device)
        centroids = bank[start].clone()
        search = NearestNeighbours(chunk_size=self.chunk_size)
        for _ in range(self.n_iterations):
            _, assignment = search.fit(centroids).kneighbors(bank, k=1)
            assignment = assignment[:, 0]
            sums = torch.zeros_like(centroids).index_add_(0, assignment, bank)
            counts = torch.bincount(assignment, minlength=n_clusters).unsqueeze(1)
            centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
        self.centroids_ = centroids
        return search.fit(centroids).kneighbors(bank, k=1)[1][:, 0]

    def kneighbors(self, queries: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: queries (Q, D). Returns: distances (Q, k) and bank indices (Q, k)."""
        if self.centroids_ is None:
            raise NotFittedError("InvertedFileNeighbours.fit must be called before kneighbors")
        if k > 1:
            return self.exact_.kneighbors(queries, k)
        results = [self._search(chunk) for chunk in torch.split(queries.float(), self.chunk_size)]
        return torch.cat([d for d, _ in results]), torch.cat([i for _, i in results])

    def _search(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_probe = min(self.n_probe, self.centroids_.shape[0])
        probes = self._centroid_search.kneighbors(queries, k=n_probe)[1]  # (Q, n_probe)
        # (query, probed cluster) pairs, grouped by cluster: one gather of the queries, then per cluster a
        # contiguous slice times that cluster's members, and one scatter back to the queries at the end.
        cluster_of_pair, order = torch.sort(probes.reshape(-1), stable=True)
        query_of_pair = order.div(n_probe, rounding_mode="floor")
        grouped = queries[query_of_pair]
        bounds = [0, *torch.bincount(cluster_of_pair, minlength=self.centroids_.shape[0]).cumsum(0).tolist()]
        pair_best = torch.full((len(order),), float("inf"), device=queries.device)
        pair_index = torch.zeros(len(order), dtype=torch.long, device=queries.device)
        for cluster, (start, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if end == start or self.offsets_[cluster + 1] == self.offsets_[cluster]:
                continue
            partial = _partial_distances(grouped[start:end], self._lists_t[cluster], self._lists_norms[cluster])
            values, where = partial.min(dim=1)
            pair_best[start:end] = values
            pair_index[start:end] = where + self.offsets_[cluster]
        best = torch.full((queries.shape[0],), float("inf"), device=queries.device)
        best.scatter_reduce_(0, query_of_pair, pair_best, reduce="amin")
        # the pair that reached each query's minimum (the first one, when two clusters tie)
        winner = torch.full((queries.shape[0],), len(order), dtype=torch.long, device=queries.device)
        is_best = pair_best == best[query_of_pair]
        winner.scatter_reduce_(0, query_of_pair[is_best], torch.nonzero(is_best)[:, 0], reduce="amin")
        found = self.order_[pair_index[winner]].unsqueeze(1)
        return _exact(queries, self.exact_.bank_, found), found


def create_search(
    bank_size: int, exact_limit: int = 20_000, seed: int = 0
) -> NearestNeighbours | InvertedFileNeighbours:
    """Exact search for banks up to ``exact_limit`` entries, an inverted file above."""
    return NearestNeighbours() if bank_size <= exact_limit else InvertedFileNeighbours(seed=seed)
