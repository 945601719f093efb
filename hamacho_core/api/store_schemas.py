"""Bodies of the results, monitor, pictures and run-management endpoints (pydantic; part of ``/openapi.json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hamacho_core.api.schemas import DefectRegion, PredictResponse, Verdict
from hamacho_core.store.monitor import DRIFT_LEVELS, GROUPS
from hamacho_core.uploads import KINDS

__all__ = ["CachedRuns", "DatasetPicture", "DatasetPictures", "MonitorPeriod", "MonitorResponse", "MonitorRun",
           "MultiPredictResponse", "PictureUpload", "RecordedResult", "ResultPage", "RunDeleted"]


class RecordedResult(BaseModel):
    """One recorded prediction (times in UTC)."""

    id: int
    recorded_at: datetime = Field(description="when the server wrote it")
    taken_at: datetime = Field(description="when the picture was taken (the caller's taken_at, else recorded_at)")
    source: Literal["api", "app", "cli"]
    run_id: str
    image_threshold: float = Field(description="the run's raw image threshold at the time")
    pixel_threshold: float
    image_norm: float = Field(description="normalized image threshold the verdict used")
    pixel_norm: float
    picture_sha256: str
    picture_name: str
    part_id: str | None
    line: str | None
    shift: str | None
    raw_score: float
    norm_score: float
    verdict: Verdict
    defect_regions: list[DefectRegion]
    picture_kept: bool = Field(description="the picture is kept: GET /v1/results/{id}/picture")
    map_kept: bool = Field(description="its normalized map is kept: GET /v1/results/{id}/map")


class ResultPage(BaseModel):
    total: int = Field(description="results matching the filters, in all")
    offset: int
    results: list[RecordedResult]


class MonitorPeriod(BaseModel):
    period: str = Field(description="the day (YYYY-MM-DD in the time zone asked) or the shift's name")
    pictures: int
    defects: int
    defect_rate: float
    defect_rate_low: float = Field(description="exact (Clopper-Pearson) 95 % interval of the defect rate")
    defect_rate_high: float
    mean_norm_score: float
    psi: float | None = Field(description="population stability index of the raw scores against the run's "
                                          "training-time good test pictures")
    drift: Literal[DRIFT_LEVELS]  # type: ignore[valid-type]
    drift_message: str = Field(description="the drift level in plain words, with the figures it rests on")
    histogram: list[int] = Field(description="pictures per normalized-score bin (edges: `bins`)")
    first: datetime
    last: datetime


class MonitorRun(BaseModel):
    run_id: str
    reference_pictures: int = Field(description="good test pictures of training (the drift reference)")
    reference_histogram: list[float] = Field(description="share of the good test pictures per bin")
    reference_defect_histogram: list[float] = Field(description="share of the defective test pictures per bin")
    periods: list[MonitorPeriod]


class MonitorResponse(BaseModel):
    group_by: Literal[GROUPS]  # type: ignore[valid-type]
    timezone: str
    bins: list[float] = Field(description="normalized-score histogram edges")
    psi_watch: float = Field(description="PSI at or above this: watch")
    psi_alarm: float = Field(description="PSI above this: alarm")
    confidence: float
    method: str
    runs: list[MonitorRun]


class MultiPredictResponse(BaseModel):
    runs: list[PredictResponse] = Field(description="one answer per run, in the order asked")


class DatasetPicture(BaseModel):
    path: str = Field(description="below the project's data folder, e.g. good/001.png or bad/scratch/003.png")
    kind: Literal[KINDS]  # type: ignore[valid-type]
    defect_type: str | None
    bytes: int
    width: int | None = None
    height: int | None = None
    sha256: str | None = None


class DatasetPictures(BaseModel):
    project: str
    total: int
    offset: int
    pictures: list[DatasetPicture]


class PictureUpload(BaseModel):
    written: list[str] = Field(description="stored, below the project's data folder")
    problems: list[dict[str, str]] = Field(description="files left out and why ({path, reason})")


class CachedRuns(BaseModel):
    loaded: list[str] = Field(description="run ids loaded in memory, least recently used first")
    capacity: int


class RunDeleted(BaseModel):
    id: str
    deleted: bool = True
