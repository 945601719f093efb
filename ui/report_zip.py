"""The report ZIP and its offline ``index.html`` (plain functions: no streamlit, tested directly).

The ZIP holds the parts the analyst chose from the run's ``test_predictions`` tree (the core's writers made them),
the settings, and ``index.html`` (template and style in ``assets/``): metrics, the core's plots and a table of
every test image with a thumbnail, score and verdict. When the run's saved thresholds were moved after training,
the core's :func:`hamacho_core.report.rethreshold` redraws the pictures from the run's saved maps, so pictures, table
and metrics agree.
"""

from __future__ import annotations

import base64
import html
import string
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from hamacho_core.errors import ConfigError
from hamacho_core.imageio import read_image
from hamacho_core.labels import HISTORY
from hamacho_core.metrics import RunMetrics, image_metrics, outcomes
from hamacho_core.persistence import read_config
from hamacho_core.progress import ProgressCallback
from hamacho_core.report import TEST_DIR, read_metrics, rethreshold
from hamacho_core.thresholds import Normalization
from ui.decisions_report import add_decisions
from ui.images import fit

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
_REDRAWN = ("combined", "masks")  # parts that depend on the thresholds (heat maps do not)
ASSETS = Path(__file__).resolve().parents[1] / "assets"
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
    results = outcomes(frame["gt"].to_numpy(), frame["norm_score"].to_numpy(), image_norm)
    return [ReportRow(str(item.output_name), str(item.defect_type), int(item.gt), float(item.raw_score),
                      float(item.norm_score), "defect" if float(item.norm_score) > image_norm else "good", result)
            for item, result in zip(frame.itertuples(), results, strict=True)]


def _drawn_at(run_dir: Path) -> tuple[float, float]:
    """(image_norm, pixel_norm) the pictures of test_predictions were drawn at."""
    frame = pd.read_csv(run_dir / TEST_DIR / "metrics" / "test_outputs.csv", encoding="utf-8-sig", nrows=1)
    return float(frame["image_norm"].iloc[0]), float(frame["pixel_norm"].iloc[0])


def _data_uri(path: Path, side: int | None = None) -> str:
    """A PNG/JPEG file as a data: URI (thumbnails shrunk to ``side`` and re-encoded as JPEG)."""
    if side is None:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    image = fit(read_image(path), side)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii") if ok else ""


def _figures(summary: RunMetrics) -> list[tuple[str, str]]:
    image = summary.image
    rows = [("threshold (normalized)", f"{image.threshold:.3f}")]
    for key in ("auroc", "average_precision"):  # threshold-free rankings of the test pictures' scores
        value = getattr(image, key)
        rows.append((f"image {key}", "–" if value is None else f"{value:.3f}"))
    for key in ("f1", "precision", "recall", "accuracy"):  # at the threshold chosen on the same pictures
        rows.append((f"image {key} (fitted: optimistic)", f"{getattr(image, key):.3f}"))
    rows += [("TP / FP / TN / FN (fitted)", f"{image.tp} / {image.fp} / {image.tn} / {image.fn}")]
    estimate = summary.image_cross_fitted
    if estimate:
        rows.append((f"cross-fitted F1 ({estimate.n_folds} folds)", f"{estimate.f1:.3f}"))
    if summary.pixel is not None:
        for key in ("auroc", "aupro", "f1"):
            if getattr(summary.pixel, key) is not None:
                rows.append((f"pixel {key}", f"{getattr(summary.pixel, key):.3f}"))
    return rows


def index_html(title: str, config: dict[str, Any], summary: RunMetrics, rows: Sequence[ReportRow],
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
    template = string.Template((ASSETS / "report.html").read_text(encoding="utf-8"))
    return template.substitute(title=esc(title), css=(ASSETS / "report.css").read_text(encoding="utf-8"),
                               table=table, figures=figures, count=len(rows), body=body)


def _summary(run_dir: Path, rows: Sequence[ReportRow], image_norm: float) -> RunMetrics:
    """The run's metrics.json with the image figures recomputed at the saved threshold."""
    labels = np.array([r.label for r in rows])
    image = image_metrics(labels, np.array([r.norm_score for r in rows]), image_norm)
    saved = read_metrics(run_dir)
    return RunMetrics(image) if saved is None else replace(saved, image=image)


def build_report_zip(run_dir: Path, out_path: Path, parts: Sequence[str], project: str,
                     progress: ProgressCallback | None = None, language: str = "en") -> Path:
    """Write the report ZIP of a run to ``out_path`` and return it.

    Args:
        run_dir: the trained run.
        parts: keys of PARTS to include (index.html is always included).
        project: project name (the ZIP's top folder is ``<project>_<run>``).
        language: the UI's language, for the decision section and summary.png.

    Raises:
        ConfigError: an unknown part. ModelFileError: the run's files are missing or damaged.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ConfigError(f"unknown report parts: {sorted(unknown)}: choose among {', '.join(PARTS)}")
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    normalization = Normalization.from_dict(config["normalization"])
    rows = report_rows(run_dir, normalization.normalized_image_threshold)
    top = report_name(project, run_dir.name)
    source = run_dir / TEST_DIR
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        pictures = source
        redraw = bool(set(parts) & set(_REDRAWN)) and _drawn_at(run_dir) != (normalization.normalized_image_threshold,
                                                                            normalization.normalized_pixel_threshold)
        if redraw:
            pictures = scratch_dir / "redrawn"
        plot_files = rethreshold(run_dir, normalization, pictures if redraw else scratch_dir / "plots", redraw)
        plot_files.pop("pixel_roc", None)
        summary = _summary(run_dir, rows, normalization.normalized_image_threshold)
        files: list[tuple[Path, str]] = []
        for part in parts:
            base = pictures if part in _REDRAWN else source
            for folder in PARTS[part]:
                files += [(p, f"{top}/{p.relative_to(base).as_posix()}") for p in sorted((base / folder).rglob("*"))
                          if p.is_file()]
        if "settings" in parts:
            files.append((run_dir / "config.yaml", f"{top}/settings/config.yaml"))
        history = run_dir.parent.parent / HISTORY  # the project's label history (<project>/runs/<run>)
        if history.is_file():
            files.append((history, f"{top}/labels/history.jsonl"))
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
