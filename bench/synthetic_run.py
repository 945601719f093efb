"""A project whose trained run has thousands of test pictures, for timing the Threshold page (not a test).

A real run is trained on a small demo dataset (seconds), then its test results (``evaluation.safetensors`` +
``evaluation.json``) are replaced by ``n_test`` synthetic ones: demo pictures written to a folder beside the
workspace, labels at a 30 % defect share, raw scores of two overlapping classes on the run's own scale, preview maps
that light up the defect masks. Everything the page reads goes through the same files and code as a real run.

    PYTHONPATH=$PWD .venv/bin/python bench/synthetic_run.py WORKSPACE [--test-pictures 2000] [--projects 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RUN = "20250101-120000"
DEFECT_SHARE = 0.3

__all__ = ["RUN", "make_large_project", "make_large_projects"]


def _large_evaluation(run_dir: Path, pictures: Path, n_test: int, seed: int):
    """The run's evaluation with ``n_test`` synthetic test pictures (same normalization as the run)."""
    import cv2

    from hamacho_core.evaluation import Evaluation, preview
    from hamacho_core.imageio import read_mask
    from hamacho_core.synthetic import make_demo_dataset

    real = Evaluation.load(run_dir)
    side = real.maps.shape[1:]
    n_defect = int(round(DEFECT_SHARE * n_test))
    n_types = 4
    make_demo_dataset(pictures, n_good=n_test - n_defect, n_bad_per_type=-(-n_defect // n_types), size=128,
                      seed=seed)
    good = sorted((pictures / "good").rglob("*.png"))
    bad = sorted(p for p in (pictures / "bad").rglob("*.png"))[:n_defect]
    paths = [*good, *bad]
    labels = np.array([0] * len(good) + [1] * len(bad))
    types = ["good"] * len(good) + [p.parent.name for p in bad]
    rng = np.random.default_rng(seed)
    norm = real.normalization
    low, high = float(norm.image_min), float(norm.image_max)
    unit = np.where(labels == 1, rng.normal(0.62, 0.14, labels.size), rng.normal(0.38, 0.10, labels.size))
    raw = low + (high - low) * np.clip(unit, 0.0, 1.2)
    masks = np.zeros((labels.size, *side), bool)
    for i, path in enumerate(bad, start=len(good)):
        mask_path = pictures / "mask" / path.parent.name / path.name
        if mask_path.is_file():
            mask = preview(read_mask(mask_path).astype(np.float32), max(side), nearest=True) > 0.5
            masks[i] = cv2.resize(mask.astype(np.uint8), (side[1], side[0]), interpolation=cv2.INTER_NEAREST) > 0
    noise = rng.random((labels.size, *side), dtype=np.float32)
    glow = np.stack([cv2.GaussianBlur(m.astype(np.float32), (0, 0), 3) for m in masks])
    pixel_low, pixel_high = float(norm.pixel_min), float(norm.pixel_max)
    maps = pixel_low + (pixel_high - pixel_low) * (0.35 * noise + 0.9 * glow * unit[:, None, None])
    return Evaluation([str(p) for p in paths], types, labels, raw.astype(np.float64), maps.astype(np.float16), masks,
                      norm)


def make_large_project(home: Path, name: str, n_test: int = 2000, seed: int = 0,
                       template: Path | None = None) -> Path:
    """Project ``name`` in workspace ``home`` with one trained run whose test results hold ``n_test`` pictures.

    ``template``: a project made by an earlier call, copied instead of training again (the pictures are shared).
    Returns the run folder.
    """
    project = home / name
    if template is not None:
        shutil.copytree(template, project)
        return project / "runs" / RUN
    from hamacho_core.pipeline import TrainConfig, train
    from hamacho_core.synthetic import make_demo_dataset

    make_demo_dataset(project / "data", n_good=12, n_bad_per_type=2, size=128, seed=seed)
    run_dir = project / "runs" / RUN
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(run_dir), image_size=128,
                      resize="square", write_csv=False, accelerator="cpu"))
    _large_evaluation(run_dir, home.parent / f"{name}-test-pictures", n_test, seed).save(run_dir)
    return run_dir


def make_large_projects(home: Path, names: list[str], n_test: int = 2000) -> list[Path]:
    """One trained project, copied under each name (the 2,000 pictures are written once)."""
    first = make_large_project(home, names[0], n_test)
    return [first, *(make_large_project(home, name, n_test, template=home / names[0]) for name in names[1:])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--test-pictures", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=1)
    args = parser.parse_args()
    args.workspace.mkdir(parents=True, exist_ok=True)
    for run in make_large_projects(args.workspace, [f"large-{i:02d}" for i in range(args.projects)],
                                   args.test_pictures):
        print(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
