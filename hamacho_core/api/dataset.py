"""Pictures of a project's dataset, as the old tool's /addimage, /listimages, /imagedetails and /delimage:
add (the app's upload checks, :mod:`hamacho_core.api.upload_door`), list, details and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParameter

from hamacho_core.api.errors import PayloadTooLarge
from hamacho_core.api.runs import NotFound, project_folder_or_404
from hamacho_core.api.store_schemas import DatasetPicture, DatasetPictures, PictureUpload
from hamacho_core.api.upload_door import KINDS, save_pictures
from hamacho_core.errors import HamachoError
from hamacho_core.imageio import is_image_file, read_image
from hamacho_core.labels import record_refusals
from hamacho_core.limits import Limits
from hamacho_core.store import picture_sha256
from hamacho_core.workspace import project_data_dir

__all__ = ["router"]

API_USER = "api"  # the "who" of the history lines written through the API

router = APIRouter(tags=["pictures"])

Project = Annotated[str, PathParameter(description="project folder name in the workspace", max_length=200)]
PicturePath = Annotated[str, PathParameter(description="below the project's data folder, as GET .../pictures lists it",
                                           max_length=1000)]
Kind = Literal[KINDS]  # type: ignore[valid-type]


def _picture(data_dir: Path, path: Path, details: bool = False) -> DatasetPicture:
    relative = path.relative_to(data_dir)
    kind = relative.parts[0]
    defect_type = relative.parts[1] if kind != "good" and len(relative.parts) > 2 else None
    picture = DatasetPicture(path=relative.as_posix(), kind=kind, defect_type=defect_type, bytes=path.stat().st_size)
    if details:
        data = path.read_bytes()
        picture.sha256 = picture_sha256(data)
        try:
            picture.height, picture.width = read_image(path).shape[:2]
        except HamachoError:
            pass  # listed with its size; the Data page names the problem
    return picture


def _pictures(data_dir: Path, kind: str | None) -> list[Path]:
    kinds = [kind] if kind else list(KINDS)
    return [p for k in kinds if (data_dir / k).is_dir() for p in sorted((data_dir / k).rglob("*"))
            if p.is_file() and is_image_file(p) and not any(part.startswith(".") for part in p.parts[-3:])]


def _find(data_dir: Path, path: str) -> Path:
    target = (data_dir / path).resolve()
    if (not target.is_relative_to(data_dir.resolve()) or not target.is_file() or not is_image_file(target)
            or target.relative_to(data_dir.resolve()).parts[0] not in KINDS):
        raise NotFound(f"no picture {path!r} in the project's dataset: GET .../pictures lists them")
    return target


@router.post("/projects/{project}/pictures", response_model=PictureUpload, status_code=201)
def add_pictures(
    request: Request,
    project: Project,
    kind: Annotated[Kind, Form(description="good, bad or mask; a bad or mask file named <type>/<file> goes "
                                           "into that defect type")],
    files: Annotated[list[UploadFile], File(description="pictures (the same checks as the app's uploads)")],
) -> PictureUpload:
    """Add pictures to the project's dataset (the old /addimage); unusable files come back as problems."""
    state = request.app.state
    if len(files) > state.limits.max_files:
        raise PayloadTooLarge(f"{len(files)} files in one request, the limit is {state.limits.max_files}: send them "
                              "in several requests, or raise HAMACHO_MAX_FILES")
    folder = project_folder_or_404(state.workspace, project)
    data_dir = project_data_dir(folder)
    written, problems = save_pictures(data_dir, kind, ((f.filename or "picture.png", f.file.read()) for f in files),
                                      Limits.from_env())
    record_refusals(folder, problems, API_USER)  # kept in the project's history until dismissed, as the app's
    return PictureUpload(written=[p.relative_to(data_dir).as_posix() for p in written],
                         problems=[{"path": p.path, "reason": p.reason} for p in problems])


@router.get("/projects/{project}/pictures", response_model=DatasetPictures)
def list_pictures(
    request: Request,
    project: Project,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> DatasetPictures:
    """The project's pictures (the old /listimages), in folder order."""
    data_dir = project_data_dir(project_folder_or_404(request.app.state.workspace, project))
    found = _pictures(data_dir, kind)
    return DatasetPictures(project=project, total=len(found), offset=offset,
                           pictures=[_picture(data_dir, p) for p in found[offset:offset + limit]])


@router.get("/projects/{project}/pictures/{path:path}", response_model=DatasetPicture)
def picture_details(request: Request, project: Project, path: PicturePath) -> DatasetPicture:
    """One picture's kind, defect type, size in bytes and pixels, and SHA-256 (the old /imagedetails)."""
    data_dir = project_data_dir(project_folder_or_404(request.app.state.workspace, project))
    return _picture(data_dir, _find(data_dir, path), details=True)


@router.delete("/projects/{project}/pictures/{path:path}", response_model=DatasetPicture)
def delete_picture(request: Request, project: Project, path: PicturePath) -> DatasetPicture:
    """Delete one picture from the dataset (the old /delimage); runs trained before keep what they learned."""
    data_dir = project_data_dir(project_folder_or_404(request.app.state.workspace, project))
    target = _find(data_dir, path)
    gone = _picture(data_dir, target)
    target.unlink()
    return gone
