import torch

from hamacho_core.neighbours import NearestNeighbours
from hamacho_core.sampling import GreedyCoresetSampler, coreset_size


def test_coreset_size_ratio_and_budget() -> None:
    assert coreset_size(1000, 0.1, None) == 100
    assert coreset_size(1000, 0.1, 50) == 50
    assert coreset_size(5, 0.01, None) == 1


def test_coreset_unique_sorted_deterministic_and_keeps_outliers() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(5000, 152, generator=generator)
    features[1234] += 40.0  # an isolated patch must be covered by the coreset
    sampler = GreedyCoresetSampler(ratio=0.05, seed=3, group_size=2048)
    chosen = sampler.run(features)
    assert len(chosen) == 250 and len(set(chosen.tolist())) == 250
    assert torch.equal(chosen, torch.sort(chosen).values)
    assert 1234 in chosen.tolist()
    assert torch.equal(chosen, GreedyCoresetSampler(ratio=0.05, seed=3, group_size=2048).run(features))


def test_coreset_covers_better_than_random() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.cat([torch.randn(3000, 16, generator=generator), torch.randn(30, 16, generator=generator) + 8])
    chosen = GreedyCoresetSampler(ratio=0.02).run(features)
    random = torch.randperm(len(features), generator=generator)[: len(chosen)]
    def cover(index: torch.Tensor) -> float:
        return torch.cdist(features, features[index]).min(dim=1).values.max().item()
    assert cover(chosen) < cover(random)


def test_nearest_neighbours_match_brute_force_in_chunks() -> None:
    generator = torch.Generator().manual_seed(2)
    bank, queries = torch.randn(300, 20, generator=generator), torch.randn(77, 20, generator=generator)
    distances, indices = NearestNeighbours(chunk_size=16).fit(bank).kneighbors(queries, k=3)
    expected = torch.cdist(queries, bank).topk(3, largest=False)
    assert torch.equal(indices, expected.indices)
    assert torch.allclose(distances, expected.values, atol=1e-4)
