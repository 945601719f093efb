"""Record the rows of a finished inference (``pred_outputs.csv`` of ``hamacho inference`` / the app's Inference
page, or of ``hamacho score``) in the results store: the same fields as the API records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from hamacho_core.store.store import VERDICTS, NewResult, ResultStore, picture_sha256
from hamacho_core.workspace import PROJECT_RUNS

__all__ = ["CHUNK", "record_rows", "record_table", "run_id_for", "workspace_of"]

CHUNK = 500  # rows per transaction


def run_id_for(run_dir: str | Path) -> str:
    """A run's id in the store, as the API names it: ``<project>:<run folder>`` for a run of the app's workspace,
    ``<parent folder>:<run folder>`` for one elsewhere (``hamacho train --result-path ROOT``:
    ``<category>:<model>``)."""
    run_dir = Path(run_dir).resolve()
    if run_dir.parent.name == PROJECT_RUNS:
        return f"{run_dir.parent.parent.name}:{run_dir.name}"
    return f"{run_dir.parent.name}:{run_dir.name}"


def workspace_of(run_dir: str | Path) -> Path | None:
    """The workspace holding a run (``<workspace>/<project>/runs/<run>``), or None for a run elsewhere."""
    run_dir = Path(run_dir).resolve()
    return run_dir.parents[2] if run_dir.parent.name == PROJECT_RUNS else None


def _regions(text: object) -> list[dict[str, Any]]:
    if isinstance(text, list):
        return text
    try:
        found = json.loads(str(text)) if text not in (None, "") else []
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def record_rows(store: ResultStore, run_dir: str | Path, rows: Iterable[Mapping[str, Any]], source: str,
                regions: Mapping[str, list[dict[str, Any]]] | None = None, taken_at: datetime | None = None) -> int:
    """Record scored rows (the columns of ``report.PRED_COLUMNS``, optionally ``defect_regions`` as JSON) with the
    run's thresholds at this moment; problem rows are skipped. A transaction per :data:`CHUNK` rows.

    Returns:
        How many rows were recorded.
    Raises:
        StoreError: a write failed (the rows of that chunk are not recorded).
    """
    from hamacho_core.persistence import read_config

    normalization = read_config(run_dir)["normalization"]
    identifier = run_id_for(run_dir)
    batch, recorded = [], 0
    for row in rows:
        if row.get("verdict") not in VERDICTS:
            continue
        path = Path(str(row.get("filepath", "")))
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        name = str(row.get("output_name") or path.name)
        batch.append(NewResult(identifier, name, picture_sha256(data), float(row["raw_score"]),
                               float(row["norm_score"]), str(row["verdict"]), float(normalization["image_threshold"]),
                               float(normalization["pixel_threshold"]), float(row["image_norm"]),
                               float(row["pixel_norm"]),
                               (regions or {}).get(name) or _regions(row.get("defect_regions")), taken_at=taken_at,
                               source=source, picture=data if store.keep_pictures and data else None))
        if len(batch) >= CHUNK:
            recorded += len(store.add(batch))
            batch = []
    return recorded + len(store.add(batch))


def record_table(store: ResultStore, run_dir: str | Path, output: str | Path, source: str) -> int:
    """Record an inference output folder: ``metrics/pred_outputs.csv`` (+ ``metrics/defect_regions.csv`` when
    written) of ``hamacho inference``, or ``pred_outputs.csv`` of ``hamacho score``."""
    import pandas as pd

    output = Path(output)
    table = next((p for p in (output / "metrics" / "pred_outputs.csv", output / "pred_outputs.csv") if p.is_file()),
                 None)
    if table is None:
        return 0
    frame = pd.read_csv(table, encoding="utf-8-sig", keep_default_na=False)
    regions: dict[str, list[dict[str, Any]]] = {}
    region_file = output / "metrics" / "defect_regions.csv"
    if region_file.is_file():
        for row in pd.read_csv(region_file, encoding="utf-8-sig").to_dict("records"):
            name = str(row.pop("output_name"))
            region = {k: (float(v) if k == "peak_score" else int(v)) for k, v in row.items()}
            regions.setdefault(name, []).append(region)
    return record_rows(store, run_dir, frame.to_dict("records"), source, regions)


def run_dir_for(workspace: str | Path, run_id: str) -> Path | None:
    """The run folder of a ``<project>:<run folder>`` id in the workspace, when it is still there."""
    project, sep, folder = run_id.partition(":")
    if sep and project and folder and not any(c in project + folder for c in "/\\\0") and ".." not in (project,
                                                                                                       folder):
        run_dir = Path(workspace) / project / PROJECT_RUNS / folder
    else:
        return None
    return run_dir if (run_dir / "config.yaml").is_file() else None
