"""Recorded results and the line monitor: ``/v1/results`` (list, get, delete, export, kept files) and
``/v1/monitor``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response

from hamacho_core.api.runs import NotFound
from hamacho_core.api.schemas import Verdict
from hamacho_core.api.store_schemas import MonitorResponse, RecordedResult, ResultPage
from hamacho_core.store import ResultFilter, ResultStore, StoredResult, with_time_zone
from hamacho_core.store.monitor import (
    GROUPS,
    MIN_PICTURES,
    MIN_REFERENCE,
    ReferenceCache,
    drift_message,
    store_report,
)

__all__ = ["router"]

router = APIRouter(tags=["results"])

ResultId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a result's id, as GET /v1/results lists it")]


def result_filter(
    run_id: Annotated[str | None, Query(max_length=400, description="<project>:<run folder>")] = None,
    since: Annotated[datetime | None, Query(description="taken at or after (ISO 8601 with time zone)")] = None,
    until: Annotated[datetime | None, Query(description="taken before (ISO 8601 with time zone)")] = None,
    verdict: Verdict | None = None,
    part_id: Annotated[str | None, Query(max_length=200)] = None,
    line: Annotated[str | None, Query(max_length=200)] = None,
    shift: Annotated[str | None, Query(max_length=200)] = None,
) -> ResultFilter:
    """The filters of the results endpoints (a dependency)."""
    return ResultFilter(run_id, with_time_zone("since", since), with_time_zone("until", until), verdict, part_id, line,
                        shift)


Filters = Annotated[ResultFilter, Depends(result_filter)]


def _store(request: Request) -> ResultStore:
    return request.app.state.store.get()


def _out(result: StoredResult) -> RecordedResult:
    values = {k: v for k, v in vars(result).items() if k not in ("picture_path", "map_path")}
    return RecordedResult(**values, picture_kept=bool(result.picture_path), map_kept=bool(result.map_path))


@router.get("/results", response_model=ResultPage)
def list_results(
    request: Request,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1000, description="results per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31, description="results to skip")] = 0,
) -> ResultPage:
    """Recorded predictions, newest picture first, filtered by run, time range, verdict, part id, line, shift."""
    rows, total = _store(request).list(filters, limit, offset)
    return ResultPage(total=total, offset=offset, results=[_out(r) for r in rows])


@router.get("/results/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                             "description": "the matching results as a file"}})
def export_results(request: Request, filters: Filters, file_format: Annotated[
        Literal["csv", "parquet"], Query(alias="format", description="csv (UTF-8, opens in Excel) or parquet")] = "csv",
                   ) -> Response:
    """Every matching result as one CSV or Parquet file (defect regions as JSON text)."""
    data = _store(request).export(filters, file_format)
    media = "text/csv; charset=utf-8" if file_format == "csv" else "application/vnd.apache.parquet"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="results.{file_format}"'})


@router.get("/results/{result_id}", response_model=RecordedResult)
def get_result(request: Request, result_id: ResultId) -> RecordedResult:
    """One recorded prediction."""
    return _out(_store(request).get(result_id))


def _kept_file(request: Request, result_id: int, which: str) -> FileResponse:
    store = _store(request)
    result = store.get(result_id)
    path = store.file(result.picture_path if which == "picture" else result.map_path)
    if path is None:
        raise NotFound(f"result {result_id} has no kept {which}: pictures are kept only with "
                       "HAMACHO_KEEP_PICTURES=1 on the server")
    return FileResponse(path)


@router.get("/results/{result_id}/picture", response_class=FileResponse,
            responses={200: {"content": {"image/*": {}}, "description": "the picture as received"}})
def get_result_picture(request: Request, result_id: ResultId) -> FileResponse:
    """The picture as it was received (kept when the server keeps pictures)."""
    return _kept_file(request, result_id, "picture")


@router.get("/results/{result_id}/map", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}, "description": "normalized map, 0-255 gray"}})
def get_result_map(request: Request, result_id: ResultId) -> FileResponse:
    """Its normalized anomaly map as a gray PNG (0.5 = the pixel threshold at 128)."""
    return _kept_file(request, result_id, "map")


@router.delete("/results/{result_id}", response_model=RecordedResult)
def delete_result(request: Request, result_id: ResultId) -> RecordedResult:
    """Delete a recorded prediction and the picture and map it kept."""
    return _out(_store(request).delete(result_id))


METHOD = (f"Defect rate: share of 'defect' verdicts with its exact (Clopper-Pearson) 95 % interval. Drift: "
          "population stability index (PSI) of the raw scores against the run's good test pictures at training "
          "(bins: their quantiles); below 0.10 no change, 0.10-0.25 watch, above 0.25 alarm; no level with fewer "
          f"than {MIN_PICTURES} pictures in a period or {MIN_REFERENCE} reference pictures.")


@router.get("/monitor", response_model=MonitorResponse, tags=["monitor"])
def get_monitor(
    request: Request,
    filters: Filters,
    group_by: Literal[GROUPS] = "day",  # type: ignore[valid-type]
    timezone: Annotated[str, Query(max_length=64, description="IANA time zone of the days, e.g. Asia/Tokyo")] = "UTC",
) -> MonitorResponse:
    """Per run and per day (or shift): pictures scored, defect rate with its 95 % interval, score distribution
    beside the training-time test pictures', and a drift alarm (see `method`)."""
    state = request.app.state
    if getattr(state, "references", None) is None:
        state.references = ReferenceCache(resolve=lambda run_id: state.runs.find(run_id).run_dir)
    report = store_report(_store(request), state.references, filters, group_by, timezone)
    runs = []
    for run in report.runs:
        periods = [{**vars(p), "drift_message": drift_message(p.drift, p.psi, p.pictures, run.reference_pictures)}
                   for p in run.periods]
        runs.append({**vars(run), "periods": periods})
    return MonitorResponse(group_by=report.group_by, timezone=report.timezone, bins=report.bins,
                           psi_watch=report.psi_watch, psi_alarm=report.psi_alarm, confidence=report.confidence,
                           method=METHOD, runs=runs)
