"""Runs as the old tool managed models: delete (refused while a job uses the run), load and unload in the model
cache, and what the cache holds; and one request scoring pictures against several runs (uploads or server paths
below ``HAMACHO_IMPORT_ROOTS``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile

from hamacho_core.api.errors import PayloadTooLarge
from hamacho_core.api.recording import Labels, labels_form, picture_files, score_and_record
from hamacho_core.api.runs import RunInUse, RunRecord
from hamacho_core.api.store_schemas import CachedRuns, MultiPredictResponse, RunDeleted
from hamacho_core.data import list_images
from hamacho_core.errors import ConfigError, WorkspaceError
from hamacho_core.workspace import check_import_source

__all__ = ["router"]

router = APIRouter()

RunId = Annotated[str, Path(description="<project>:<run folder>, as GET /v1/runs lists it", max_length=300)]
MAX_RUNS = 8  # runs in one multi-run predict request


def _users(record: RunRecord) -> list[str]:
    """Ids of the queued or running jobs that write or read this run."""
    from hamacho_core.jobs import ACTIVE, load_jobs

    project = record.run_dir.parent.parent
    if not (project / "jobs").is_dir():
        return []
    run = str(record.run_dir)
    return [job.id for job in load_jobs(project) if job.status in ACTIVE
            and (str(FilePath(job.run_dir).resolve()) == run or str(job.config.get("run", "")) == run)]


@router.delete("/runs/{run_id}", response_model=RunDeleted, tags=["runs"],
               responses={409: {"description": "a job uses the run"}})
def delete_run(request: Request, run_id: RunId) -> RunDeleted:
    """Delete a run folder (its model, evaluation and outputs); refused while a training or inference job uses it.
    Its recorded results stay in the results store."""
    state = request.app.state
    record = state.runs.find(run_id)
    users = _users(record)
    if users:
        raise RunInUse(f"run {run_id} is used by the job(s) {', '.join(users)}: wait for them or cancel them "
                       "(DELETE /v1/jobs/{job_id}), then delete the run")
    state.models.unload(record.run_dir)
    doomed = record.run_dir.with_name(f".deleting-{record.run_dir.name}")
    os.replace(record.run_dir, doomed)  # the run disappears at once, whole; the files go after
    shutil.rmtree(doomed, ignore_errors=True)
    return RunDeleted(id=record.id)


def _cached(request: Request) -> CachedRuns:
    state = request.app.state
    ids = {r.run_dir: r.id for r in state.runs.list()}
    return CachedRuns(loaded=[ids.get(p, str(p)) for p in state.models.loaded()], capacity=state.models.capacity)


@router.get("/models", response_model=CachedRuns, tags=["runs"])
def loaded_runs(request: Request) -> CachedRuns:
    """The runs loaded in memory (the old tool's served models)."""
    return _cached(request)


@router.post("/runs/{run_id}/load", response_model=CachedRuns, tags=["runs"])
def load_run(request: Request, run_id: RunId) -> CachedRuns:
    """Load a run into memory now (the old /servemodel); the least recently used one leaves beyond the capacity
    (HAMACHO_API_CACHE_SIZE)."""
    request.app.state.models.load(request.app.state.runs.find(run_id))
    return _cached(request)


@router.post("/runs/{run_id}/unload", response_model=CachedRuns, tags=["runs"])
def unload_run(request: Request, run_id: RunId) -> CachedRuns:
    """Drop a run from memory (the old /unservemodel); the next prediction loads it again."""
    request.app.state.models.unload(request.app.state.runs.find(run_id).run_dir)
    return _cached(request)


def _server_pictures(paths: list[str], max_files: int) -> tuple[list[FilePath], list[str]]:
    """The picture files named by server paths (files or folders) below HAMACHO_IMPORT_ROOTS, with their names."""
    found, names = [], []
    for given in paths:
        try:
            source = check_import_source(given)
        except WorkspaceError as error:
            raise ConfigError(str(error)) from error
        if source.is_dir():
            pictures = list_images(source, [])
            found += pictures
            names += [p.relative_to(source).as_posix() for p in pictures]
        elif source.is_file():
            found.append(source)
            names.append(source.name)
        else:
            raise ConfigError(f"{given} does not exist on the server")
        if len(found) > max_files:
            raise PayloadTooLarge(f"more than {max_files} pictures in the paths given, the limit is {max_files}: "
                                  "name fewer files or smaller folders, or raise HAMACHO_MAX_FILES")
    return found, names


@router.post("/predict", response_model=MultiPredictResponse, tags=["predict"])
def predict_many(
    request: Request,
    labels: Annotated[Labels, Depends(labels_form)],
    run_ids: Annotated[list[str], Form(description=f"one to {MAX_RUNS} run ids; each picture is scored by each")],
    files: Annotated[list[UploadFile] | None, File(description="pictures to upload")] = None,
    paths: Annotated[list[str] | None, Form(description="server files or folders below HAMACHO_IMPORT_ROOTS")] = None,
    image_norm: Annotated[float | None, Form(description="normalized image threshold (default: each run's)")] = None,
    pixel_norm: Annotated[float | None, Form(description="normalized pixel threshold (default: each run's)")] = None,
    maps: Annotated[bool, Form(description="also return heat maps and masks as base64 PNG")] = False,
) -> MultiPredictResponse:
    """Score pictures (uploaded, or server paths as the old tool took) against several runs at once: the old
    multi-category inferencer. Recorded like POST /v1/runs/{run_id}/predict, once per run."""
    state = request.app.state
    limits = state.limits
    if not 1 <= len(run_ids) <= MAX_RUNS or len(set(run_ids)) != len(run_ids):
        raise ConfigError(f"give 1 to {MAX_RUNS} different run_ids (got {len(run_ids)})")
    records = [state.runs.find(r) for r in run_ids]  # every run checked before any picture is read
    uploads = files or []
    server, names = _server_pictures(paths or [], limits.max_files) if paths else ([], [])
    if not uploads and not server:
        raise ConfigError("no picture: send files, or paths of server files or folders below HAMACHO_IMPORT_ROOTS")
    if len(uploads) + len(server) > limits.max_files:
        raise PayloadTooLarge(f"{len(uploads) + len(server)} pictures in one request, the limit is "
                              f"{limits.max_files}: send them in several requests, or raise HAMACHO_MAX_FILES")
    received = [(u.filename or f"picture-{i + 1}", u.file.read()) for i, u in enumerate(uploads)]
    answers = []
    for record in records:
        pictures = [*received, *picture_files(server, names, limits.max_upload_bytes)]
        answers.append(score_and_record(state, record, pictures, image_norm, pixel_norm, maps, labels))
    return MultiPredictResponse(runs=answers)
