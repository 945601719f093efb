"""Putting data into a project: uploaded files and folders, a ZIP of the folder layout, or a server-side folder.

Everything is copied into ``<project>/data/{good, bad/<type>, mask/<type>}`` at once, so a browser refresh loses
nothing. Plain functions (no streamlit), so they are tested directly.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hamacho_core.data import Problem
from hamacho_core.errors import DataError
from hamacho_core.imageio import is_image_file

__all__ = ["KINDS", "ImportReport", "UnsafeArchiveError", "import_folder", "import_zip", "save_uploads", "target_for"]

KINDS = ("good", "bad", "mask")
MAX_UNPACKED = 4 * 1024**3  # 4 GiB in all
MAX_RATIO = 200  # unpacked / packed, above which an archive is treated as a zip bomb
_SKIPPED = {"thumbs.db", "desktop.ini", ".ds_store"}


class UnsafeArchiveError(DataError):
    """A ZIP that would write outside its folder or unpack to far more than it holds."""


@dataclass
class ImportReport:
    """What an import wrote and what it left out."""

    written: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _clean_parts(name: str) -> list[str]:
    """Path parts of an uploaded name, refusing absolute paths and ``..``."""
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    if path.is_absolute() or (len(text) > 1 and text[1] == ":") or ".." in path.parts:
        raise UnsafeArchiveError(f"{name!r} points outside the folder (absolute path or '..'): rejected")
    return [p for p in path.parts if p not in ("", ".")]


def target_for(kind: str, name: str) -> PurePosixPath:
    """Where an uploaded file goes inside ``data/`` (``name`` = browser relative path, e.g. ``bad/scratch/1.png``).

    * good: the chosen folder's name is dropped, sub-folders kept.
    * bad / mask: sub-folders are defect types; files directly in the chosen folder take its name as their type.
    """
    if kind not in KINDS:
        raise DataError(f"unknown upload kind {kind!r}: use one of {', '.join(KINDS)}")
    parts = _clean_parts(name)
    if not parts:
        raise UnsafeArchiveError(f"empty file name {name!r}")
    if kind == "good":
        inner = parts[1:] if len(parts) > 1 else parts
    elif len(parts) == 1:
        inner = ["bad", *parts]  # a loose file: the default type "bad"
    elif len(parts) == 2:
        inner = parts
    else:
        inner = parts[1:]
    return PurePosixPath(kind, *inner)


def _visible(name: str) -> bool:
    base = PurePosixPath(name).name
    return bool(base) and not base.startswith(".") and base.lower() not in _SKIPPED


def save_uploads(data_dir: Path, kind: str, files: Iterable[tuple[str, bytes]]) -> ImportReport:
    """Write uploaded (relative name, bytes) pairs below ``data_dir``; non-image files are reported, not written."""
    return _write_images(files, lambda name: data_dir / target_for(kind, name))


def _write_images(files: Iterable[tuple[str, bytes]], target_of: Callable[[str], Path]) -> ImportReport:
    """Write the visible image files to ``target_of(name)``; report the others."""
    report = ImportReport()
    for name, content in files:
        if not _visible(name):
            continue
        if not is_image_file(name):
            report.problems.append(Problem(name, "not an image file (skipped)"))
            continue
        target = target_of(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        report.written.append(target)
    return report


def _layout_root(names: list[str]) -> str:
    """Prefix below which the archive holds good/ (``""`` or ``"top/"``).

    Raises:
        DataError: no ``good/`` folder at the top or one level down.
    """
    for prefix in ["", *sorted({n.split("/", 1)[0] + "/" for n in names if "/" in n})]:
        if any(n.startswith(prefix + "good/") for n in names):
            return prefix
    raise DataError("the ZIP has no good/ folder: it must hold good/, and optionally bad/<type>/ and mask/<type>/")


def check_archive(archive: zipfile.ZipFile, packed_size: int, max_unpacked: int = MAX_UNPACKED,
                  max_ratio: float = MAX_RATIO) -> list[zipfile.ZipInfo]:
    """The archive's files after the safety checks.

    Raises:
        UnsafeArchiveError: a member outside the root, a link, or a zip bomb (too large, or far larger than packed).
    """
    members = [m for m in archive.infolist() if not m.is_dir()]
    for member in members:
        _clean_parts(member.filename)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchiveError(f"{member.filename!r} is a symbolic link: rejected")
    total = sum(m.file_size for m in members)
    if total > max_unpacked:
        raise UnsafeArchiveError(f"the ZIP would unpack to {total / 1024**2:.0f} MiB, above the limit of "
                                 f"{max_unpacked / 1024**2:.0f} MiB: rejected")
    if total > max(packed_size, 1) * max_ratio and total > 10 * 1024**2:
        raise UnsafeArchiveError(f"the ZIP would unpack to {total / max(packed_size, 1):.0f} times its size "
                                 "(a zip bomb?): rejected")
    return members


def import_zip(data_dir: Path, source: BinaryIO, packed_size: int, max_unpacked: int = MAX_UNPACKED,
               max_ratio: float = MAX_RATIO) -> ImportReport:
    """Unpack a ZIP of the folder layout (good/, bad/<type>/, mask/<type>/, maybe inside one top folder).

    Raises:
        UnsafeArchiveError: see :func:`check_archive` (nothing is written then).
        DataError: not a ZIP, or no good/ folder.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"not a readable ZIP file: {error}") from error
    with archive:
        members = check_archive(archive, packed_size, max_unpacked, max_ratio)
        names = [m.filename for m in members]
        root = _layout_root(names)
        report = ImportReport()
        for member in members:
            relative = member.filename[len(root):] if member.filename.startswith(root) else member.filename
            parts = _clean_parts(relative)
            if not _visible(relative):
                continue
            if not parts or parts[0] not in KINDS or len(parts) < 2:
                report.problems.append(Problem(member.filename, "outside good/, bad/ and mask/ (skipped)"))
                continue
            if not is_image_file(relative):
                report.problems.append(Problem(member.filename, "not an image file (skipped)"))
                continue
            target = data_dir.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as packed, target.open("wb") as out:
                _copy_limited(packed, out, member.file_size)
            report.written.append(target)
    return report


def _copy_limited(packed: BinaryIO, out: BinaryIO, declared: int) -> None:
    """Copy, refusing to write more than the member declared (a forged header cannot unpack a bomb)."""
    written = 0
    while chunk := packed.read(1024 * 1024):
        written += len(chunk)
        if written > declared:
            raise UnsafeArchiveError("a ZIP member unpacks to more than its declared size: rejected")
        out.write(chunk)


def import_folder(data_dir: Path, source: Path) -> ImportReport:
    """Copy a server-side folder of the layout (good/, bad/<type>/, mask/<type>/) into the project.

    Raises:
        DataError: the folder or its good/ sub-folder is missing.
    """
    source = Path(source).expanduser()
    if not source.is_dir():
        raise DataError(f"folder not found on the server: {source}")
    if not (source / "good").is_dir():
        raise DataError(f"{source} has no good/ folder: it must hold good/, and optionally bad/<type>/, mask/<type>/")
    if source.resolve() == data_dir.resolve():
        raise DataError("this is already the project's data folder")
    report = ImportReport()
    for kind in KINDS:
        if not (source / kind).is_dir():
            continue
        for path in sorted(p for p in (source / kind).rglob("*") if p.is_file()):
            relative = path.relative_to(source)
            if not _visible(relative.as_posix()):
                continue
            if not is_image_file(path):
                report.problems.append(Problem(str(path), "not an image file (skipped)"))
                continue
            target = data_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            report.written.append(target)
    return report


def clear_data(data_dir: Path) -> None:
    """Remove the project's good/, bad/ and mask/ folders."""
    for kind in KINDS:
        shutil.rmtree(data_dir / kind, ignore_errors=True)


def save_inference_inputs(folder: Path, files: Iterable[tuple[str, bytes]]) -> ImportReport:
    """Write images to run inference on below ``folder`` (sub-folders of a dropped folder kept)."""
    return _write_images(files, lambda name: folder.joinpath(*_clean_parts(name)))
