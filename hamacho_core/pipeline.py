"""Train and inference pipelines: what the CLI and the app call.

``train`` loads and checks the data, fits the detector, scores the test images, fits thresholds, saves the run
(before anything else is written, so a crash while writing pictures loses no model), then writes the old tool's
output tree and the metrics. ``infer`` runs a saved run on new images.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from hamacho_core import plots
from hamacho_core.backbone import DEFAULT_BACKBONE
from hamacho_core.data import Dataset, Problem, Sample, list_images, load_dataset, probe_samples
from hamacho_core.detectors import DETECTORS, Detector, Prediction, create_detector
from hamacho_core.detectors.patchcore import DEFAULT_MAX_BANK_SIZE
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.evaluation import Evaluation, preview
from hamacho_core.imageio import read_image, read_mask
from hamacho_core.metrics import PixelHistograms, cross_validated_estimate, curves, image_metrics
from hamacho_core.persistence import dump_json, load_run, save_run
from hamacho_core.preprocess import InputShape, choose_input_shape
from hamacho_core.progress import ProgressCallback, report, track
from hamacho_core.report import REGION_COLUMNS, ImageReport, defect_regions, relative_names, write_image_report
from hamacho_core.supervision import DEFAULT_MIN_DEFECTS, plan_supervision, supervise
from hamacho_core.thresholds import (
    Normalization,
    adaptive_threshold,
    check_normalized_threshold,
    sigma6_threshold,
)
from hamacho_core.tiling import DEFAULT_MAX_TILES, DEFAULT_TILE_OVERLAP, check_tiling_options

__all__ = ["InferenceResult", "TrainConfig", "TrainResult", "infer", "max_num_workers", "train"]

TEST_DIR = "test_predictions"


def max_num_workers() -> int:
    """The old tool's cap on --num-workers: CPU count - 2 (at least 0)."""
    return max(0, (os.cpu_count() or 1) - 2)


def check_num_workers(num_workers: int) -> tuple[int, str | None]:
    """Validate --num-workers: Linux only; capped at CPU count - 2. Returns (value, warning)."""
    if num_workers < 0:
        raise ConfigError("--num-workers must be 0 or more")
    if num_workers and platform.system().lower() != "linux":
        raise ConfigError("No such option: --num-workers (data-loading workers are supported on Linux only)")
    cap = max_num_workers()
    if num_workers > cap:
        return cap, f"--num-workers {num_workers} is above CPU count - 2 = {cap}: using {cap}"
    return num_workers, None


@dataclass
class TrainConfig:
    """Training options; names and defaults follow the old ``hamacho train``."""

    category: str = ""  # dataset folder name below dataset_root
    dataset_root: str = "data"
    model: str = "patchcore"  # "patchcore" | "padim"
    data_format: str = "folder"  # "folder" | "mvtec" | "filelist"
    result_path: str = "./results"
    task_type: str = "segmentation"  # "segmentation" | "classification"
    with_mask_label: bool = False  # kept for old command lines: masks are used whenever present
    accelerator: str = "auto"  # "cpu" | "gpu" | "auto"
    image_size: int | None = None  # None = automatic
    resize: str | None = None  # "keep-aspect" | "square"; None = square if image_size is given, else keep-aspect
    tiling: str = "auto"  # "auto" | "on" | "off": tiles for images far larger than the model input
    max_tiles: int = DEFAULT_MAX_TILES  # most tiles per image (cost bound)
    tile_overlap: float = DEFAULT_TILE_OVERLAP  # least share of a tile overlapping its neighbour
    batch_size: int = 8
    split: float = 0.2  # share of good images held out for testing
    seed: int = 420
    num_workers: int = 0  # extra image-decoding workers (Linux only)
    no_bad_mode: bool = False  # train and evaluate with good images only (sigma6 threshold)
    good_file_list: str | None = None
    bad_file_list: str | None = None
    mask_file_list: str | None = None
    backbone: str = DEFAULT_BACKBONE
    backbone_weights: str | None = None
    coreset_ratio: float = 0.1
    max_bank_size: int | None = DEFAULT_MAX_BANK_SIZE
    n_neighbors: int = 9
    n_features: int = 100  # PaDiM channels
    write_csv: bool = True  # per-pixel CSV files (large)
    run_dir: str | None = None  # explicit output folder; default <result_path>/<category>/<model>
    supervised: str = "auto"  # "auto" | "on" | "off": supervised head on the defect pictures (cross-fitted figures)
    supervised_min_defects: int = DEFAULT_MIN_DEFECTS  # auto: on from this many defect test pictures

    def validate(self) -> None:
        if self.model.lower() not in DETECTORS:
            raise ConfigError(f"unknown --model {self.model!r}: use one of {', '.join(DETECTORS)}")
        if self.data_format != "filelist" and not self.category:
            raise ConfigError("--category is required: the dataset folder name below --dataset-root")
        if not 0.01 <= self.split <= 0.99:
            raise ConfigError(f"--split must be between 0.01 and 0.99, got {self.split}")
        if self.task_type not in ("segmentation", "classification"):
            raise ConfigError("--task-type must be segmentation or classification")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        if not 0.0 < self.coreset_ratio <= 1.0:
            raise ConfigError(f"--coreset-ratio must be in (0, 1], got {self.coreset_ratio}")
        if self.image_size is not None and (self.image_size < 64 or self.image_size > 2048):
            raise ConfigError(f"--image-size must be between 64 and 2048, got {self.image_size}")
        check_tiling_options(self.tiling, self.max_tiles, self.tile_overlap)
        if self.supervised not in ("auto", "on", "off"):
            raise ConfigError(f"--supervised must be auto, on or off, got {self.supervised!r}")
        if self.supervised_min_defects < 2:
            raise ConfigError(f"--supervised-min-defects must be at least 2, got {self.supervised_min_defects}")

    @property
    def resize_mode(self) -> str:
        return self.resize or ("square" if self.image_size else "keep-aspect")

    @property
    def dataset_dir(self) -> Path:
        return Path(self.dataset_root) / self.category

    def output_dir(self) -> Path:
        if self.run_dir:
            return Path(self.run_dir)
        return Path(self.result_path) / (self.category or "filelist") / self.model.lower()

    def detector_settings(self, input_shape: tuple[int, int] | None, n_threads: int) -> dict[str, Any]:
        return {"backbone": self.backbone, "backbone_weights": self.backbone_weights,
                "image_size": self.image_size, "resize": self.resize_mode, "input_shape": input_shape,
                "tiling": self.tiling, "max_tiles": self.max_tiles, "tile_overlap": self.tile_overlap,
                "batch_size": self.batch_size, "device": self.accelerator, "n_threads": n_threads,
                "seed": self.seed, "coreset_ratio": self.coreset_ratio, "max_bank_size": self.max_bank_size,
                "n_neighbors": self.n_neighbors, "n_features": self.n_features}


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    metrics: dict[str, Any]
    problems: list[Problem]
    input_shape: tuple[int, int]
    input_shape_reason: str
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class InferenceResult:
    """Inference outputs: one row per image (file, raw_score, norm_score, is_defect, verdict)."""

    rows: list[dict[str, Any]]
    save_dir: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    normalized_maps: list[np.ndarray] = field(default_factory=list)  # (H, W) at original geometry


# --------------------------------------------------------------------------------------------------- train
def train(config: TrainConfig, progress: ProgressCallback | None = None) -> TrainResult:
    """Train, evaluate, save and report one run (see module docstring).

    Raises:
        HamachoError: any invalid option or unusable data, with a message saying what to do.
    """
    config.validate()
    num_workers, warning = check_num_workers(config.num_workers)
    warnings = [warning] if warning else []
    times: dict[str, float] = {}
    start = time.perf_counter()
    dataset = _load(config, progress)
    if config.write_csv and (size := pixel_csv_bytes([s.size for s in dataset.test])) > CSV_WARNING_BYTES:
        warnings.append(f"the per-pixel CSV files of the test pictures take about {size / 1e9:.1f} GB "
                        "(8 bytes per pixel); --no-csv skips them")
    detector, shape = _build_detector(config, dataset, num_workers)
    detector.fit([s.path for s in dataset.train], progress)
    detector.input_shape_ = shape  # same size, with the reason it was chosen
    times["fit"] = time.perf_counter() - start
    plan = plan_supervision(config.supervised, detector, dataset.test, config.supervised_min_defects,
                            config.no_bad_mode)
    start = time.perf_counter()
    prediction = detector.predict([s.path for s in dataset.test], progress, keep_patch_inputs=plan.enabled)
    times["predict"] = time.perf_counter() - start
    boost = None
    if plan.enabled:  # from here on every figure is cross-fitted; the detector carries the head fitted on all
        start = time.perf_counter()
        boost = supervise(detector, dataset.test, prediction, config.seed, progress)
        prediction = boost.prediction
        times["supervised"] = time.perf_counter() - start
    use_masks = config.task_type == "segmentation" and dataset.has_masks
    masks = _masks_at(dataset.test, prediction, progress) if use_masks else None
    normalization, pixel_metrics = _fit_normalization(dataset.test, prediction, masks)
    metrics = _metrics(dataset.test, prediction, normalization, pixel_metrics, config.seed)
    metrics["supervised"] = {"enabled": plan.enabled, "reason": plan.reason, **(boost.summary() if boost else {})}
    run_dir = config.output_dir()
    save_run(run_dir, detector, normalization, _settings(config, dataset), _headline(metrics))
    start = time.perf_counter()
    names = _write_test_outputs(run_dir / TEST_DIR, dataset, prediction, normalization, metrics, config, progress)
    Evaluation([str(s.path) for s in dataset.test], [s.defect_type for s in dataset.test],
               np.array([s.label for s in dataset.test]), prediction.scores.astype(np.float64),
               np.stack([preview(m) for m in prediction.maps]) if len(prediction.maps) else prediction.maps,
               np.stack([preview(m, nearest=True) > 0.5 for m in masks]) if masks is not None else None,
               normalization, [n.as_posix() for n in names],
               [str(s.mask_path) if s.mask_path else None for s in dataset.test]).save(run_dir)
    times["outputs"] = time.perf_counter() - start
    return TrainResult(run_dir, metrics, dataset.problems, shape.as_tuple(), shape.reason, times, warnings)


def _load(config: TrainConfig, progress: ProgressCallback | None) -> Dataset:
    dataset = load_dataset(
        config.dataset_dir, config.data_format, split=config.split, seed=config.seed, with_masks=True,
        no_bad=config.no_bad_mode, good_files=config.good_file_list, bad_files=config.bad_file_list,
        mask_files=config.mask_file_list, progress=progress)
    if config.with_mask_label and dataset.has_defects and not any(s.mask_path for s in dataset.test):
        dataset.problems.append(Problem(str(config.dataset_dir), "--with-mask-label given but no mask was found"))
    return dataset


def _build_detector(config: TrainConfig, dataset: Dataset, num_workers: int) -> tuple[Detector, InputShape]:
    """The detector, with its input shape chosen from the training images' sizes (no second decode)."""
    detector = create_detector(config.model, config.detector_settings(None, num_workers + 2))
    stride = detector.extractor.max_stride
    shape = choose_input_shape([s.size for s in dataset.train], config.image_size, config.resize_mode, stride,
                               config.tiling, config.max_tiles, config.tile_overlap)
    detector.config.input_shape = shape.as_tuple()
    detector.config.tile_grid = shape.tiles.to_dict() if shape.tiles else None
    return detector, shape


def _masks_at(samples: Sequence[Sample], prediction: Prediction, progress: ProgressCallback | None) -> list[np.ndarray]:
    """Ground truth at the model input shape (all-False for good images)."""
    height, width = prediction.maps.shape[1:]
    masks = []
    for sample in track(samples, len(samples), "reading masks", progress):
        if sample.mask_path is None:
            masks.append(np.zeros((height, width), bool))
            continue
        mask = read_mask(sample.mask_path).astype(np.uint8)
        masks.append(cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST) > 0)
    return masks


def _fit_normalization(
    samples: Sequence[Sample], prediction: Prediction, masks: list[np.ndarray] | None
) -> tuple[Normalization, dict[str, Any] | None]:
    labels = np.array([s.label for s in samples])
    scores = prediction.scores.astype(np.float64)
    pixel_min, pixel_max = float(prediction.maps.min()), float(prediction.maps.max())
    if labels.min() != labels.max():
        method = "adaptive"
        threshold = adaptive_threshold(labels, scores)
        image_min, image_max = float(scores.min()), float(scores.max())
    else:
        method = "sigma6"
        threshold, image_max = sigma6_threshold(scores)
        image_min = float(scores.min())
    pixel_threshold, pixel_metrics = threshold, None
    if masks is not None:
        histograms = PixelHistograms(pixel_min, pixel_max)
        for sample, anomaly_map, mask in zip(samples, prediction.maps, masks, strict=True):
            if sample.label == 0 or sample.mask_path is not None:
                histograms.add(anomaly_map, mask)
        found = histograms.metrics()
        pixel_threshold, pixel_metrics = found.threshold, found.to_dict()
    if method == "sigma6":
        pixel_max = 2.0 * pixel_threshold
    normalization = Normalization(method, threshold, image_min, image_max, pixel_threshold, pixel_min, pixel_max)
    return normalization, pixel_metrics


def _metrics(samples: Sequence[Sample], prediction: Prediction, normalization: Normalization,
             pixel: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    labels = np.array([s.label for s in samples])
    normalized = normalization.image(prediction.scores)
    estimate = cross_validated_estimate(labels, prediction.scores, seed=seed)
    return {
        "image": image_metrics(labels, normalized, normalization.image_norm).to_dict(),
        "image_cross_validated": None if estimate is None else estimate.to_dict(),
        "pixel": pixel,
        "curves": curves(labels, normalized),
        "normalization": normalization.to_dict(),
        "n_test": {"good": int((labels == 0).sum()), "defect": int((labels == 1).sum())},
    }


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    image, pixel, honest = metrics["image"], metrics["pixel"] or {}, metrics["image_cross_validated"] or {}
    return {"image_auroc": image["auroc"], "image_f1": image["f1"], "pixel_auroc": pixel.get("auroc"),
            "pixel_aupro": pixel.get("aupro"), "honest_f1": honest.get("f1"),
            "supervised": bool((metrics.get("supervised") or {}).get("enabled"))}


def _settings(config: TrainConfig, dataset: Dataset) -> dict[str, Any]:
    settings = asdict(config)
    settings["resize"] = config.resize_mode
    settings["counts"] = dataset.counts()
    settings["n_problems"] = len(dataset.problems)
    return settings


CSV_WARNING_BYTES = 1_000_000_000


def pixel_csv_bytes(sizes: Sequence[tuple[int, int]]) -> int:
    """Disk taken by the per-pixel CSV files of pictures of these (height, width): 8 bytes a pixel ("0.12345,")."""
    return sum(8 * int(h) * int(w) for h, w in sizes)


def estimate_train_seconds(n_train: int, n_test: int, input_shape: InputShape | tuple[int, int],
                           bank_size: int) -> float:
    """Rough training time on a 2-core CPU (measured rates of this project's reference machine; a GPU is far faster).

    Backbone ~0.26 us per input pixel (every tile), coreset ~0.1 ms per bank entry, k-NN at ~140 GFLOP/s (banks
    searched by inverted file count as ~20k entries), writing outputs ~25 ms per test image.
    """
    shape = input_shape if isinstance(input_shape, InputShape) else InputShape(*input_shape)
    patches = shape.patches(8)
    pixels = patches * 64
    searched = min(bank_size, 20_000)
    backbone = (n_train + n_test) * pixels * 0.26e-6
    knn = n_test * patches * searched * 152 * 2 / 140e9
    return backbone + bank_size * 1e-4 + knn + n_test * 0.025


# ----------------------------------------------------------------------------------------------- outputs
def _report_for(path: Path, anomaly_map: np.ndarray, raw_score: float, normalization: Normalization,
                label: int | None, mask_path: Path | None) -> ImageReport:
    image = read_image(path)
    height, width = image.shape[:2]
    full_map = cv2.resize(anomaly_map, (width, height), interpolation=cv2.INTER_LINEAR)
    ground_truth = read_mask(mask_path) if mask_path is not None else (
        np.zeros((height, width), bool) if label == 0 else None)
    score = float(normalization.image(raw_score))
    return ImageReport(image, normalization.pixel(full_map), score, score > normalization.image_norm,
                       normalization.pixel_norm, ground_truth, label, normalization.image_norm)


def write_reports(
    out_dir: Path, names: Sequence[Path], sources: Sequence[Path], prediction: Prediction,
    normalization: Normalization, labels: Sequence[int | None], mask_paths: Sequence[Path | None],
    write_csv: bool, progress: ProgressCallback | None, keep_maps: bool = False,
) -> list[np.ndarray]:
    """Write every picture set in a small thread pool (OpenCV releases the GIL), and ``metrics/defect_regions.csv``.

    Returns:
        The normalized maps at original geometry if ``keep_maps``, else an empty list.
    """
    def one(index: int) -> tuple[np.ndarray | None, list[dict]]:
        item = _report_for(Path(sources[index]), prediction.maps[index], prediction.scores[index], normalization,
                           labels[index], mask_paths[index])
        write_image_report(out_dir, names[index], item, write_csv)
        regions = defect_regions(item.normalized_map, normalization.pixel_norm, names[index].as_posix())
        return (item.normalized_map if keep_maps else None), regions

    with ThreadPoolExecutor(2) as pool:
        results = list(track(pool.map(one, range(len(sources))), len(sources), "writing outputs", progress))
    (out_dir / "metrics").mkdir(parents=True, exist_ok=True)
    pd.DataFrame([r for _, regions in results for r in regions], columns=REGION_COLUMNS).to_csv(
        out_dir / "metrics" / "defect_regions.csv", index=False, encoding="utf-8-sig")
    return [m for m, _ in results if m is not None]


def _write_test_outputs(out_dir: Path, dataset: Dataset, prediction: Prediction, normalization: Normalization,
                        metrics: dict[str, Any], config: TrainConfig, progress: ProgressCallback | None) -> list[Path]:
    """Write pictures, CSVs, metrics and plots; returns each test image's output name."""
    samples = dataset.test
    names = relative_names([s.path for s in samples], [s.defect_type for s in samples])
    labels = [s.label for s in samples]
    write_reports(out_dir, names, [s.path for s in samples], prediction, normalization, labels,
                  [s.mask_path for s in samples], config.write_csv, progress)
    metrics_dir = out_dir / "metrics"
    normalized = normalization.image(prediction.scores)
    rows = []
    for sample, name, raw, norm in zip(samples, names, prediction.scores, normalized, strict=True):
        predicted = int(norm > normalization.image_norm)
        outcome = {(1, 1): "TP", (0, 1): "FP", (0, 0): "TN", (1, 0): "FN"}[(sample.label, predicted)]
        rows.append({"filepath": str(sample.path), "output_name": name.as_posix(), "defect_type": sample.defect_type,
                     "gt": sample.label, "pred": predicted, "raw_score": float(raw), "norm_score": float(norm),
                     "image_threshold": normalization.image_threshold, "image_norm": normalization.image_norm,
                     "pixel_threshold": normalization.pixel_threshold, "pixel_norm": normalization.pixel_norm,
                     "result": outcome})
    pd.DataFrame(rows).to_csv(metrics_dir / "test_outputs.csv", index=False, encoding="utf-8-sig")
    _write_plots(metrics_dir, np.array(labels), normalized, metrics)
    dump_json(metrics_dir / "metrics.json", {**metrics, "problems": [asdict(p) for p in dataset.problems]})
    return names


def _write_plots(metrics_dir: Path, labels: np.ndarray, normalized: np.ndarray, metrics: dict[str, Any]) -> None:
    image = metrics["image"]
    plots.plot_confusion_matrix(metrics_dir / "confusion_matrix.png", image["tp"], image["fp"], image["tn"],
                                image["fn"])
    plots.plot_histogram(metrics_dir / "image-level-scores-histogram.png", labels, normalized, image["threshold"])
    found = metrics["curves"]
    if found:
        recall = image["recall"]
        fpr_at = image["fp"] / max(image["fp"] + image["tn"], 1)
        plots.plot_curve(metrics_dir / "image-level-roc.png", found["fpr"], found["tpr"],
                         f"Image ROC (AUROC {image['auroc']:.3f})", "false positive rate", "true positive rate",
                         (fpr_at, recall), diagonal=True)
        plots.plot_curve(metrics_dir / "image-level-pr.png", found["recall"], found["precision"],
                         f"Image precision-recall (AP {image['average_precision']:.3f})", "recall", "precision",
                         (recall, image["precision"]))
    if metrics["pixel"]:
        pixel = metrics["pixel"]
        plots.plot_curve(metrics_dir / "pixel-level-roc.png", pixel["roc_fpr"], pixel["roc_tpr"],
                         f"Pixel ROC (AUROC {pixel['auroc']:.3f}, AUPRO {pixel['aupro']:.3f})",
                         "false positive rate", "true positive rate", diagonal=True)


# ----------------------------------------------------------------------------------------------- inference
def _collect(image_path: str | Path | Sequence[str | Path]) -> tuple[list[Path], list[Path], list[Problem]]:
    """Images to run on and their output names (sub-folders kept)."""
    problems: list[Problem] = []
    if isinstance(image_path, str | Path):
        root = Path(image_path)
        if root.is_file():
            return [root], [Path(root.name)], problems
        if not root.is_dir():
            raise DataError(f"--image-path not found: {root}")
        paths = list_images(root, problems)
        return paths, [p.relative_to(root) for p in paths], problems
    paths = [Path(p) for p in image_path]
    if not paths:
        raise DataError("no image given")
    return paths, relative_names(paths, ["."] * len(paths)), problems


def infer(
    config_path: str | Path,
    image_path: str | Path | Sequence[str | Path],
    save_path: str | Path | None = None,
    image_norm: float | None = None,
    pixel_norm: float | None = None,
    batch_size: int | None = None,
    accelerator: str = "auto",
    write_csv: bool = True,
    progress: ProgressCallback | None = None,
    keep_maps: bool = False,
) -> InferenceResult:
    """Run a saved run on new images and write the output tree and ``metrics/pred_outputs.csv``.

    Args:
        config_path: the run's config.yaml (or its folder).
        image_path: an image file, a folder (searched recursively), or a list of files.
        save_path: output folder (created if missing); default ``<run>/inference_results``.
        image_norm, pixel_norm: normalized thresholds; default the run's saved ones.
        keep_maps: also return the normalized maps (for the app).
    """
    run = load_run(config_path, accelerator)
    if batch_size:
        run.detector.config.batch_size = batch_size
    warnings = []
    normalization = run.normalization
    for name in ("image_norm", "pixel_norm"):
        given = image_norm if name == "image_norm" else pixel_norm
        if given is not None:
            value, warning = check_normalized_threshold(given, name)
            setattr(normalization, name, value)
            warnings += [warning] if warning else []
    paths, names, problems = _collect(image_path)
    samples = probe_samples([Sample(p, 0) for p in paths], problems, progress)
    kept = {s.path for s in samples}
    names = [n for p, n in zip(paths, names, strict=True) if p in kept]
    paths = [s.path for s in samples]
    if not paths:  # still a complete (empty) result, so scripts that loop over folders keep going
        warnings.append(f"no readable image in {image_path}: nothing to predict")
    save_dir = Path(save_path) if save_path else run.run_dir / "inference_results"
    save_dir.mkdir(parents=True, exist_ok=True)
    prediction = run.detector.predict(paths, progress) if paths else Prediction(np.zeros(0), np.zeros((0, 1, 1)))
    maps = write_reports(save_dir, names, paths, prediction, normalization, [None] * len(paths),
                         [None] * len(paths), write_csv, progress, keep_maps)
    normalized = normalization.image(prediction.scores)
    rows = [{"filepath": str(p), "output_name": n.as_posix(), "raw_score": float(r), "norm_score": float(s),
             "pred": int(s > normalization.image_norm), "verdict": "defect" if s > normalization.image_norm else "good",
             "image_norm": normalization.image_norm, "pixel_norm": normalization.pixel_norm}
            for p, n, r, s in zip(paths, names, prediction.scores, normalized, strict=True)]
    columns = ["filepath", "output_name", "raw_score", "norm_score", "pred", "verdict", "image_norm", "pixel_norm"]
    pd.DataFrame(rows, columns=columns).to_csv(save_dir / "metrics" / "pred_outputs.csv", index=False,
                                               encoding="utf-8-sig")
    report(progress, 1, 1, "done")
    return InferenceResult(rows, save_dir, problems, warnings, maps)
