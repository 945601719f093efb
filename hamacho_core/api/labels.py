"""The label routes: relabel a picture of a project's dataset, list the history, undo (``hamacho_core.labels``).

Changes made here are the history lines the app shows, with ``who`` = ``api``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hamacho_core import labels
from hamacho_core.api.routes import ERRORS
from hamacho_core.api.runs import NotFound, project_folder_or_404

__all__ = ["LabelChangeOut", "LabelHistory", "LabelRequest", "router"]

WHO = "api"

router = APIRouter(responses=ERRORS, tags=["labels"])
ProjectName = Annotated[str, Path(description="project folder name in the workspace", max_length=200)]


class LabelRequest(BaseModel):
    """One picture of the project's dataset and its new label."""

    model_config = ConfigDict(extra="forbid")
    picture: str = Field(min_length=1, max_length=1000, description="the picture's path in the project's data folder, "
                         "e.g. good/001.png or bad/scratch/002.png (as GET .../labels and the run's outputs name it)")
    label: Literal[labels.LABELS]  # type: ignore[valid-type]
    defect_type: str | None = Field(None, max_length=200, description="the defect type (new or existing) when "
                                    "label is defect")
    why: str = Field("", max_length=2000, description="the reason; required when label is excluded")


class LabelChangeOut(BaseModel):
    id: str
    when: str = Field(description="ISO 8601, UTC")
    who: str
    action: Literal["relabel", "add", "undo"]
    sha256: str = Field(description="SHA-256 of the picture's bytes")
    picture: str = Field(description="where the picture is after the change, in the project's data folder")
    before: str = Field(description="good, defect:<type>, excluded (new for an added picture)")
    after: str
    why: str
    moves: list[tuple[str, str]] = Field(description="files moved (from, to), in the project's data folder")
    undoes: str | None = None


class RefusalOut(BaseModel):
    id: str
    when: str
    who: str
    name: str
    reason: str


class LabelHistory(BaseModel):
    changes: list[LabelChangeOut] = Field(description="label changes, oldest first")
    refused: list[RefusalOut] = Field(description="imports refused and not yet dismissed")


def _out(change: labels.LabelChange) -> LabelChangeOut:
    return LabelChangeOut(**change.to_dict())


@router.get("/projects/{project}/labels", response_model=LabelHistory)
def list_labels(request: Request, project: ProjectName) -> LabelHistory:
    """The project's label history (changes and refused imports), oldest first."""
    folder = project_folder_or_404(request.app.state.workspace, project)
    return LabelHistory(changes=[_out(c) for c in labels.changes(folder)],
                        refused=[RefusalOut(**vars(r)) for r in labels.open_refusals(folder)])


@router.post("/projects/{project}/labels", response_model=LabelChangeOut, status_code=201)
def relabel(request: Request, project: ProjectName, body: LabelRequest) -> LabelChangeOut:
    """Relabel a picture: good, defect (with its type, new or existing) or excluded (with why); its mask follows."""
    folder = project_folder_or_404(request.app.state.workspace, project)
    return _out(labels.relabel(folder, body.picture, body.label, body.defect_type, body.why, WHO))


@router.post("/projects/{project}/labels/{change_id}/undo", response_model=LabelChangeOut, status_code=201)
def undo(request: Request, project: ProjectName,
         change_id: Annotated[str, Path(description="the change's id, as GET .../labels lists it",
                                        max_length=64)]) -> LabelChangeOut:
    """Undo a label change: its files move back; the undo is a line of the history too."""
    folder = project_folder_or_404(request.app.state.workspace, project)
    if not any(c.id == change_id for c in labels.changes(folder)):
        raise NotFound(f"no label change {change_id!r} in project {project!r}: GET /v1/projects/{{project}}/labels "
                       "lists them")
    return _out(labels.undo(folder, change_id, WHO))
