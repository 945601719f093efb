"""Request and response bodies of the API (pydantic models; they make the OpenAPI schema at ``/openapi.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hamacho_core.backbone import DEFAULT_BACKBONE
from hamacho_core.choices import HOLDOUT_RANGE
from hamacho_core.config import ACCELERATORS, SPLIT_RANGE, TASK_TYPES
from hamacho_core.detectors import DETECTORS
from hamacho_core.jobs.records import ACTIVE, FINISHED
from hamacho_core.preprocess import MAX_SIDE, MIN_SIDE, RESIZE_MODES
from hamacho_core.store import VERDICTS
from hamacho_core.tiling import DEFAULT_MAX_TILES, TILING_MODES

__all__ = [
    "DefectRegion",
    "ErrorBody",
    "Health",
    "JobInfo",
    "PictureResult",
    "PredictResponse",
    "RunDetail",
    "RunList",
    "RunSummary",
    "Thresholds",
    "TrainRequest",
    "Verdict",
]

Verdict = Literal[VERDICTS]  # type: ignore[valid-type]  # the store's verdicts: "good", "defect"


class ErrorBody(BaseModel):
    """Every error answer: what went wrong and what to do."""

    error: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    device: str = Field(description="where models run: cpu or cuda (with the GPU's name)")


class Thresholds(BaseModel):
    """The run's saved thresholds: raw ones, and the normalized decision thresholds (0.5 = the fitted one)."""

    method: str = Field(description="adaptive (F1-optimal on labelled test pictures) or sigma6 (good pictures only)")
    image_threshold: float
    pixel_threshold: float
    image_norm: float
    pixel_norm: float


class RunSummary(BaseModel):
    id: str = Field(description="<project>:<run folder>, e.g. demo:20261130-101500")
    project: str
    model: str
    backbone: str
    created: str
    input_shape: list[int] = Field(description="(height, width) of the model input (the canvas when tiled)")
    tiles: int = Field(description="tiles per picture (1 = whole picture)")
    metrics: dict[str, float | None] = Field(description="image_auroc, image_f1, pixel_auroc, ... on the test split")
    metric_sources: dict[str, str] = Field(
        default_factory=dict, description="where each metric comes from: fitted (threshold chosen on the test "
        "pictures: optimistic), cross-fitted (threshold and head chosen on other folds) or hold-out")
    thresholds: Thresholds


class RunList(BaseModel):
    runs: list[RunSummary]


class RunDetail(RunSummary):
    input_shape_reason: str
    settings: dict = Field(description="training settings as saved in the run's config.yaml")
    detector: dict = Field(description="detector settings as saved in the run's config.yaml")


class DefectRegion(BaseModel):
    """A connected region above the pixel threshold, in the original picture's pixels (as defect_regions.csv)."""

    region: int
    x: int
    y: int
    width: int
    height: int
    area_px: int
    peak_score: float
    peak_x: int
    peak_y: int


class PictureResult(BaseModel):
    """One uploaded picture: scores and verdict, or ``problem`` when the file could not be used."""

    filename: str
    raw_score: float | None = None
    norm_score: float | None = None
    verdict: Verdict | None = None
    image_norm: float | None = None
    pixel_norm: float | None = None
    defect_regions: list[DefectRegion] = Field(default_factory=list)
    heat_map_png: str | None = Field(None, description="base64 PNG: heat map over the picture (maps=true)")
    mask_png: str | None = Field(None, description="base64 PNG: predicted mask, 0/255 (maps=true)")
    problem: str | None = Field(None, description="why this file was not scored (then no score is given)")
    result_id: int | None = Field(None, description="its id in the results store (GET /v1/results/{result_id}), "
                                                    "when recorded")


class PredictResponse(BaseModel):
    run_id: str
    results: list[PictureResult]
    warnings: list[str] = Field(default_factory=list)


class TrainRequest(BaseModel):
    """Training settings, as the CLI's options (the dataset is the project's)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: Literal[tuple(DETECTORS)] = "patchcore"  # type: ignore[valid-type]
    task_type: Literal[TASK_TYPES] = "segmentation"  # type: ignore[valid-type]
    accelerator: Literal[ACCELERATORS] = "auto"  # type: ignore[valid-type]
    image_size: int | None = Field(None, ge=MIN_SIDE, le=MAX_SIDE,
                                   description="square side, or long side with keep-aspect")
    resize: Literal[RESIZE_MODES] | None = None  # type: ignore[valid-type]
    tiling: Literal[TILING_MODES] = "auto"  # type: ignore[valid-type]
    max_tiles: int = Field(DEFAULT_MAX_TILES, ge=1, le=256)
    batch_size: int = Field(8, ge=1, le=1024)
    split: float = Field(0.2, ge=SPLIT_RANGE[0], le=SPLIT_RANGE[1],
                         description="share of good pictures held out for testing")
    seed: int = Field(420, ge=0, le=2**31 - 1)
    holdout_split: float = Field(0.0, ge=0.0, le=HOLDOUT_RANGE[1],
                                 description=f"share of the labelled test pictures sealed away as a hold-out, scored "
                                             f"at the end (0 = none; else {HOLDOUT_RANGE[0]}-{HOLDOUT_RANGE[1]})")
    no_bad_mode: bool = False
    backbone: str = Field(DEFAULT_BACKBONE, min_length=1, max_length=100)
    coreset_ratio: float = Field(0.1, ge=0.0001, le=1.0)
    max_bank_size: int | None = Field(None, ge=0, le=100_000_000, description="0 = no cap; default 131072")
    write_csv: bool = True


class JobInfo(BaseModel):
    id: str = Field(description="<project>:<run folder>; the finished run has the same id")
    project: str
    status: Literal[ACTIVE + FINISHED]  # type: ignore[valid-type]
    stage: str
    done: int
    total: int
    fraction: float = Field(description="share of the current stage done")
    created: str
    error: str
    run_id: str | None = Field(None, description="the run to predict with, once done")
    log: list[str]
