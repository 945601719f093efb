"""Endpoints: ``/health`` (no key) and ``/v1`` (runs, predict, train, jobs)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, File, Form, Path, Request, UploadFile

from hamacho_core import __version__
from hamacho_core.api.app import PayloadTooLarge
from hamacho_core.api.jobs import JobView
from hamacho_core.api.runs import NotFound, RunRecord, find_run, list_workspace_runs
from hamacho_core.api.schemas import (
    ErrorBody,
    Health,
    JobInfo,
    PictureResult,
    PredictResponse,
    RunDetail,
    RunList,
    RunSummary,
    Thresholds,
    TrainRequest,
)
from hamacho_core.errors import DataError
from hamacho_core.metrics import RunMetrics
from hamacho_core.report import heat_map
from hamacho_core.scoring import PictureScore, decode_image, with_thresholds
from hamacho_core.thresholds import Normalization

__all__ = ["health", "v1"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (401, "missing or wrong API key"), (404, "unknown run, project or job"), (413, "request too large"),
        (422, "invalid value"))}

health = APIRouter(tags=["health"])
v1 = APIRouter(responses=_ERRORS)

RunId = Annotated[str, Path(description="<project>:<run folder>, as GET /v1/runs lists it", max_length=300)]
JobId = Annotated[str, Path(description="<project>:<run folder>, as the train answer gives it", max_length=300)]


@health.get("/health", response_model=Health)
def get_health() -> Health:
    """Liveness, version and the device models run on (no key needed)."""
    import torch

    device = "cpu"
    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    return Health(version=__version__, device=device)


def _summary_fields(record: RunRecord) -> dict[str, Any]:
    config = record.config
    state, detector = config.get("state", {}), config.get("detector", {})
    grid = state.get("tile_grid")
    metrics = {k: (None if v is None else float(v)) for k, v in (config.get("metrics") or {}).items()
               if v is None or isinstance(v, int | float)}
    normalization = config["normalization"]
    return {"id": record.id, "project": record.project, "model": str(config["model"]),
            "backbone": str(detector.get("backbone", "")), "created": str(config.get("created", "")),
            "input_shape": [int(v) for v in state.get("input_shape", detector.get("input_shape") or [0, 0])],
            "tiles": int(grid["rows"]) * int(grid["cols"]) if grid else 1, "metrics": metrics,
            "metric_sources": {k: v for k, v in RunMetrics.HEADLINE_PROVENANCE.items() if k in metrics},
            "thresholds": Thresholds(**{k: normalization.get(k, 0.5) for k in Thresholds.model_fields})}


@v1.get("/runs", response_model=RunList, tags=["runs"])
def get_runs(request: Request) -> RunList:
    """Every complete run of every project of the workspace, newest first."""
    records = list_workspace_runs(request.app.state.workspace)
    return RunList(runs=[RunSummary(**_summary_fields(r)) for r in records])


@v1.get("/runs/{run_id}", response_model=RunDetail, tags=["runs"])
def get_run(request: Request, run_id: RunId) -> RunDetail:
    """One run with its settings."""
    record = find_run(request.app.state.workspace, run_id)
    settings = {k: v for k, v in (record.config.get("settings") or {}).items()}
    return RunDetail(**_summary_fields(record), settings=settings, detector=record.config.get("detector") or {},
                     input_shape_reason=str(record.config.get("state", {}).get("input_shape_reason", "")))


def _png(image: np.ndarray) -> str:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 array as PNG
        raise DataError("cannot encode a PNG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def _result(scored: PictureScore, image: np.ndarray, maps: bool) -> PictureResult:
    regions = [{k: v for k, v in r.items() if k != "output_name"} for r in scored.regions]
    result = PictureResult(filename=scored.name, raw_score=scored.raw_score, norm_score=scored.norm_score,
                           verdict=scored.verdict, image_norm=scored.image_norm, pixel_norm=scored.pixel_norm,
                           defect_regions=regions)
    if maps and scored.normalized_map is not None:
        result.heat_map_png = _png(heat_map(image, scored.normalized_map))
        result.mask_png = _png(np.uint8(scored.normalized_map > scored.pixel_norm) * 255)
    return result


@v1.post("/runs/{run_id}/predict", response_model=PredictResponse, tags=["predict"])
def predict(
    request: Request,
    run_id: RunId,
    files: Annotated[list[UploadFile], File(description="one or more pictures (PNG, JPEG, BMP, TIFF, WebP)")],
    image_norm: Annotated[float | None, Form(description="normalized image threshold (default: the run's)")] = None,
    pixel_norm: Annotated[float | None, Form(description="normalized pixel threshold (default: the run's)")] = None,
    maps: Annotated[bool, Form(description="also return the heat map and predicted mask as base64 PNG")] = False,
) -> PredictResponse:
    """Score pictures: the same scores as `hamacho inference`; a `problem` instead of a score for unusable files."""
    state = request.app.state
    record = find_run(state.workspace, run_id)
    limits = state.limits
    if len(files) > limits.max_files:
        raise PayloadTooLarge(f"{len(files)} files in one request, the limit is {limits.max_files}: send them in "
                              "several requests, or raise HAMACHO_MAX_FILES")
    warnings = with_thresholds(Normalization.from_dict(record.config["normalization"]), image_norm, pixel_norm)[1]
    results = []
    for index, upload in enumerate(files):  # one picture in memory at a time, whatever the request holds
        name = upload.filename or f"picture-{index + 1}"
        try:
            image = decode_image(upload.file.read(), name, limits.max_image_pixels)
        except DataError as error:
            results.append(PictureResult(filename=name, problem=str(error)))
            continue
        scored = state.models.score(record, [image], [name], image_norm, pixel_norm, keep_maps=maps)[0]
        results.append(_result(scored[0], image, maps))
    return PredictResponse(run_id=record.id, results=results, warnings=warnings)


def _job_info(view: JobView) -> JobInfo:
    return JobInfo(id=view.id, project=view.project, status=view.status, stage=view.stage, done=view.done,
                   total=view.total, fraction=view.fraction, created=view.created, error=view.error,
                   run_id=view.run_id, log=view.log)


@v1.post("/projects/{project}/train", response_model=JobInfo, status_code=202, tags=["train"])
def start_training(
    request: Request,
    project: Annotated[str, Path(description="project folder name in the workspace", max_length=200)],
    settings: TrainRequest | None = None,
) -> JobInfo:
    """Queue training on the project's dataset in the app's job system; poll GET /v1/jobs/{job_id}."""
    workspace = request.app.state.workspace
    folder = workspace / project
    if (not project or project.startswith(".") or any(c in project for c in "/\\:") or not folder.is_dir()):
        raise NotFound(f"no project {project!r} in the workspace: create it and upload its pictures in the app")
    options = (settings or TrainRequest()).model_dump()
    if options.get("max_bank_size") == 0:
        options["max_bank_size"] = None
    elif options.get("max_bank_size") is None:
        options.pop("max_bank_size")
    return _job_info(request.app.state.jobs.submit(folder, options))


@v1.get("/jobs/{job_id}", response_model=JobInfo, tags=["train"])
def get_job(request: Request, job_id: JobId) -> JobInfo:
    """A training job's progress; `run_id` is set once it is done."""
    return _job_info(request.app.state.jobs.get(job_id))


@v1.delete("/jobs/{job_id}", response_model=JobInfo, tags=["train"])
def cancel_job(request: Request, job_id: JobId) -> JobInfo:
    """Cancel a queued or running job (a finished job is left as it is)."""
    return _job_info(request.app.state.jobs.cancel(job_id))

