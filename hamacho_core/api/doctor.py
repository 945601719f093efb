"""The data doctor route: the findings of a project's dataset (``hamacho_core.doctor``), each with its action.

Pictures are named by their path in the project's data folder, as the label routes take them: a finding's action
is one ``POST /v1/projects/{project}/labels`` away (exclude, relabel).
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hamacho_core.api.routes import ERRORS
from hamacho_core.api.runs import project_folder_or_404
from hamacho_core.workspace import project_data_dir

__all__ = ["DoctorAnswer", "DoctorRequest", "router"]

router = APIRouter(responses=ERRORS, tags=["labels"])


class DoctorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: bool = Field(False, description="also score each good picture against the others with the backbone "
                                              "(unlike-good, defect-like-good; minutes on a CPU for large sets)")


class FindingOut(BaseModel):
    kind: str = Field(description="duplicate, near_duplicate, unlike_good, defect_like_good, mask_empty, mask_size, "
                                  "mask_large, odd_size, odd_channels, odd_brightness, blurred")
    severity: str
    pictures: list[str] = Field(description="paths in the project's data folder; the action applies to the first")
    action: str = Field(description="exclude, relabel_good, relabel_defect or check")
    values: dict[str, Any]


class DoctorAnswer(BaseModel):
    n_pictures: int
    seconds: float
    findings: list[FindingOut]


@router.post("/projects/{project}/doctor", response_model=DoctorAnswer)
def doctor(request: Request, project: Annotated[str, Path(description="project folder name in the workspace",
                                                           max_length=200)],
           body: DoctorRequest | None = None) -> DoctorAnswer:
    """Examine the project's dataset: duplicates, pictures unlike the others, empty or odd masks, odd pictures."""
    from hamacho_core.doctor import DoctorConfig, examine

    data = project_data_dir(project_folder_or_404(request.app.state.workspace, project)).resolve()
    report = examine(data, "folder", DoctorConfig(features=(body or DoctorRequest()).features))

    def relative(path: str) -> str:
        resolved = FilePath(path).resolve()
        return resolved.relative_to(data).as_posix() if resolved.is_relative_to(data) else FilePath(path).name

    return DoctorAnswer(n_pictures=report.n_pictures, seconds=round(report.seconds, 2), findings=[
        FindingOut(kind=f.kind, severity=f.severity, pictures=[relative(p) for p in f.pictures], action=f.action,
                   values=f.values) for f in report.findings])
