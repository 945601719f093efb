"""The report ZIP and its offline ``index.html`` (plain functions: no streamlit, tested directly).

The ZIP holds the parts the analyst chose from the run's ``test_predictions`` tree (the core's writers made them),
the settings, and ``index.html``: metrics, the core's plots and a table of every test image with a thumbnail, score
and verdict. When the run's saved thresholds were moved after training, the pictures are redrawn at the saved
thresholds with the core's ``write_image_report``, so pictures, table and metrics agree.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from hamacho_core import plots
from hamacho_core.evaluation import Evaluation
from hamacho_core.imageio import read_image
from hamacho_core.metrics import image_metrics
from hamacho_core.persistence import read_config
from hamacho_core.pipeline import TEST_DIR
from hamacho_core.report import ImageReport, write_image_report
from hamacho_core.thresholds import Normalization
from ui.decisions_report import add_decisions
from ui.images import fit, gray_to_map

__all__ = ["PARTS", "ReportRow", "build_report_zip", "index_html", "report_name", "report_rows"]

PARTS = {  # part -> folders of test_predictions it takes
    "combined": ["images/combined"],
    "heat_maps": ["images/predicted_heat_map", "images/grayscale"],
    "masks": ["images/predicted_mask"],
    "inputs": ["images/input_image"],
    "csv": ["csv"],
    "metrics": ["metrics"],
    "settings": [],
}
_REDRAWN = ("combined", "heat_maps", "masks")
_FORBIDDEN = set('/\\:*?"<>|')


@dataclass
class ReportRow:
    """One test image in the report."""

    name: str  # output name, e.g. "scratch/scratch_000.png"
    defect_type: str
    label: int
    raw_score: float
    norm_score: float
    verdict: str  # "defect" | "good" at the saved threshold
    result: str  # TP / FP / TN / FN


def report_name(project: str, run: str) -> str:
    """``<project>_<run>`` with characters unsafe in file names replaced (Japanese kept)."""
    return "".join("_" if c in _FORBIDDEN else c for c in f"{project}_{run}")


def report_rows(run_dir: Path, image_norm: float) -> list[ReportRow]:
    """Rows of the run's ``test_outputs.csv`` with verdicts at ``image_norm``."""
    frame = pd.read_csv(run_dir / TEST_DIR / "metrics" / "test_outputs.csv", encoding="utf-8-sig")
    rows = []
    for item in frame.itertuples():
        defect = float(item.norm_score) > image_norm
        label = int(item.gt)
        result = {(1, True): "TP", (0, True): "FP", (0, False): "TN", (1, False): "FN"}[(label, defect)]
        rows.append(ReportRow(str(item.output_name), str(item.defect_type), label, float(item.raw_score),
                              float(item.norm_score), "defect" if defect else "good", result))
    return rows


def _drawn_at(run_dir: Path) -> tuple[float, float]:
    """(image_norm, pixel_norm) the pictures of test_predictions were drawn at."""
    frame = pd.read_csv(run_dir / TEST_DIR / "metrics" / "test_outputs.csv", encoding="utf-8-sig", nrows=1)
    return float(frame["image_norm"].iloc[0]), float(frame["pixel_norm"].iloc[0])


def _redraw(run_dir: Path, out_dir: Path, rows: Sequence[ReportRow], normalization: Normalization,
            masks: dict[str, np.ndarray]) -> None:
    """Redraw the pictures at the saved thresholds with the core's writer (maps read back from grayscale/)."""
    images = run_dir / TEST_DIR / "images"
    for row in rows:
        name = Path(row.name).with_suffix(".png")
        image = read_image(images / "input_image" / name)
        normalized_map = cv2.resize(gray_to_map(images / "grayscale" / name), (image.shape[1], image.shape[0]))
        truth = masks.get(row.name)
        if truth is not None:
            truth = cv2.resize(truth.astype(np.uint8), (image.shape[1], image.shape[0]),
                               interpolation=cv2.INTER_NEAREST) > 0
        item = ImageReport(image, normalized_map, row.norm_score, row.verdict == "defect", normalization.pixel_norm,
                           truth, row.label, normalization.image_norm)
        write_image_report(out_dir, Path(row.name), item, write_csv=False)


def _truth_masks(run_dir: Path, rows: Sequence[ReportRow]) -> dict[str, np.ndarray]:
    """Ground truth at preview size from the run's evaluation file, by output name (empty when unknown)."""
    try:
        evaluation = Evaluation.load(run_dir)
    except Exception:  # noqa: BLE001 - pictures are then drawn without ground truth
        return {}
    if evaluation.masks is None or len(evaluation.masks) != len(rows):
        return {}
    return {row.name: evaluation.masks[i] for i, row in enumerate(rows)}


def _plots(folder: Path, rows: Sequence[ReportRow], image_norm: float, metrics: dict[str, Any]) -> dict[str, Path]:
    """The core's static plots at the saved threshold."""
    labels = np.array([r.label for r in rows])
    scores = np.array([r.norm_score for r in rows])
    counts = {k: sum(r.result == k.upper() for r in rows) for k in ("tp", "fp", "tn", "fn")}
    out = {"histogram": folder / "histogram.png", "confusion": folder / "confusion.png"}
    plots.plot_histogram(out["histogram"], labels, scores, image_norm)
    plots.plot_confusion_matrix(out["confusion"], counts["tp"], counts["fp"], counts["tn"], counts["fn"])
    curves = metrics.get("curves") or {}
    if curves:
        recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
        precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
        fpr = counts["fp"] / max(counts["fp"] + counts["tn"], 1)
        out["roc"], out["pr"] = folder / "roc.png", folder / "pr.png"
        plots.plot_curve(out["roc"], curves["fpr"], curves["tpr"], "Image ROC", "false positive rate",
                         "true positive rate", (fpr, recall), diagonal=True)
        plots.plot_curve(out["pr"], curves["recall"], curves["precision"], "Image precision-recall", "recall",
                         "precision", (recall, precision))
    return out


def _data_uri(path: Path, side: int | None = None) -> str:
    """A PNG/JPEG file as a data: URI (thumbnails shrunk to ``side`` and re-encoded as JPEG)."""
    if side is None:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    image = fit(read_image(path), side)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii") if ok else ""


def _figures(summary: dict[str, Any]) -> list[tuple[str, str]]:
    image = summary["image"]
    rows = [("threshold (normalized)", f"{image['threshold']:.3f}")]
    for key in ("auroc", "average_precision", "f1", "precision", "recall", "accuracy"):
        value = image.get(key)
        rows.append((f"image {key}", "–" if value is None else f"{value:.3f}"))
    rows += [("TP / FP / TN / FN", f"{image['tp']} / {image['fp']} / {image['tn']} / {image['fn']}")]
    honest = summary.get("image_cross_validated")
    if honest:
        rows.append((f"honest F1 ({honest['n_folds']}-fold cross-validated)", f"{honest['f1']:.3f}"))
    pixel = summary.get("pixel") or {}
    for key in ("auroc", "aupro", "f1"):
        if pixel.get(key) is not None:
            rows.append((f"pixel {key}", f"{pixel[key]:.3f}"))
    return rows


def index_html(title: str, config: dict[str, Any], summary: dict[str, Any], rows: Sequence[ReportRow],
               plot_uris: dict[str, str], thumbnails: Sequence[str]) -> str:
    """The offline summary page (UTF-8; images either relative paths inside the ZIP or data: URIs)."""
    esc = html.escape
    settings = config.get("settings", {})
    facts = [("model", config.get("model", "")), ("backbone", config.get("detector", {}).get("backbone", "")),
             ("created", config.get("created", "")),
             ("input shape", " x ".join(map(str, config.get("state", {}).get("input_shape", [])))),
             ("image threshold (normalized)", f"{config['normalization']['image_norm']:.3f}"),
             ("pixel threshold (normalized)", f"{config['normalization']['pixel_norm']:.3f}"),
             ("training images", str(settings.get("counts", {}).get("train/good", "")))]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in facts + _figures(summary))
    figures = "".join(f'<img class="plot" alt="{esc(k)}" src="{v}">' for k, v in plot_uris.items())
    body = "".join(
        f'<tr class="{r.result}"><td><img class="thumb" src="{thumb}" alt=""></td><td>{esc(r.name)}</td>'
        f"<td>{esc(r.defect_type)}</td><td>{r.raw_score:.4f}</td><td>{r.norm_score:.4f}</td>"
        f"<td>{esc(r.verdict)}</td><td>{r.result}</td></tr>" for r, thumb in zip(rows, thumbnails, strict=True))
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body{{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",sans-serif;margin:24px;color:#222}}
table{{border-collapse:collapse;margin:12px 0}} th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
img.plot{{height:300px;margin:4px}} img.thumb{{height:96px}} tr.FP td,tr.FN td{{background:#fde8e8}}
</style></head><body>
<h1>{esc(title)}</h1>
<h2>Metrics</h2><table>{table}</table>
<h2>Curves</h2><div>{figures}</div>
<h2>Images ({len(rows)})</h2>
<table><tr><th></th><th>file</th><th>type</th><th>raw score</th><th>normalized score</th><th>verdict</th>
<th>result</th></tr>{body}</table>
</body></html>
"""


def _summary(run_dir: Path, rows: Sequence[ReportRow], image_norm: float) -> dict[str, Any]:
    """metrics.json with the image figures recomputed at the saved threshold."""
    path = run_dir / TEST_DIR / "metrics" / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    labels = np.array([r.label for r in rows])
    scores = np.array([r.norm_score for r in rows])
    metrics["image"] = image_metrics(labels, scores, image_norm).to_dict()
    return metrics


def build_report_zip(run_dir: Path, out_path: Path, parts: Sequence[str], project: str,
                     progress: Callable[[int, int, str], None] | None = None, language: str = "en") -> Path:
    """Write the report ZIP of a run to ``out_path`` and return it.

    Args:
        run_dir: the trained run.
        parts: keys of PARTS to include (index.html is always included).
        project: project name (the ZIP's top folder is ``<project>_<run>``).
        language: the UI's language, for the decision section and summary.png.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown report parts: {sorted(unknown)}")
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    normalization = Normalization.from_dict(config["normalization"])
    rows = report_rows(run_dir, normalization.image_norm)
    top = report_name(project, run_dir.name)
    source = run_dir / TEST_DIR
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        pictures = source
        if set(parts) & set(_REDRAWN) and _drawn_at(run_dir) != (normalization.image_norm, normalization.pixel_norm):
            pictures = scratch_dir / "redrawn"
            _redraw(run_dir, pictures, rows, normalization, _truth_masks(run_dir, rows))
        summary = _summary(run_dir, rows, normalization.image_norm)
        plot_files = _plots(scratch_dir / "plots", rows, normalization.image_norm, summary)
        files: list[tuple[Path, str]] = []
        for part in parts:
            base = pictures if part in _REDRAWN else source
            for folder in PARTS[part]:
                files += [(p, f"{top}/{p.relative_to(base).as_posix()}") for p in sorted((base / folder).rglob("*"))
                          if p.is_file()]
        if "settings" in parts:
            files.append((run_dir / "config.yaml", f"{top}/settings/config.yaml"))
        with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for done, (path, arcname) in enumerate(files, start=1):
                archive.write(path, arcname)
                if progress is not None:
                    progress(done, len(files), "zip")
            combined = "combined" in parts
            thumbs = [f"images/combined/{Path(r.name).with_suffix('.png').as_posix()}" if combined else
                      _data_uri(source / "images" / "input_image" / Path(r.name).with_suffix(".png"), 160)
                      for r in rows]
            uris = {k: _data_uri(v) for k, v in plot_files.items()}
            page = index_html(f"{project} / {run_dir.name}", config, summary, rows, uris, thumbs)
            page = add_decisions(run_dir, archive, top, page, f"{project} / {run_dir.name}", language, scratch_dir)
            archive.writestr(f"{top}/index.html", page)
    return out_path
