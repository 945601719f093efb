"""The output writer: the old tool's picture tree, the per-pixel CSVs, the metrics files and plots.

For each image (sub-folder of its source kept)::

    images/input_image/       the input
    images/predicted_heat_map/ heat map blended over the input
    images/grayscale/         per-pixel normalized score as gray levels
    images/predicted_mask/    pixels above the pixel threshold (0/255)
    images/combined/          input | ground truth | heat map | predicted mask | outline, with score and verdict
    csv/<sub-folder>/<stem>.csv  per-pixel normalized map, 5 decimals

and, for all images together, ``metrics/defect_regions.csv``: each connected region above the pixel threshold with
its bounding box and peak in original-image pixel coordinates. Every picture is in the original image's geometry.

A training run's ``test_predictions/metrics/`` also holds ``test_outputs.csv`` (one row per test image),
``metrics.json`` and the static plots. :func:`rethreshold` redraws the pictures and plots of a run at moved
thresholds from its saved :class:`~hamacho_core.evaluation.Evaluation` (no model call).

Writers run in a small thread pool and use only NumPy/OpenCV/matplotlib: no torch call in a second thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pandas as pd

from hamacho_core.atomic import dump_json
from hamacho_core.data import relative_names
from hamacho_core.drawing import REGION_COLUMNS, ImageReport, combined_picture, defect_regions, gray_map, heat_map
from hamacho_core.errors import ModelFileError
from hamacho_core.evaluation import Evaluation
from hamacho_core.imageio import read_image, read_mask, write_image
from hamacho_core.metrics import ImageMetrics, PixelMetrics, RunMetrics, curves, image_metrics, outcomes
from hamacho_core.progress import ProgressCallback, notify, track
from hamacho_core.thresholds import Normalization

if TYPE_CHECKING:
    from hamacho_core.data import Problem, Sample
    from hamacho_core.detectors.base import Prediction

__all__ = [
    "KEEP_DECODED_BYTES",
    "DecodedPictures",
    "ReportSource",
    "ReportWriter",
    "TEST_DIR",
    "read_metrics",
    "rethreshold",
    "write_image_report",
    "write_pixel_csv",
    "write_plots",
    "write_predictions",
    "write_reports",
    "write_test_outputs",
]

TEST_DIR = "test_predictions"  # a training run's output tree, below the run folder

_CSV_BYTES = np.frombuffer("".join(f"{i / 100000:.5f}" for i in range(100001)).encode("ascii"),
                           np.uint8).reshape(100001, 7)  # 0.00000 .. 1.00000, 7 characters each


def write_pixel_csv(path: Path, normalized_map: np.ndarray) -> None:
    """Per-pixel normalized map as CSV with 5 decimals (one row per image row)."""
    codes = np.rint(np.clip(normalized_map, 0, 1) * 100000).astype(np.int64)
    # Every value is 7 characters ("0.12345" .. "1.00000"): the text is built as one byte array, 8 bytes a value
    # with its separator (',' or the row's '\n'), in NumPy instead of joining 100,000s of Python strings (3.5x faster).
    height, width = codes.shape
    text = np.empty((height, width, 8), np.uint8)
    text[:, :, :7] = _CSV_BYTES[codes]
    text[:, :, 7] = ord(",")
    text[:, -1, 7] = ord("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.tobytes())


def write_image_report(out_dir: Path, relative: Path, report: ImageReport, write_csv: bool = True,
                       write_input: bool = True) -> None:
    """Write the five pictures (and the CSV) of one image.

    Args:
        out_dir: the ``test_predictions`` (or inference) folder.
        relative: sub-folder and file name to keep, e.g. ``scratch/001.png``.
        write_input: False when ``images/input_image`` was written already (during predict).
    """
    name = relative.with_suffix(".png")
    images = out_dir / "images"
    predicted = report.normalized_map > report.normalized_pixel_threshold
    if write_input:
        write_image(images / "input_image" / name, report.image)
    write_image(images / "predicted_heat_map" / name, heat_map(report.image, report.normalized_map))
    write_image(images / "grayscale" / name, gray_map(report.normalized_map))
    write_image(images / "predicted_mask" / name, np.uint8(predicted) * 255)
    write_image(images / "combined" / name, combined_picture(report))
    if write_csv:
        write_pixel_csv(out_dir / "csv" / relative.with_suffix(".csv"), report.normalized_map)


# ------------------------------------------------------------------------------------------ whole runs
@dataclass
class ReportSource:
    """One image whose picture set is written: where it comes from, where it goes, and its truth when known."""

    path: Path  # the source image
    name: Path  # output name below images/<kind>/ (sub-folder kept), e.g. scratch/001.png
    label: int | None = None  # 1 defect / 0 good, when known
    mask_path: Path | None = None  # ground-truth mask file, when known
    mask: np.ndarray | None = None  # that mask already decoded ((H, W) bool), None = read mask_path


def _report_for(source: ReportSource, anomaly_map: np.ndarray, raw_score: float,
                normalization: Normalization, image: np.ndarray | None = None) -> ImageReport:
    """One picture set's content: the raw (h, w) map brought to the image's geometry and normalized.

    Args:
        image: the picture already decoded (by the predict loader); None = read ``source.path``.
    """
    image = read_image(source.path) if image is None else image
    height, width = image.shape[:2]
    full_map = cv2.resize(anomaly_map, (width, height), interpolation=cv2.INTER_LINEAR)
    ground_truth = source.mask if source.mask is not None else read_mask(source.mask_path) if source.mask_path else (
        np.zeros((height, width), bool) if source.label == 0 else None)
    score = float(normalization.normalize_scores(raw_score))
    threshold = normalization.normalized_image_threshold
    return ImageReport(image, normalization.normalize_maps(full_map), score, score > threshold,
                       normalization.normalized_pixel_threshold, ground_truth, source.label, threshold)


class ReportWriter:
    """Writes picture sets in writer threads while the caller's thread goes on (predicting the next batch).

    Jobs go to ``n_threads`` threads through a bounded queue (``submit`` blocks while ``max_pending`` jobs wait, so
    memory stays bounded); the threads use only NumPy and OpenCV (no torch: see docs/architecture.md, Threads).
    Progress is reported from the caller's thread in :meth:`close`, counting written picture sets.

    Usage::

        writer = ReportWriter(out_dir, normalization, write_csv)
        detector.predict(paths, progress, on_batch=...)   # writer.submit(...) per image
        maps = writer.close(progress)                      # waits for the last file; writes defect_regions.csv
    """

    def __init__(self, out_dir: Path, normalization: Normalization | None = None, write_csv: bool = True,
                 keep_maps: bool = False, n_threads: int = 2, max_pending: int = 32):
        self.out_dir = Path(out_dir)
        self.normalization = normalization  # may be set later (training: known only after predict)
        self.write_csv, self.keep_maps = write_csv, keep_maps
        self._pool = ThreadPoolExecutor(max(1, n_threads), thread_name_prefix="hamacho-writer")
        self._slots = threading.BoundedSemaphore(max(1, max_pending))
        self._sets: list[Future] = []  # one per picture set, in submission order
        self._files: list[Future] = []  # single files (input pictures written ahead)

    def _queue(self, function: Callable[..., Any], *args: Any) -> Future:
        self._slots.acquire()
        try:
            future = self._pool.submit(function, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def write_input(self, name: Path, image: np.ndarray) -> None:
        """Write ``images/input_image/<name>.png`` now (it needs no threshold)."""
        self._files.append(self._queue(write_image, self.out_dir / "images" / "input_image" / name.with_suffix(
            ".png"), image))

    def submit(self, source: ReportSource, anomaly_map: np.ndarray, raw_score: float,
               image: np.ndarray | None = None, input_written: bool = False) -> None:
        """Queue one picture set (and its CSV). ``image``: the decoded picture, None = decode ``source.path``."""
        if self.normalization is None:
            raise ValueError("ReportWriter.normalization must be set before picture sets are submitted")
        self._sets.append(self._queue(self._one, source, anomaly_map, raw_score, image, input_written,
                                      self.normalization))

    def _one(self, source: ReportSource, anomaly_map: np.ndarray, raw_score: float, image: np.ndarray | None,
             input_written: bool, normalization: Normalization) -> tuple[np.ndarray | None, list[dict]]:
        item = _report_for(source, anomaly_map, raw_score, normalization, image)
        write_image_report(self.out_dir, source.name, item, self.write_csv, write_input=not input_written)
        regions = defect_regions(item.normalized_map, normalization.normalized_pixel_threshold, source.name.as_posix())
        return (item.normalized_map if self.keep_maps else None), regions

    def close(self, progress: ProgressCallback | None = None) -> list[np.ndarray]:
        """Wait for the last file, write ``metrics/defect_regions.csv``; progress counts written picture sets.

        Returns:
            The normalized maps at original geometry (in submission order) if ``keep_maps``, else an empty list.
        """
        try:
            for future in self._files:
                future.result()
            total = len(self._sets)
            notify(progress, 0, total, "writing outputs")
            results = []
            for done, future in enumerate(self._sets, 1):
                results.append(future.result())
                notify(progress, done, total, "writing outputs")
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        (self.out_dir / "metrics").mkdir(parents=True, exist_ok=True)
        pd.DataFrame([r for _, regions in results for r in regions], columns=REGION_COLUMNS).to_csv(
            self.out_dir / "metrics" / "defect_regions.csv", index=False, encoding="utf-8-sig")
        return [m for m, _ in results if m is not None]


KEEP_DECODED_BYTES = 256 << 20  # decoded test pictures kept from predict for the writer; beyond, decoded again


class DecodedPictures:
    """The test pictures decoded by predict, kept (up to ``limit`` bytes) so the writer need not decode them again.

    The thresholds that every picture but the input depends on are known only once all images are scored, so in
    training the pictures are drawn after predict; ``pictures[i]`` is None where the budget ran out. :meth:`keep`
    is ``Detector.predict``'s ``on_batch`` callback.
    """

    def __init__(self, limit: int = KEEP_DECODED_BYTES):
        self.pictures: list[np.ndarray | None] = []
        self._left = limit

    def keep(self, start: int, scores: np.ndarray, maps: np.ndarray, images: list[np.ndarray]) -> None:
        for image in images:
            fits = image.nbytes <= self._left
            self._left -= image.nbytes if fits else 0
            self.pictures.append(image if fits else None)


def write_reports(
    out_dir: Path, sources: Sequence[ReportSource], prediction: Prediction, normalization: Normalization,
    write_csv: bool = True, progress: ProgressCallback | None = None, keep_maps: bool = False,
) -> list[np.ndarray]:
    """Write every picture set with a :class:`ReportWriter`, and ``metrics/defect_regions.csv``.

    Args:
        sources: the images, in the order of ``prediction`` (scores (N,), raw maps (N, h, w)).

    Returns:
        The normalized maps at original geometry if ``keep_maps``, else an empty list.
    """
    writer = ReportWriter(out_dir, normalization, write_csv, keep_maps)
    try:
        for index, source in enumerate(sources):
            writer.submit(source, prediction.maps[index], prediction.scores[index])
    finally:
        maps = writer.close(progress)
    return maps


def write_test_outputs(
    out_dir: Path, samples: Sequence[Sample], prediction: Prediction, normalization: Normalization,
    metrics: RunMetrics, problems: Sequence[Problem] = (), write_csv: bool = True,
    progress: ProgressCallback | None = None, images: Sequence[np.ndarray | None] | None = None,
    while_writing: Callable[[], None] | None = None, masks: Sequence[np.ndarray | None] | None = None,
) -> list[Path]:
    """A training run's ``test_predictions`` tree: pictures, CSVs, ``test_outputs.csv``, ``metrics.json``, plots.

    The picture sets go to writer threads first; the tables, plots and ``while_writing`` run in this thread
    meanwhile, and the call returns when the last file is written.

    Args:
        images: the decoded test pictures (None entries, or None = decode the files).
        masks: their masks already decoded (``data.read_masks``; None entries, or None = read the files).
        while_writing: more work for this thread while the pictures are written (training: the Evaluation).

    Returns:
        Each test image's output name.
    """
    names = relative_names([s.path for s in samples], [s.defect_type for s in samples])
    sources = [ReportSource(s.path, n, s.label, s.mask_path, masks[i] if masks is not None else None)
               for i, (s, n) in enumerate(zip(samples, names, strict=True))]
    # every picture set queued at once (the pictures and maps are in memory already, a queued set adds only its
    # references), so this thread goes straight on to the tables and plots while the writer threads draw
    writer = ReportWriter(out_dir, normalization, write_csv, max_pending=len(sources) + 1)
    try:
        for index, source in enumerate(sources):
            image = images[index] if images is not None and index < len(images) else None
            writer.submit(source, prediction.maps[index], prediction.scores[index], image)
        _write_tables(out_dir, samples, names, prediction, normalization, metrics, problems)
        if while_writing is not None:
            while_writing()
    finally:
        writer.close(progress)
    return names


def _write_tables(out_dir: Path, samples: Sequence[Sample], names: Sequence[Path], prediction: Prediction,
                  normalization: Normalization, metrics: RunMetrics, problems: Sequence[Problem]) -> None:
    """``test_outputs.csv``, the plots and ``metrics.json`` of a training run."""
    metrics_dir = out_dir / "metrics"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    labels = np.array([s.label for s in samples])
    normalized = normalization.normalize_scores(prediction.scores)
    rows = test_rows(samples, names, prediction.scores, normalization)
    pd.DataFrame(rows).to_csv(metrics_dir / "test_outputs.csv", index=False, encoding="utf-8-sig")
    write_plots(metrics_dir, labels, normalized, metrics.image, metrics.curves, metrics.pixel)
    dump_json(metrics_dir / "metrics.json", {**metrics.to_dict(), "problems": [asdict(p) for p in problems]})


def test_rows(samples: Sequence[Sample], names: Sequence[Path], raw_scores: np.ndarray,
              normalization: Normalization) -> list[dict[str, Any]]:
    """The rows of ``test_outputs.csv`` (also ``holdout_outputs.csv``): one per labelled picture."""
    labels = np.array([s.label for s in samples])
    normalized = normalization.normalize_scores(raw_scores)
    threshold = normalization.normalized_image_threshold
    results = outcomes(labels, normalized, threshold)
    return [{"filepath": str(sample.path), "output_name": name.as_posix(), "defect_type": sample.defect_type,
             "gt": sample.label, "pred": int(score > threshold), "raw_score": float(raw),
             "norm_score": float(score), "image_threshold": normalization.image_threshold,
             "image_norm": threshold, "pixel_threshold": normalization.pixel_threshold,
             "pixel_norm": normalization.normalized_pixel_threshold, "result": result}
            for sample, name, raw, score, result in zip(samples, names, raw_scores, normalized, results, strict=True)]


def read_metrics(run_dir: Path) -> RunMetrics | None:
    """A trained run's ``metrics.json`` (also as written by earlier versions); None when the run has none.

    Raises:
        ModelFileError: the file is damaged (train the run again).
    """
    path = Path(run_dir) / TEST_DIR / "metrics" / "metrics.json"
    if not path.is_file():
        return None
    try:
        return RunMetrics.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelFileError(f"{path} is damaged: {error} (train the run again)") from error


PRED_COLUMNS = ["filepath", "output_name", "raw_score", "norm_score", "pred", "verdict", "image_norm", "pixel_norm"]


def write_predictions(save_dir: Path, paths: Sequence[Path], names: Sequence[Path], raw_scores: np.ndarray,
                      normalization: Normalization) -> list[dict[str, Any]]:
    """Inference's ``metrics/pred_outputs.csv``: one row per picture (columns :data:`PRED_COLUMNS`); returns the rows.

    Args:
        raw_scores: (N,) raw image scores, in the order of ``paths``.
    """
    normalized = normalization.normalize_scores(raw_scores)
    threshold = normalization.normalized_image_threshold
    rows = [{"filepath": str(p), "output_name": n.as_posix(), "raw_score": float(r), "norm_score": float(s),
             "pred": int(s > threshold), "verdict": "defect" if s > threshold else "good",
             "image_norm": threshold, "pixel_norm": normalization.normalized_pixel_threshold}
            for p, n, r, s in zip(paths, names, raw_scores, normalized, strict=True)]
    (save_dir / "metrics").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=PRED_COLUMNS).to_csv(save_dir / "metrics" / "pred_outputs.csv", index=False,
                                                    encoding="utf-8-sig")
    return rows


PLOT_FILES = {"confusion": "confusion_matrix.png", "histogram": "image-level-scores-histogram.png",
              "roc": "image-level-roc.png", "pr": "image-level-pr.png", "pixel_roc": "pixel-level-roc.png"}


def write_plots(metrics_dir: Path, labels: np.ndarray, normalized: np.ndarray, image: ImageMetrics,
                found: dict[str, list[float]], pixel: PixelMetrics | None = None) -> dict[str, Path]:
    """The static plots of a run's figures, at ``image.threshold``.

    Args:
        labels: (N,) 1 = defect. normalized: (N,) normalized image scores.
        image: the image figures at the threshold. found: PR/ROC curves (:func:`~hamacho_core.metrics.curves`).
        pixel: the pixel figures, or None (no pixel ROC).

    Returns:
        The files written, by kind (keys of :data:`PLOT_FILES`).
    """
    from hamacho_core import plots  # matplotlib (~0.4 s to import): only runs that draw plots pay for it

    out = {kind: metrics_dir / name for kind, name in PLOT_FILES.items()}
    plots.plot_confusion_matrix(out["confusion"], image.tp, image.fp, image.tn, image.fn)
    plots.plot_histogram(out["histogram"], labels, normalized, image.threshold)
    if found:
        fpr_at = image.fp / max(image.fp + image.tn, 1)
        plots.plot_curve(out["roc"], found["fpr"], found["tpr"], f"Image ROC (AUROC {image.auroc:.3f})",
                         "false positive rate", "true positive rate", (fpr_at, image.recall), diagonal=True)
        plots.plot_curve(out["pr"], found["recall"], found["precision"],
                         f"Image precision-recall (AP {image.average_precision:.3f})", "recall", "precision",
                         (image.recall, image.precision))
    else:
        del out["roc"], out["pr"]
    if pixel is not None:
        plots.plot_curve(out["pixel_roc"], pixel.roc_fpr, pixel.roc_tpr,
                         f"Pixel ROC (AUROC {pixel.auroc:.3f}, AUPRO {pixel.aupro:.3f})",
                         "false positive rate", "true positive rate", diagonal=True)
    else:
        del out["pixel_roc"]
    return out


def rethreshold(run_dir: Path, normalization: Normalization, out_dir: Path, write_pictures: bool = True,
                progress: ProgressCallback | None = None) -> dict[str, Path]:
    """Redraw a run's report at moved thresholds from its saved test results (no model call, no 8-bit PNG read).

    The raw maps kept in ``evaluation.safetensors`` are brought to each image's geometry and normalized with
    ``normalization`` (its normalized thresholds are the moved ones); ground truth comes from the mask
    files (or the saved preview masks when the files are gone).

    Args:
        run_dir: the trained run.
        out_dir: where ``images/<kind>/...`` and ``metrics/`` (plots, ``metrics.json`` at the new thresholds) go.
        write_pictures: False = plots and metrics only.

    Returns:
        The plot files written, by kind (keys of :data:`PLOT_FILES`).

    Raises:
        ModelFileError: the run has no (readable) test results; retrain it to get them.
    """
    evaluation = Evaluation.load(run_dir)
    names = [Path(n) for n in evaluation.output_names] if evaluation.output_names else relative_names(
        [Path(p) for p in evaluation.paths], evaluation.defect_types)
    input_dir = Path(run_dir) / TEST_DIR / "images" / "input_image"
    normalized = normalization.normalize_scores(evaluation.raw_scores)
    if write_pictures:
        def one(index: int) -> None:
            name = names[index]
            source = Path(evaluation.paths[index])
            image = read_image(source if source.is_file() else input_dir / name.with_suffix(".png"))
            height, width = image.shape[:2]
            full_map = cv2.resize(evaluation.maps[index].astype(np.float32), (width, height),
                                  interpolation=cv2.INTER_LINEAR)
            truth = _truth(evaluation, index, (height, width))
            score = float(normalized[index])
            threshold = normalization.normalized_image_threshold
            item = ImageReport(image, normalization.normalize_maps(full_map), score, score > threshold,
                               normalization.normalized_pixel_threshold, truth, int(evaluation.labels[index]),
                               threshold)
            write_image_report(out_dir, name, item, write_csv=False)

        with ThreadPoolExecutor(2) as pool:
            list(track(pool.map(one, range(len(names))), len(names), "redrawing pictures", progress))
    image = image_metrics(evaluation.labels, normalized, normalization.normalized_image_threshold)
    found = curves(evaluation.labels, normalized)
    metrics_dir = out_dir / "metrics"
    files = write_plots(metrics_dir, evaluation.labels, normalized, image, found)
    dump_json(metrics_dir / "metrics.json", {"image": image.to_dict(), "curves": found, "pixel": None,
                                             "normalization": normalization.to_dict()})
    return files


def _truth(evaluation: Evaluation, index: int, shape: tuple[int, int]) -> np.ndarray | None:
    """Ground truth of image ``index`` at (height, width): the mask file, else the saved preview, else None."""
    height, width = shape
    mask_path = evaluation.mask_paths[index] if evaluation.mask_paths else None
    if mask_path and Path(mask_path).is_file():
        mask = read_mask(mask_path)
        if mask.shape[:2] != (height, width):
            mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        return mask
    if int(evaluation.labels[index]) == 0:
        return np.zeros((height, width), bool)
    if evaluation.masks is not None:
        return cv2.resize(evaluation.masks[index].astype(np.uint8), (width, height),
                          interpolation=cv2.INTER_NEAREST) > 0
    return None
