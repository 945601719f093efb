"""Small fitted runs for the export tests: PatchCore and PaDiM, square, keep-aspect and tiled (a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hamacho_core.detectors import create_detector
from hamacho_core.export import export_run
from hamacho_core.imageio import write_image
from hamacho_core.persistence import save_run
from hamacho_core.synthetic.parts import render_sample
from hamacho_core.synthetic.strips import render_strip
from hamacho_core.thresholds import Normalization

GEOMETRIES = ("square", "keep-aspect", "tiled")


def pictures(geometry: str, count: int, defect: bool = False) -> list[np.ndarray]:
    """RGB pictures: 128 px washers (square), 128 x 224 crops of them (keep-aspect), 128 x 640 strips (tiled)."""
    if geometry == "tiled":
        return [render_strip("pit" if defect else None, i, seed=3, size=(128, 640)).image for i in range(count)]
    images = [render_sample("spot" if defect else None, i, seed=2, size=224 if geometry != "square" else 128).image
              for i in range(count)]
    return images if geometry == "square" else [im[48:176] for im in images]


# Image score: "square" the maximum (PatchCore: its re-weighting), the others the mean of the map's highest 1 %: the
# exported graph is checked on both.
SETTINGS = {"square": {"image_size": 64, "resize": "square", "tiling": "off", "score_top_share": 0.0},
            "keep-aspect": {"image_size": 128, "resize": "keep-aspect", "tiling": "off", "score_top_share": 0.01},
            "tiled": {"image_size": 64, "resize": "keep-aspect", "tiling": "on", "max_tiles": 6,
                      "score_top_share": 0.01}}


def make_run(root: Path, model: str, geometry: str) -> Path:
    """Fit ``model`` on 6 good pictures and save it as a run (thresholds from its scores: no report tree)."""
    detector = create_detector(model, {**SETTINGS[geometry], "device": "cpu", "coreset_ratio": 0.25,
                                       "n_features": 40, "seed": 0})
    good = pictures(geometry, 6)
    detector.fit(good)
    prediction = detector.predict(good[:3] + pictures(geometry, 1, defect=True))
    low, high = float(prediction.scores.min()), float(prediction.scores.max())
    normalization = Normalization("adaptive", (low + high) / 2, low, high, float(np.median(prediction.maps)),
                                  float(prediction.maps.min()), float(prediction.maps.max()))
    run_dir = root / f"{model}-{geometry}"
    save_run(run_dir, detector, normalization, {"category": f"demo-{geometry}"}, {})
    return run_dir


@pytest.fixture(scope="session")
def export_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """(model, geometry) -> run folder, made on first use."""
    return _LazyRuns(tmp_path_factory.mktemp("export-runs"))


class _LazyRuns(dict):
    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, key: tuple[str, str]) -> Path:
        self[key] = make_run(self.root, *key)
        return self[key]


@pytest.fixture(scope="session")
def exports(export_runs: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Path]:
    """(model, geometry, engine) -> export folder of that run, made on first use."""
    return _LazyExports(export_runs, tmp_path_factory.mktemp("exports"))


class _LazyExports(dict):
    def __init__(self, runs: dict, root: Path):
        super().__init__()
        self.runs, self.root = runs, root

    def __missing__(self, key: tuple[str, str, str]) -> Path:
        model, geometry, engine = key
        self[key] = export_run(self.runs[model, geometry], self.root / "-".join(key), engine).output_dir
        return self[key]


@pytest.fixture(scope="session")
def test_pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """geometry -> 2 good and 1 defective picture written as grey PNGs (as the shared datasets are)."""
    root = tmp_path_factory.mktemp("export-pictures")
    found = {}
    for geometry in GEOMETRIES:
        images = pictures(geometry, 8)[6:] + pictures(geometry, 2, defect=True)[1:]
        paths = []
        for index, image in enumerate(images):
            path = root / geometry / f"picture_{index}.png"
            write_image(path, cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
            paths.append(path)
        found[geometry] = paths
    return found
