"""Endpoints: ``/health`` (no key) and ``/v1`` (runs, predict, train, jobs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile

from hamacho_core import __version__
from hamacho_core.api.errors import PayloadTooLarge
from hamacho_core.api.jobs import JobView
from hamacho_core.api.recording import Labels, labels_form, score_and_record
from hamacho_core.api.runs import RunRecord, project_folder_or_404
from hamacho_core.api.schemas import (
    ErrorBody,
    Health,
    JobInfo,
    PredictResponse,
    RunDetail,
    RunList,
    RunSummary,
    Thresholds,
    TrainRequest,
)
from hamacho_core.choices import bank_size_limit
from hamacho_core.metrics import RunMetrics

__all__ = ["health", "v1"]

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (401, "missing or wrong API key"), (404, "unknown run, project or job"), (413, "request too large"),
        (422, "invalid value"))}


health = APIRouter(tags=["health"])
v1 = APIRouter(responses=ERRORS)

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
    records = request.app.state.runs.list()
    return RunList(runs=[RunSummary(**_summary_fields(r)) for r in records])


@v1.get("/runs/{run_id}", response_model=RunDetail, tags=["runs"])
def get_run(request: Request, run_id: RunId) -> RunDetail:
    """One run with its settings."""
    record = request.app.state.runs.find(run_id)
    settings = {k: v for k, v in (record.config.get("settings") or {}).items()}
    return RunDetail(**_summary_fields(record), settings=settings, detector=record.config.get("detector") or {},
                     input_shape_reason=str(record.config.get("state", {}).get("input_shape_reason", "")))


@v1.post("/runs/{run_id}/predict", response_model=PredictResponse, tags=["predict"])
def predict(
    request: Request,
    run_id: RunId,
    files: Annotated[list[UploadFile], File(description="one or more pictures (PNG, JPEG, BMP, TIFF, WebP)")],
    labels: Annotated[Labels, Depends(labels_form)],
    image_norm: Annotated[float | None, Form(description="normalized image threshold (default: the run's)")] = None,
    pixel_norm: Annotated[float | None, Form(description="normalized pixel threshold (default: the run's)")] = None,
    maps: Annotated[bool, Form(description="also return the heat map and predicted mask as base64 PNG")] = False,
) -> PredictResponse:
    """Score pictures: the same scores as `hamacho inference`; a `problem` instead of a score for unusable files.

    Each scored picture is recorded in the results store (unless `record` is false or the server records nothing:
    HAMACHO_RECORD_RESULTS=0), with the part id, line and shift given here; `result_id` is its id there."""
    state = request.app.state
    record = state.runs.find(run_id)
    limits = state.limits
    if len(files) > limits.max_files:
        raise PayloadTooLarge(f"{len(files)} files in one request, the limit is {limits.max_files}: send them in "
                              "several requests, or raise HAMACHO_MAX_FILES")
    pictures = ((upload.filename or f"picture-{index + 1}", upload.file.read()) for index, upload in enumerate(files))
    return score_and_record(state, record, pictures, image_norm, pixel_norm, maps, labels)


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
    folder = project_folder_or_404(request.app.state.workspace, project)
    options = (settings or TrainRequest()).model_dump()
    if options.get("max_bank_size") is None:
        options.pop("max_bank_size")  # the default budget
    else:
        options["max_bank_size"] = bank_size_limit(options["max_bank_size"])
    return _job_info(request.app.state.jobs.submit(folder, options))


@v1.get("/jobs/{job_id}", response_model=JobInfo, tags=["train"])
def get_job(request: Request, job_id: JobId) -> JobInfo:
    """A training job's progress; `run_id` is set once it is done."""
    return _job_info(request.app.state.jobs.get(job_id))


@v1.delete("/jobs/{job_id}", response_model=JobInfo, tags=["train"])
def cancel_job(request: Request, job_id: JobId) -> JobInfo:
    """Cancel a queued or running job (a finished job is left as it is)."""
    return _job_info(request.app.state.jobs.cancel(job_id))

