"""Scoring through the API and recording what it said: the store behind the endpoints, the labels a caller gives
(part id, line, shift, when the picture was taken), and one scoring flow for ``/runs/{id}/predict`` and
``/predict`` (uploads or server paths, one or several runs).

Recording follows ``HAMACHO_RECORD_RESULTS`` (default on) unless a request says ``record``; a store that cannot be
written never costs the answer: the scores come back with a warning that they were not recorded.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import Form

from hamacho_core.api.runs import RunRecord
from hamacho_core.api.schemas import PictureResult, PredictResponse
from hamacho_core.drawing import heat_map
from hamacho_core.errors import DataError, HamachoError
from hamacho_core.scoring import PictureScore, decode_image, with_thresholds
from hamacho_core.store import (
    RECORD_VARIABLE,
    NewResult,
    ResultStore,
    env_flag,
    picture_sha256,
    with_time_zone,
)
from hamacho_core.thresholds import Normalization

__all__ = ["Labels", "StoreHandle", "labels_form", "picture_files", "score_and_record"]

logger = logging.getLogger("hamacho.api")


@dataclass(frozen=True)
class Labels:
    """What the caller says about the pictures of a request (recorded with each result)."""

    part_id: str | None = None
    line: str | None = None
    shift: str | None = None
    taken_at: datetime | None = None
    record: bool | None = None  # None: HAMACHO_RECORD_RESULTS


def labels_form(
    part_id: Annotated[str | None, Form(max_length=200, description="the part id (recorded)")] = None,
    line: Annotated[str | None, Form(max_length=200, description="production line (recorded)")] = None,
    shift: Annotated[str | None, Form(max_length=200, description="shift name (recorded; GET /v1/monitor groups "
                                                                   "by it with group_by=shift)")] = None,
    taken_at: Annotated[datetime | None, Form(description="when the pictures were taken, ISO 8601 with time zone "
                                                          "(default: now)")] = None,
    record: Annotated[bool | None, Form(description="record the results (default: the server's "
                                                    "HAMACHO_RECORD_RESULTS, on unless set to 0)")] = None,
) -> Labels:
    """The recording fields of a predict form (a dependency, shared by the predict endpoints)."""
    return Labels(part_id or None, line or None, shift or None, with_time_zone("taken_at", taken_at), record)


class StoreHandle:
    """The results store of a server, opened on first use (a database that is down does not stop the server)."""

    def __init__(self, workspace: Path, store: ResultStore | None = None, record: bool | None = None):
        self.workspace = workspace
        self.record = env_flag(RECORD_VARIABLE, True) if record is None else record
        self._store = store
        self._lock = threading.Lock()

    def get(self) -> ResultStore:
        """Raises: StoreError / ConfigError when the store cannot be opened."""
        with self._lock:
            if self._store is None:
                self._store = ResultStore.for_workspace(self.workspace)
                if self._store.keep_pictures:  # files a crash left without their row, swept once per server start
                    threading.Thread(target=self._sweep, args=(self._store,), daemon=True).start()
            return self._store

    @staticmethod
    def _sweep(store: ResultStore) -> None:
        try:
            if removed := store.sweep_orphans():
                logger.info("removed %d kept file(s) without a recorded result", removed)
        except (HamachoError, OSError) as error:
            logger.warning("could not sweep the kept pictures: %s", error)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()


def picture_files(paths: Iterable[Path], names: Iterable[str], max_bytes: int) -> Iterator[tuple[str, bytes | str]]:
    """(name, bytes) of server files, or (name, problem) for one too large or unreadable (read one at a time)."""
    for path, name in zip(paths, names, strict=True):
        try:
            size = path.stat().st_size
            if size > max_bytes:
                yield name, f"{size:,} bytes, the limit is {max_bytes:,} (HAMACHO_MAX_UPLOAD_BYTES)"
                continue
            yield name, path.read_bytes()
        except OSError as error:
            yield name, f"cannot read {path}: {error.strerror or error}"


def _png(image: np.ndarray) -> str:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 array as PNG
        raise DataError("cannot encode a PNG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def encode_maps(image: np.ndarray, scored: PictureScore) -> tuple[str, str]:
    """(heat map over the picture, predicted mask 0/255) as base64 PNG."""
    return (_png(heat_map(image, scored.normalized_map)),
            _png(np.uint8(scored.normalized_map > scored.pixel_norm) * 255))


def _result(scored: PictureScore, image: np.ndarray, maps: bool) -> PictureResult:
    regions = [{k: v for k, v in r.items() if k != "output_name"} for r in scored.regions]
    result = PictureResult(filename=scored.name, raw_score=scored.raw_score, norm_score=scored.norm_score,
                           verdict=scored.verdict, image_norm=scored.image_norm, pixel_norm=scored.pixel_norm,
                           defect_regions=regions)
    if maps and scored.normalized_map is not None:
        result.heat_map_png, result.mask_png = encode_maps(image, scored)
    return result


def score_and_record(state: Any, record: RunRecord, pictures: Iterable[tuple[str, bytes | str]],
                     image_norm: float | None, pixel_norm: float | None, maps: bool,
                     labels: Labels) -> PredictResponse:
    """Score each picture (one in memory at a time) with the run, then record the scored ones in one transaction.

    Args:
        state: the app's state (models, limits, store).
        pictures: (name, file bytes) or (name, problem text) pairs.
    """
    handle: StoreHandle = state.store
    # Thresholds checked before anything is read (422 for a bad value), with the CLI's warnings.
    warnings = with_thresholds(Normalization.from_dict(record.config["normalization"]), image_norm, pixel_norm)[1]
    recording = handle.record if labels.record is None else labels.record
    keep = recording and _keeps(handle)
    results, rows = [], []
    for name, data in pictures:
        if isinstance(data, str):
            results.append(PictureResult(filename=name, problem=data))
            continue
        try:
            image = decode_image(data, name, state.limits.max_image_pixels)
        except DataError as error:
            results.append(PictureResult(filename=name, problem=str(error)))
            continue
        scored_list, normalization, _ = state.models.score(record, [image], [name], image_norm, pixel_norm,
                                                                   keep_maps=maps or keep)
        scored = scored_list[0]
        results.append(_result(scored, image, maps))
        if recording:
            rows.append(NewResult(
                record.id, name, picture_sha256(data), scored.raw_score, scored.norm_score, scored.verdict,
                normalization.image_threshold, normalization.pixel_threshold, scored.image_norm, scored.pixel_norm,
                [region.model_dump() for region in results[-1].defect_regions],
                labels.part_id, labels.line, labels.shift,
                labels.taken_at, "api", data if keep else None, scored.normalized_map if keep else None))
    if rows:
        try:
            ids = iter(handle.get().add(rows))
            for result in results:
                if result.problem is None:
                    result.result_id = next(ids)
        except HamachoError as error:
            logger.warning("results not recorded: %s", error)
            warnings = [*warnings, f"the results were scored but not recorded: {error}"]
    return PredictResponse(run_id=record.id, results=results, warnings=warnings)


def _keeps(handle: StoreHandle) -> bool:
    try:
        return handle.get().keep_pictures
    except HamachoError:
        return False
