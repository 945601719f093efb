"""Train and inference pipelines: what the CLI and the app call. Orchestration only: each step lives in its module.

``train`` loads and checks the data (:mod:`~hamacho_core.data`), plans the run (:mod:`~hamacho_core.planning`), fits
the detector (a sealed hold-out, when asked, set aside first: :mod:`~hamacho_core.holdout`), scores the test
images, cross-fits the optional supervised head (:mod:`~hamacho_core.supervision`),
fits the thresholds (:func:`~hamacho_core.metrics.fit_normalization`) and the figures
(:func:`~hamacho_core.metrics.run_metrics`), then writes the run (model, the old tool's output tree and metrics of
:mod:`~hamacho_core.report`, evaluation) into a hidden staging folder renamed to the run folder only when complete
(``persistence.staged_run_dir``): a crash at any point leaves no half run. The hold-out is scored last, by the final
model. ``infer`` runs a saved run on new images.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core import faults
from hamacho_core.config import TrainConfig, check_num_workers, max_num_workers
from hamacho_core.data import (
    Dataset,
    Problem,
    collect_images,
    ground_truth_masks,
    load_dataset,
    read_masks,
    relative_names,
)
from hamacho_core.detectors import Detector, Prediction, create_detector
from hamacho_core.evaluation import Evaluation
from hamacho_core.holdout import holdout_counts, split_holdout, write_holdout
from hamacho_core.metrics import RunMetrics, fit_normalization, run_metrics
from hamacho_core.persistence import save_run
from hamacho_core.planning import TrainPlan, plan
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.report import (
    TEST_DIR,
    DecodedPictures,
    ReportSource,
    ReportWriter,
    write_predictions,
    write_test_outputs,
)
from hamacho_core.scoring import with_thresholds
from hamacho_core.staging import staged_run_dir

__all__ = ["InferenceResult", "TrainConfig", "TrainResult", "infer", "max_num_workers", "train"]

@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    metrics: RunMetrics  # as written to test_predictions/metrics/metrics.json (there also the problems)
    problems: list[Problem]
    input_shape: tuple[int, int]
    input_shape_reason: str
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    plan: TrainPlan | None = None
    holdout: dict[str, Any] | None = None  # metrics.json's "holdout" section (hamacho_core.holdout), None without


@dataclass
class InferenceResult:
    """Inference outputs: one row per image (the columns of ``pred_outputs.csv``, see ``report.PRED_COLUMNS``)."""

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
    from hamacho_core.supervision import plan_supervision, supervise, supervised_figures  # scikit-learn: training

    config.validate()
    progress = faults.hooked(progress)  # kill/fail points of the reliability tests; unchanged otherwise
    num_workers, warning = check_num_workers(config.num_workers)
    warnings = [warning] if warning else []
    times: dict[str, float] = {}
    start = time.perf_counter()
    dataset = _load(config, progress)
    dataset.test, held_out = split_holdout(dataset.test, config.holdout_split, config.seed)  # sealed from here on
    detector, found = _build_detector(config, dataset, num_workers)
    warnings += found.warnings()
    if on_plan is not None:
        on_plan(found)
    detector.fit([s.path for s in dataset.train], progress, input_shape=found.shape)
    times["fit"] = time.perf_counter() - start
    head_plan = plan_supervision(config.supervised, detector, dataset.test, config.supervised_min_defects,
                                 config.no_bad_mode)
    start = time.perf_counter()
    decoded = DecodedPictures()
    prediction = detector.predict([s.path for s in dataset.test], progress, keep_patch_inputs=head_plan.enabled,
                                  on_batch=decoded.keep)
    times["predict"] = time.perf_counter() - start
    use_masks = config.task_type == "segmentation" and dataset.has_masks
    read = read_masks(dataset.test, progress) if dataset.has_masks and (use_masks or head_plan.enabled) else None
    truth = None if read is None else ground_truth_masks(dataset.test, prediction.maps.shape[1:], decoded=read)
    head_run = None
    if head_plan.enabled:  # from here on every figure is cross-fitted; the detector carries the head fitted on all
        start = time.perf_counter()
        head_run = supervise(detector, dataset.test, prediction, config.seed, progress,
                             learning_curve=config.learning_curve, masks=truth)
        prediction = head_run.prediction
        times["supervised"] = time.perf_counter() - start
    masks = truth if use_masks else None
    labels = np.array([s.label for s in dataset.test])
    normalization, pixel = fit_normalization(labels, prediction.scores.astype(np.float64), prediction.maps, masks,
                                             [s.label == 0 or s.mask_path is not None for s in dataset.test])
    metrics = run_metrics(labels, prediction.scores, normalization, pixel, config.seed)
    metrics.supervised = supervised_figures(head_plan, head_run)
    start = time.perf_counter()
    with staged_run_dir(config.output_dir()) as run_dir:  # renamed to output_dir only once complete
        counts = {**dataset.counts(), **holdout_counts(held_out)}
        save_run(run_dir, detector, normalization, config.saved_settings(counts, len(dataset.problems)),
                 metrics.headline())
        names = relative_names([s.path for s in dataset.test], [s.defect_type for s in dataset.test])
        write_test_outputs(run_dir / TEST_DIR, dataset.test, prediction, normalization, metrics, dataset.problems,
                           config.write_csv, progress, images=decoded.pictures, masks=read,
                           while_writing=lambda: Evaluation.from_test(  # in this thread while the writers draw
                               dataset.test, names, prediction.scores, prediction.maps, masks, normalization,
                               None if head_run is None else head_run.result.folds).save(run_dir))
        holdout = None if not held_out else write_holdout(  # scored by the final model, fitted without them
            run_dir, detector, held_out, normalization, use_masks, config.write_csv, progress)
    times["outputs"] = time.perf_counter() - start
    shape = detector.input_shape_
    return TrainResult(config.output_dir(), metrics, dataset.problems, shape.as_tuple(), shape.reason, times,
                       warnings, found, holdout)


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


# ----------------------------------------------------------------------------------------------- inference
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
    normalization, warnings = with_thresholds(run.normalization, image_norm, pixel_norm, strict=False)
    paths, names, problems = collect_images(image_path, progress)
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
    rows = write_predictions(save_dir, paths, names, prediction.scores, normalization)
    notify(progress, 1, 1, "done")
    return InferenceResult(rows, save_dir, problems, warnings, maps)
