"""Putting data into a project: uploaded files and folders, a ZIP of the folder layout, or a server-side folder.

Everything is copied into ``<project>/data/{good, bad/<type>, mask/<type>}`` at once, so a browser refresh loses
nothing. Every picture is checked at the door (bytes, header pixels, a decode: ``hamacho_core.data.picture_problem``)
and an unusable one is named as a problem instead of being stored; ZIPs are bounded in members and unpacked bytes,
projects in pictures (``hamacho_core.limits.Limits``); server folders are read only below ``HAMACHO_IMPORT_ROOTS``.
Plain functions (no streamlit), so they are tested directly.
"""

from __future__ import annotations

import errno
import io
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hamacho_core.data import Problem, picture_problem
from hamacho_core.errors import DataError, WorkspaceError
from hamacho_core.imageio import is_image_file
from hamacho_core.limits import LimitError, Limits, human_count
from hamacho_core.workspace import check_import_source, describe_os_error

__all__ = ["KINDS", "ImportReport", "UnsafeArchiveError", "import_folder", "import_zip", "save_uploads", "target_for"]

KINDS = ("good", "bad", "mask")
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
    if any(ord(c) < 32 for c in text):
        raise UnsafeArchiveError(f"{name!r} holds control characters: rejected")
    return [p for p in path.parts if p not in ("", ".")]


def _store(target: Path, content: bytes, name: str, report: ImportReport) -> None:
    """Write one file; a name the file system refuses (too long, invalid) is a problem, a full disk an error."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    except OSError as error:
        if error.errno in (errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ, errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
            report.problems.append(Problem(name, f"the file name cannot be stored: {error.strerror} (a name too "
                                                 "long, or a file and a folder of the same name; skipped)"))
            return
        raise WorkspaceError(describe_os_error(error, target.parent)) from error
    report.written.append(target)


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


def save_uploads(data_dir: Path, kind: str, files: Iterable[tuple[str, bytes]],
                 limits: Limits | None = None) -> ImportReport:
    """Write uploaded (relative name, bytes) pairs below ``data_dir``; unusable files are reported, not written."""
    return _write_images(files, lambda name: data_dir / target_for(kind, name), limits, _count_images(data_dir))


def _count_images(data_dir: Path) -> int:
    return sum(1 for kind in KINDS if (data_dir / kind).is_dir()
               for p in (data_dir / kind).rglob("*") if is_image_file(p))


class _Door:
    """Checks each incoming picture and counts the project's pictures against the limit."""

    def __init__(self, limits: Limits | None, existing: int) -> None:
        self.limits = limits or Limits.from_env()
        self.count = existing

    def problem(self, name: str, content: bytes) -> Problem | None:
        if self.count >= self.limits.max_project_images:
            return Problem(name, f"the project already holds {self.count:,} pictures, the limit "
                                 "(HAMACHO_MAX_PROJECT_IMAGES): skipped")
        found = picture_problem(content, name, self.limits)
        if found is None:
            self.count += 1
        return found


def _write_images(files: Iterable[tuple[str, bytes]], target_of: Callable[[str], Path], limits: Limits | None,
                  existing: int = 0) -> ImportReport:
    """Write the visible, usable image files to ``target_of(name)``; report the others."""
    report, door = ImportReport(), _Door(limits, existing)
    for name, content in files:
        if not _visible(name):
            continue
        if not is_image_file(name):
            report.problems.append(Problem(name, "not an image file (skipped)"))
            continue
        target = target_of(name)
        if (problem := door.problem(name, content)) is not None:
            report.problems.append(problem)
            continue
        _store(target, content, name, report)
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


def check_archive(archive: zipfile.ZipFile, packed_size: int, max_unpacked: int | None = None,
                  max_ratio: float = MAX_RATIO, limits: Limits | None = None) -> list[zipfile.ZipInfo]:
    """The archive's files after the safety checks (nothing is unpacked).

    Raises:
        UnsafeArchiveError: a member outside the root, a link, a zip bomb (too large, or far larger than packed),
            or more members than HAMACHO_MAX_ZIP_MEMBERS.
    """
    limits = limits or Limits.from_env()
    max_unpacked = limits.max_zip_bytes if max_unpacked is None else max_unpacked
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > limits.max_zip_members:
        raise UnsafeArchiveError(f"the ZIP holds {len(members):,} files, above the limit of "
                                 f"{limits.max_zip_members:,} (HAMACHO_MAX_ZIP_MEMBERS): split it or raise the limit")
    for member in members:
        _clean_parts(member.filename)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchiveError(f"{member.filename!r} is a symbolic link: rejected")
    total = sum(m.file_size for m in members)
    if total > max_unpacked:
        raise UnsafeArchiveError(f"the ZIP would unpack to {human_count(total, 'B')}, above the limit of "
                                 f"{human_count(max_unpacked, 'B')} (HAMACHO_MAX_ZIP_BYTES): rejected")
    if total > max(packed_size, 1) * max_ratio and total > 10 * 1024**2:
        raise UnsafeArchiveError(f"the ZIP would unpack to {total / max(packed_size, 1):.0f} times its size "
                                 "(a zip bomb?): rejected")
    return members


def import_zip(data_dir: Path, source: BinaryIO, packed_size: int, max_unpacked: int | None = None,
               max_ratio: float = MAX_RATIO, limits: Limits | None = None) -> ImportReport:
    """Unpack a ZIP of the folder layout (good/, bad/<type>/, mask/<type>/, maybe inside one top folder).

    Each picture is checked before it is written (unusable ones are reported as problems).

    Raises:
        UnsafeArchiveError: see :func:`check_archive` (nothing is written then).
        LimitError: the ZIP file itself is above HAMACHO_MAX_UPLOAD_BYTES.
        DataError: not a ZIP, or no good/ folder.
    """
    limits = limits or Limits.from_env()
    limits.check_bytes(packed_size, "the ZIP")
    declared = _declared_members(source)
    if declared is not None and declared > limits.max_zip_members:  # refused before the directory is parsed
        raise UnsafeArchiveError(f"the ZIP holds {declared:,} files, above the limit of {limits.max_zip_members:,} "
                                 "(HAMACHO_MAX_ZIP_MEMBERS): split it or raise the limit")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise DataError(f"not a readable ZIP file: {error}") from error
    with archive:
        members = check_archive(archive, packed_size, max_unpacked, max_ratio, limits)
        names = [m.filename for m in members]
        root = _layout_root(names)
        report, door = ImportReport(), _Door(limits, _count_images(data_dir))
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
            try:
                content = _read_member(archive, member, limits)
            except LimitError as error:
                report.problems.append(Problem(member.filename, error.reason))
                continue
            if (problem := door.problem(member.filename, content)) is not None:
                report.problems.append(problem)
                continue
            _store(data_dir.joinpath(*parts), content, member.filename, report)
    return report


def _declared_members(source: BinaryIO) -> int | None:
    """Entry count from the end-of-central-directory record (None when not found or ZIP64), read in O(1)."""
    try:
        source.seek(0, io.SEEK_END)
        size = source.tell()
        start = max(0, size - (1 << 16) - 22)
        source.seek(start)
        tail = source.read()
        source.seek(0)
    except (OSError, ValueError):
        return None
    index = tail.rfind(b"PK\x05\x06")
    if index < 0 or index + 12 > len(tail):
        return None
    count = int.from_bytes(tail[index + 10:index + 12], "little")
    if count == 0xFFFF:  # ZIP64: the count is in the ZIP64 end record (found through its locator, 20 bytes before)
        locator = tail.rfind(b"PK\x06\x07", 0, index)
        record = tail.rfind(b"PK\x06\x06", 0, locator if locator >= 0 else index)
        if record < 0 or record + 40 > len(tail):
            return None
        count = int.from_bytes(tail[record + 32:record + 40], "little")
    return count


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, at most its declared size and the per-file limit.

    Raises:
        LimitError: above HAMACHO_MAX_UPLOAD_BYTES.
        UnsafeArchiveError: it unpacks to more than declared.
        DataError: damaged member (bad CRC, unsupported compression, encrypted).
    """
    limits.check_bytes(member.file_size)
    buffer = io.BytesIO()
    try:
        with archive.open(member) as packed:
            _copy_limited(packed, buffer, member.file_size)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
            zlib.error) as error:
        raise DataError(f"{member.filename!r} in the ZIP is damaged or encrypted: {error}") from error
    return buffer.getvalue()


def _copy_limited(packed: BinaryIO, out: BinaryIO, declared: int) -> None:
    """Copy, refusing to write more than the member declared (a forged header cannot unpack a bomb)."""
    written = 0
    while chunk := packed.read(1024 * 1024):
        written += len(chunk)
        if written > declared:
            raise UnsafeArchiveError("a ZIP member unpacks to more than its declared size: rejected")
        out.write(chunk)


def import_folder(data_dir: Path, source: Path, limits: Limits | None = None,
                  roots: list[Path] | None = None) -> ImportReport:
    """Copy a server-side folder of the layout (good/, bad/<type>/, mask/<type>/) into the project.

    Only folders below ``roots`` (default ``HAMACHO_IMPORT_ROOTS``) are read; files whose real path leaves the
    source folder (links) are skipped.

    Raises:
        WorkspaceError: no import root is set, or the folder is outside them.
        DataError: the folder or its good/ sub-folder is missing.
    """
    source = check_import_source(source, roots)
    if not source.is_dir():
        raise DataError(f"folder not found on the server: {source}")
    if not (source / "good").is_dir():
        raise DataError(f"{source} has no good/ folder: it must hold good/, and optionally bad/<type>/, mask/<type>/")
    if source.resolve() == data_dir.resolve():
        raise DataError("this is already the project's data folder")
    report, door = ImportReport(), _Door(limits, _count_images(data_dir))
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
            if not path.resolve().is_relative_to(source):
                report.problems.append(Problem(str(path), "a link to a file outside the imported folder (skipped)"))
                continue
            try:
                door.limits.check_bytes(path.stat().st_size)
                content = path.read_bytes()
            except LimitError as error:
                report.problems.append(Problem(str(path), error.reason))
                continue
            if (problem := door.problem(str(path), content)) is not None:
                report.problems.append(problem)
                continue
            _store(data_dir / relative, content, str(path), report)
    return report


def clear_data(data_dir: Path) -> None:
    """Remove the project's good/, bad/ and mask/ folders."""
    for kind in KINDS:
        shutil.rmtree(data_dir / kind, ignore_errors=True)


def save_inference_inputs(folder: Path, files: Iterable[tuple[str, bytes]]) -> ImportReport:
    """Write images to run inference on below ``folder`` (sub-folders of a dropped folder kept)."""
    return _write_images(files, lambda name: folder.joinpath(*_clean_parts(name)), None)
