"""Shared fixtures: small generated datasets (never the real data, except in tests/integration), and the one tiny
trained workspace that the app, API and browser tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from hamacho_core.synthetic import make_demo_dataset

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
TRAINED_PROJECT, TRAINED_RUN = "検査A", "20250101-120000"  # a Japanese project name: ids travel URL-encoded


@pytest.fixture(scope="session", autouse=True)
def trace_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The backbone traces of this session (``HAMACHO_CACHE_DIR``), shared with the processes tests start: the
    user's own cache folder is neither read nor written."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    os.environ["HAMACHO_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny folder-layout dataset (good/, bad/<type>/, mask/<type>/), 128 px."""
    root = tmp_path_factory.mktemp("data") / "demo"
    make_demo_dataset(root, n_good=16, n_bad_per_type=2, size=128, seed=1)
    return root


@pytest.fixture(scope="session")
def trained_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding project 検査A (12 good, 2 defect pictures per type, 128 px) with one trained run
    ``runs/20250101-120000`` (square 128 px input, no pixel CSV; a few seconds on 2 cores), trained once per session.

    Read-only: a test that changes it works on a copy (``shutil.copytree``).
    """
    from hamacho_core.pipeline import TrainConfig, train

    home = tmp_path_factory.mktemp("trained") / "workspace"
    project = home / TRAINED_PROJECT
    make_demo_dataset(project / "data", n_good=12, n_bad_per_type=2, size=128)
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / TRAINED_RUN),
                      image_size=128, resize="square", write_csv=False, accelerator="cpu"))
    return home
