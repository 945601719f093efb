"""SOURCE of ``hamacho score``: a folder (recursive), a glob pattern, or a text file listing paths (one per line).

Paths must be readable by every worker (a shared or network file system); they are passed to the workers as
strings, never as image bytes. Output names follow ``hamacho inference``: relative to the folder (or to the
pattern's fixed part); for a list, the file name made unique.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from hamacho_core.data import Problem, is_image_file, list_images, relative_names
from hamacho_core.errors import DataError

__all__ = ["Source", "resolve_source"]

_MAGIC = set("*?[")


@dataclass
class Source:
    """The pictures to score.

    Attributes:
        paths: picture files as given (strings every worker can open), in a stable order.
        names: output name of each picture (sub-folders kept), POSIX strings.
        problems: files of the source that are not pictures (they become problem rows).
        kind: "folder" | "glob" | "list" | "file".
    """

    paths: list[str]
    names: list[str]
    kind: str
    problems: list[Problem] = field(default_factory=list)


def _fixed_prefix(pattern: str) -> Path:
    """The folder part of a glob pattern before its first wildcard (``data/*/x.png`` -> ``data``)."""
    parts = []
    for part in Path(pattern).parts:
        if _MAGIC & set(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _from_list(listing: Path) -> Source:
    lines = listing.read_text(encoding="utf-8-sig").splitlines()
    paths = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    base = listing.parent
    paths = [p if Path(p).is_absolute() else str(base / p) for p in paths]
    names = [n.as_posix() for n in relative_names([Path(p) for p in paths], ["."] * len(paths))]
    return Source(paths, names, "list")


def resolve_source(source: str | Path) -> Source:
    """Expand SOURCE into picture paths and output names.

    A ``.txt``/``.lst``/``.csv`` file is read as a list of paths (relative ones are taken from the list's folder);
    listed files that are missing or unreadable still get a row (with a problem) when scored.

    Raises:
        DataError: nothing found at ``source``.
    """
    text = str(source)
    path = Path(text)
    if path.is_dir():
        problems: list[Problem] = []
        found = list_images(path, problems)
        return Source([str(p) for p in found], [p.relative_to(path).as_posix() for p in found], "folder", problems)
    if path.is_file() and path.suffix.lower() in {".txt", ".lst", ".csv"} and not is_image_file(path):
        return _from_list(path)
    if path.is_file():
        return Source([text], [path.name], "file")
    if _MAGIC & set(text):
        root = _fixed_prefix(text)
        found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        pictures = [p for p in found if is_image_file(p)]
        problems = [Problem(str(p), "not an image file (skipped)") for p in found if not is_image_file(p)]
        if not found:
            raise DataError(f"--input pattern {text} matches no file: check the pattern (quote it in the shell)")
        return Source([str(p) for p in pictures], [p.relative_to(root).as_posix() for p in pictures], "glob",
                      problems)
    raise DataError(f"--input not found: {text} (give a folder, a glob pattern or a text file listing paths)")
