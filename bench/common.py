"""Shared pieces of the side-by-side benchmark (hamacho_core vs anomalib).

Both tools get exactly the same image lists from :func:`load_split`, and their raw outputs are scored by the same
functions here (:func:`image_auroc`, :func:`pixel_auroc`), in the parent process, so the metrics cannot differ by
method. Each tool runs in its own subprocess (``*_side.py``) that writes a small JSON of timings/memory and an
``.npz`` of raw scores and 256x256 anomaly maps.

Imports here are limited to numpy / opencv / scikit-learn / the standard library so that this module does not
change the memory footprint of either side.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA_ROOT = REPO_ROOT.parent / "shared" / "datasets"  # ../shared/datasets from the repo root

DATASETS = ("battery_weld", "magnetic_tile")
EVAL_SIZE = 256  # pixel metrics are computed on 256x256 maps and masks (both tools resize to a 256x256 square)
SPLIT = 0.2
SEED = 420
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

# Shared settings of the comparison (one place, used by both sides and by floor.py).
BACKBONE = "tf_efficientnet_lite0"
IMAGE_SIZE = 256
CORESET_RATIO = 0.1
NUM_NEIGHBORS = 9
BATCH_SIZE = 32  # anomalib's default train/eval batch size


@dataclass(frozen=True)
class TestSample:
    path: str
    label: int  # 0 good, 1 defective
    mask: str | None  # ground-truth mask (non-zero = defect); None for good images
    defect_type: str


@dataclass
class Split:
    name: str
    train: list[str]
    test: list[TestSample]

    def to_json(self) -> dict:
        return {"name": self.name, "train": self.train, "test": [asdict(s) for s in self.test]}

    @classmethod
    def from_json(cls, data: dict) -> Split:
        return cls(data["name"], list(data["train"]), [TestSample(**s) for s in data["test"]])


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _mask_for(mask_dir: Path, relative: Path) -> Path | None:
    for stem in (relative.stem, f"{relative.stem}_mask"):
        for suffix in (".png", ".jpg", ".bmp", ".tif", relative.suffix):
            candidate = mask_dir / relative.parent / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def split_good(good: list[Path], split: float = SPLIT, seed: int = SEED) -> tuple[list[Path], list[Path]]:
    """hamacho's split: sorted good paths, ``default_rng(seed).permutation``, first ``round(split * n)`` to test."""
    from hamacho_core.data import split_good as product_split  # the very function the product uses

    return product_split(sorted(good), split, seed)


def load_split(name: str, data_root: str | Path = DEFAULT_DATA_ROOT) -> Split:
    """The train paths and labelled test samples of one benchmark dataset.

    * MVTec layout (``train/good``, ``test/good``, ``test/<type>``, ``ground_truth/<type>``): its own folders.
    * folder layout (``good/``, ``bad/<type>/``, ``mask/<type>/``): good split 80/20 with seed 420, all bad to test.
    """
    root = Path(data_root) / name
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    test: list[TestSample] = []
    if (root / "train" / "good").is_dir():  # MVTec
        train = _images(root / "train" / "good")
        for type_dir in sorted(d for d in (root / "test").iterdir() if d.is_dir()):
            for path in _images(type_dir):
                if type_dir.name == "good":
                    test.append(TestSample(str(path), 0, None, "good"))
                else:
                    mask = _mask_for(root / "ground_truth" / type_dir.name, path.relative_to(type_dir))
                    test.append(TestSample(str(path), 1, str(mask) if mask else None, type_dir.name))
    else:  # hamacho folder layout
        train, test_good = split_good(_images(root / "good"))
        test = [TestSample(str(p), 0, None, "good") for p in test_good]
        bad_dir, mask_dir = root / "bad", root / "mask"
        for path in _images(bad_dir) if bad_dir.is_dir() else []:
            relative = path.relative_to(bad_dir)
            mask = _mask_for(mask_dir, relative) if mask_dir.is_dir() else None
            kind = relative.parent.as_posix() if relative.parent.as_posix() not in ("", ".") else "bad"
            test.append(TestSample(str(path), 1, str(mask) if mask else None, kind))
    return Split(name, [str(p) for p in train], test)


# ----------------------------------------------------------------------------------------------- metrics

def resize_maps(maps: np.ndarray, size: int = EVAL_SIZE) -> np.ndarray:
    """(N, h, w) float maps -> (N, size, size) float32 (bilinear), unchanged when already that size."""
    import cv2

    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 4:  # (N, 1, h, w)
        maps = maps[:, 0]
    if maps.shape[1:] == (size, size):
        return maps
    return np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_LINEAR) for m in maps])


def load_mask(path: str | None, size: int = EVAL_SIZE) -> np.ndarray:
    """Ground truth at ``size`` x ``size`` (nearest), bool; all False when there is no mask (good image)."""
    import cv2

    if path is None:
        return np.zeros((size, size), bool)
    data = np.fromfile(path, dtype=np.uint8)  # unicode-safe
    mask = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError(f"cannot read mask {path}")
    return cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST) > 0


def image_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def pixel_auroc(maps: np.ndarray, samples: list[TestSample], size: int = EVAL_SIZE) -> float:
    """Pixel AUROC over all test images (good images count as all-normal), on ``size`` x ``size`` maps.

    Defect images without a mask file are left out (their pixels are unknown).
    """
    from sklearn.metrics import roc_auc_score

    maps = resize_maps(maps, size)
    keep = [i for i, s in enumerate(samples) if s.label == 0 or s.mask is not None]
    if not keep:
        return float("nan")
    truth = np.stack([load_mask(samples[i].mask, size) for i in keep]).ravel()
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, maps[keep].ravel()))


def score_outputs(split: Split, npz_path: str | Path) -> dict:
    """Image and pixel AUROC of one tool's saved outputs."""
    with np.load(npz_path) as data:
        scores = data["scores"]
        maps = data["maps"] if "maps" in data.files else None
    if len(scores) != len(split.test):
        raise ValueError(f"{npz_path}: {len(scores)} scores for {len(split.test)} test images")
    labels = np.array([s.label for s in split.test])
    return {"image_auroc": image_auroc(labels, scores),
            "pixel_auroc": pixel_auroc(maps, split.test) if maps is not None else float("nan")}


# ----------------------------------------------------------------------------------------------- child side

def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        return float("nan")


class Timer:
    """Wall seconds and CPU seconds (all threads of this process) of a block.

    CPU seconds are less disturbed than wall seconds when something else runs on the machine at the same time.
    """

    def __enter__(self) -> Timer:
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start


def write_outputs(out_prefix: str | Path, info: dict, scores: np.ndarray, maps: np.ndarray | None) -> None:
    """Child -> parent: ``<prefix>.json`` (timings, memory, settings) and ``<prefix>.npz`` (raw outputs).

    Maps are stored at 256x256 as float16 (half the size, ample for ranking pixels).
    """
    out_prefix = str(out_prefix)
    payload = {"scores": np.asarray(scores, dtype=np.float64)}
    if maps is not None:
        payload["maps"] = resize_maps(maps).astype(np.float16)
    np.savez(out_prefix + ".npz", **payload)
    Path(out_prefix + ".json").write_text(json.dumps(info, indent=2, default=str))


def runtime_info() -> dict:
    import platform

    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "loadavg_1m_at_end": os.getloadavg()[0]}
    try:
        import torch

        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    except ImportError:  # pragma: no cover
        pass
    return info


def measured(init: Timer, fit: Timer, predict: Timer, n_test: int, rss_after_import: float,
             peak_after_fit: float) -> dict:
    """The timing and memory fields both tools report, measured the same way."""
    return {
        "init_s": init.seconds,
        "fit_only_s": fit.seconds,
        "fit_s": init.seconds + fit.seconds,
        "fit_cpu_s": init.cpu_seconds + fit.cpu_seconds,
        "predict_s": predict.seconds,
        "predict_img_s": n_test / predict.seconds,
        "predict_cpu_s": predict.cpu_seconds,
        "rss_after_import_mb": rss_after_import,
        "peak_rss_fit_mb": peak_after_fit,
        "peak_rss_mb": peak_rss_mb(),
        "total_cpu_s": time.process_time(),
        "runtime": runtime_info(),
    }


def finish(out: str, info: dict, scores, maps) -> None:
    """Write PREFIX.json/.npz for the parent and print the headline on one line."""
    write_outputs(out, info, scores, maps)
    print(json.dumps({k: info[k] for k in ("tool", "dataset", "fit_s", "predict_img_s", "peak_rss_mb", "memory_bank")}))
