"""Train and inference pipelines: what the CLI and the app call.

``train`` loads and checks the data, plans the run (:mod:`hamacho_core.planning`), fits the detector, scores the
test images, fits the thresholds (:func:`hamacho_core.thresholds.fit_normalization`), then writes the run (model,
the old tool's output tree and metrics of :mod:`hamacho_core.report`, evaluation) into a hidden staging folder
renamed to the run folder only when complete (``persistence.staged_run_dir``): a crash at any point leaves no half
run. ``infer`` runs a saved run on new images.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from hamacho_core import faults
from hamacho_core.config import TrainConfig, check_num_workers, max_num_workers
from hamacho_core.data import Dataset, Problem, Sample, list_images, load_dataset, probe_samples
from hamacho_core.detectors import Detector, Prediction, create_detector
from hamacho_core.errors import DataError
from hamacho_core.evaluation import Evaluation, preview
from hamacho_core.imageio import read_mask
from hamacho_core.metrics import cross_validated_estimate, curves, image_metrics
from hamacho_core.persistence import save_run, staged_run_dir
from hamacho_core.planning import CSV_WARNING_BYTES, TrainPlan, estimate_train_seconds, pixel_csv_bytes, plan
from hamacho_core.progress import ProgressCallback, report, track
from hamacho_core.report import (
    TEST_DIR,
    ReportSource,
    ReportWriter,
    relative_names,
    write_reports,
    write_test_outputs,
)
from hamacho_core.thresholds import Normalization, check_normalized_threshold, fit_normalization

__all__ = ["InferenceResult", "TrainConfig", "TrainResult", "infer", "max_num_workers", "train"]

# Names that lived here before the split, kept importable from this module for existing callers.
_MOVED = (CSV_WARNING_BYTES, TEST_DIR, check_num_workers, estimate_train_seconds, pixel_csv_bytes, write_reports)


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
    plan: TrainPlan | None = None


@dataclass
class InferenceResult:
    """Inference outputs: one row per image (file, raw_score, norm_score, is_defect, verdict)."""

    rows: list[dict[str, Any]]
    save_dir: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    normalized_maps: list[np.ndarray] = field(default_factory=list)  # (H, W) at original geometry


# --------------------------------------------------------------------------------------------------- train
def train(config: TrainConfig, progress: ProgressCallback | None = None,
          on_plan: Callable[[TrainPlan], None] | None = None) -> TrainResult:
    """Train, evaluate, save and report one run (see module docstring).

    Args:
        on_plan: called with the run's plan once it is known, before fitting (the CLI prints it).

    Raises:
        HamachoError: any invalid option or unusable data, with a message saying what to do.
    """
    from hamacho_core.supervision import plan_supervision, supervise  # scikit-learn: training only, not inference

    config.validate()
    progress = faults.hooked(progress)  # kill/fail points of the reliability tests; unchanged otherwise
    num_workers, warning = check_num_workers(config.num_workers)
    warnings = [warning] if warning else []
    times: dict[str, float] = {}
    start = time.perf_counter()
    dataset = _load(config, progress)
    detector, found = _build_detector(config, dataset, num_workers)
    warnings += found.warnings()
    if on_plan is not None:
        on_plan(found)
    detector.fit([s.path for s in dataset.train], progress, input_shape=found.shape)
    times["fit"] = time.perf_counter() - start
    plan = plan_supervision(config.supervised, detector, dataset.test, config.supervised_min_defects,
                            config.no_bad_mode)
    start = time.perf_counter()
    decoded = _DecodedPictures()
    prediction = detector.predict([s.path for s in dataset.test], progress, keep_patch_inputs=plan.enabled,
                                  on_batch=decoded.keep)
    times["predict"] = time.perf_counter() - start
    boost = None
    if plan.enabled:  # from here on every figure is cross-fitted; the detector carries the head fitted on all
        start = time.perf_counter()
        boost = supervise(detector, dataset.test, prediction, config.seed, progress)
        prediction = boost.prediction
        times["supervised"] = time.perf_counter() - start
    use_masks = config.task_type == "segmentation" and dataset.has_masks
    masks = _masks_at(dataset.test, prediction, progress) if use_masks else None
    labels = np.array([s.label for s in dataset.test])
    normalization, pixel = fit_normalization(labels, prediction.scores.astype(np.float64), prediction.maps, masks,
                                             [s.label == 0 or s.mask_path is not None for s in dataset.test])
    metrics = _metrics(labels, prediction, normalization, None if pixel is None else pixel.to_dict(), config.seed)
    metrics["supervised"] = {"enabled": plan.enabled, "reason": plan.reason, **(boost.summary() if boost else {})}
    start = time.perf_counter()
    with staged_run_dir(config.output_dir()) as run_dir:  # renamed to output_dir only once complete
        save_run(run_dir, detector, normalization, _settings(config, dataset), _headline(metrics))
        names = relative_names([s.path for s in dataset.test], [s.defect_type for s in dataset.test])

        def save_evaluation() -> None:  # in this thread while the writer threads draw the pictures
            Evaluation([str(s.path) for s in dataset.test], [s.defect_type for s in dataset.test], labels,
                       prediction.scores.astype(np.float64),
                       np.stack([preview(m) for m in prediction.maps]) if len(prediction.maps) else prediction.maps,
                       np.stack([preview(m, nearest=True) > 0.5 for m in masks]) if masks is not None else None,
                       normalization, [n.as_posix() for n in names],
                       [str(s.mask_path) if s.mask_path else None for s in dataset.test]).save(run_dir)

        write_test_outputs(run_dir / TEST_DIR, dataset.test, prediction, normalization, metrics, dataset.problems,
                           config.write_csv, progress, images=decoded.pictures, while_writing=save_evaluation)
    times["outputs"] = time.perf_counter() - start
    shape = detector.input_shape_
    return TrainResult(config.output_dir(), metrics, dataset.problems, shape.as_tuple(), shape.reason, times,
                       warnings, found)


KEEP_DECODED_BYTES = 256 << 20  # decoded test pictures kept from predict for the writer; beyond, decoded again


class _DecodedPictures:
    """The test pictures decoded by predict, kept (up to ``limit`` bytes) so the writer need not decode them again.

    The thresholds that every picture but the input depends on are known only once all images are scored, so in
    training the pictures are drawn after predict; ``pictures[i]`` is None where the budget ran out.
    """

    def __init__(self, limit: int = KEEP_DECODED_BYTES):
        self.pictures: list[np.ndarray | None] = []
        self._left = limit

    def keep(self, start: int, scores: np.ndarray, maps: np.ndarray, images: list[np.ndarray]) -> None:
        for image in images:
            fits = image.nbytes <= self._left
            self._left -= image.nbytes if fits else 0
            self.pictures.append(image if fits else None)


def _load(config: TrainConfig, progress: ProgressCallback | None) -> Dataset:
    dataset = load_dataset(
        config.dataset_dir, config.data_format, split=config.split, seed=config.seed, with_masks=True,
        no_bad=config.no_bad_mode, good_files=config.good_file_list, bad_files=config.bad_file_list,
        mask_files=config.mask_file_list, progress=progress)
    if config.with_mask_label and dataset.has_defects and not any(s.mask_path for s in dataset.test):
        dataset.problems.append(Problem(str(config.dataset_dir), "--with-mask-label given but no mask was found"))
    return dataset


def _build_detector(config: TrainConfig, dataset: Dataset, num_workers: int) -> tuple[Detector, TrainPlan]:
    """The detector and the run's plan, its input shape chosen from the training images' sizes (no second decode)."""
    detector = create_detector(config.model, config.detector_settings(None, num_workers + 2))
    return detector, plan(config, dataset, detector.extractor.max_stride)


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


def _metrics(labels: np.ndarray, prediction: Prediction, normalization: Normalization,
             pixel: dict[str, Any] | None, seed: int) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------------------------- inference
def _collect(image_path: str | Path | Sequence[str | Path]) -> tuple[list[Path], list[Path], list[Problem]]:
    """Images to run on and their output names (sub-folders kept)."""
    problems: list[Problem] = []
    if isinstance(image_path, str | Path):
        root = Path(image_path)
        if root.is_file():
            return [root], [Path(root.name)], problems
        if not root.is_dir():
            raise DataError(f"--image-path not found: {root} (give an image file or a folder of images)")
        paths = list_images(root, problems)
        return paths, [p.relative_to(root) for p in paths], problems
    paths = [Path(p) for p in image_path]
    if not paths:
        raise DataError("no image given: pass at least one image file")
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
    engine: str = "torch",
    model_dir: str | Path | None = None,
) -> InferenceResult:
    """Run a saved run on new images and write the output tree and ``metrics/pred_outputs.csv``.

    Args:
        config_path: the run's config.yaml (or its folder).
        image_path: an image file, a folder (searched recursively), or a list of files.
        save_path: output folder (created if missing); default ``<run>/inference_results``.
        image_norm, pixel_norm: normalized thresholds; default the run's saved ones.
        keep_maps: also return the normalized maps (for the app).
        engine: "torch", "onnx" or "openvino"; model_dir: an exported model folder (default: the run's own
            export, made on first use; see ``hamacho_core.export.engines``).
    """
    from hamacho_core.export.engines import open_run

    run = open_run(config_path, engine, accelerator, model_dir, batch_size=batch_size)
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
    sources = [ReportSource(p, n) for p, n in zip(paths, names, strict=True)]
    writer = ReportWriter(save_dir, normalization, write_csv, keep_maps)

    def write_batch(start: int, scores: np.ndarray, maps: np.ndarray, images: list[np.ndarray]) -> None:
        for offset, image in enumerate(images):  # drawn in the writer threads while the next batch is predicted
            writer.submit(sources[start + offset], maps[offset], scores[offset], image)

    try:
        prediction = run.detector.predict(paths, progress, write_batch) if paths else Prediction(
            np.zeros(0), np.zeros((0, 1, 1)))
    finally:
        maps = writer.close(progress)  # the job ends when the last file is written
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
