"""Shared fixtures: small generated datasets (never the real data, except in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hamacho_core.demo import make_demo_dataset

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny folder-layout dataset (good/, bad/<type>/, mask/<type>/), 128 px."""
    root = tmp_path_factory.mktemp("data") / "demo"
    make_demo_dataset(root, n_good=16, n_bad_per_type=2, size=128, seed=1)
    return root
