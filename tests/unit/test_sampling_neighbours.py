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


def test_inverted_file_finds_the_nearest_entry_almost_always() -> None:
    from hamacho_core.neighbours import InvertedFileNeighbours, create_search

    generator = torch.Generator().manual_seed(4)
    centers = torch.randn(50, 24, generator=generator) * 3
    bank = centers[torch.randint(0, 50, (6000,), generator=generator)] + torch.randn(6000, 24, generator=generator)
    queries = centers[torch.randint(0, 50, (500,), generator=generator)] + torch.randn(500, 24, generator=generator)
    exact_d, exact_i = NearestNeighbours().fit(bank).kneighbors(queries)
    ivf = InvertedFileNeighbours(n_probe=8).fit(bank)
    ivf_d, ivf_i = ivf.kneighbors(queries)
    assert (ivf_i == exact_i).float().mean() >= 0.95
    assert torch.all(ivf_d >= exact_d - 1e-4)  # never closer than the true nearest
    again = InvertedFileNeighbours(n_probe=8).fit(bank).kneighbors(queries)
    assert torch.equal(again[1], ivf_i)  # deterministic: a reloaded run scores the same
    assert torch.equal(ivf.kneighbors(queries[:5], k=3)[1], NearestNeighbours().fit(bank).kneighbors(queries[:5], 3)[1])
    assert isinstance(create_search(100), NearestNeighbours)
    assert isinstance(create_search(30_000), InvertedFileNeighbours)
