"""Fixtures of the scale tests: a tiny run trained once per session and a folder of pictures to score."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.synthetic import make_demo_dataset


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.yaml of a PatchCore run trained on 8 good 64-px demo pictures."""
    data = tmp_path_factory.mktemp("scale_data")
    make_demo_dataset(data / "parts", n_good=8, n_bad_per_type=1, size=64, seed=3)
    results = tmp_path_factory.mktemp("scale_results")
    config = TrainConfig(model="patchcore", dataset_root=str(data), category="parts", result_path=str(results),
                         image_size=64, batch_size=8, accelerator="cpu", write_csv=False, split=0.25)
    return train(config).run_dir / "config.yaml"


@pytest.fixture(scope="session")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """18 demo pictures (good/ and bad/<type>/), no masks."""
    root = tmp_path_factory.mktemp("scale_pictures") / "lot"
    make_demo_dataset(root, n_good=10, n_bad_per_type=2, size=64, seed=11)
    shutil.rmtree(root / "mask")
    return root
