"""Label changes of a project's dataset: a picture relabelled good / defect (with its type) / excluded, and undo.

The dataset is the project's folder layout (``hamacho_core.projects``)::

    data/good/             good pictures
    data/bad/<type>/       defect pictures (a mask is optional: data/mask/<type>/, same stem)
    data/excluded/<where>/ pictures taken out, kept where they were (excluded/good/x.png, excluded/bad/scratch/x.png)

Nothing is ever lost. A change moves files within the data folder (``os.replace``, atomic on one file system); the
moves are first written to a journal (``<project>/.labels-pending.json``, atomic), then done, then the change is a
line of the project's history (``<project>/history.jsonl``, JSON lines: when, who, the picture's SHA-256, from, to,
why), then the journal is removed. A process killed anywhere in between leaves the old state (journal not yet
written) or a journal that :func:`recover` rolls forward (every label function calls it first), so the next look at
the project shows the new state, once in the history.

The history also keeps refused imports (a pixel bomb, a truncated JPEG, an empty file, a text named .png) until the
analyst dismisses them (:func:`record_refusals`, :func:`open_refusals`, :func:`dismiss_refusals`).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from hamacho_core import faults
from hamacho_core.errors import DataError, WorkspaceError
from hamacho_core.imageio import is_image_file
from hamacho_core.workspace import describe_os_error, inside, project_data_dir

__all__ = ["EXCLUDED", "HISTORY", "LABELS", "LabelChange", "LabelError", "Refusal", "add_picture", "append_entries",
           "changes", "changes_since", "dismiss_refusals", "find_picture", "history", "in_dataset", "label_of",
           "open_refusals",
           "recover", "record_refusals", "relabel", "sha256_of", "undo", "where_now"]

GOOD, DEFECT, EXCLUDED = "good", "defect", "excluded"
LABELS = (GOOD, DEFECT, EXCLUDED)
HISTORY, PENDING = "history.jsonl", ".labels-pending.json"
LOCAL = "local"
_BAD, _MASK = "bad", "mask"
_FORBIDDEN = set('/\\:*?"<>|')
_CHANGES = ("relabel", "add", "undo")


class LabelError(DataError):
    """A label change that cannot be made (unknown picture, same label, a missing reason...)."""


@dataclass(frozen=True)
class LabelChange:
    """One line of the history: a picture relabelled, added or a change undone.

    ``before`` / ``after``: ``good``, ``defect:<type>``, ``excluded`` (``new`` for a picture added). ``picture``:
    where the picture is after the change, relative to the data folder. ``moves``: (from, to) pairs relative to the
    data folder (the picture, then its mask when it has one), done in that order.
    """

    id: str
    when: str
    who: str
    action: str  # relabel | add | undo
    sha256: str
    picture: str
    before: str
    after: str
    why: str = ""
    moves: list[tuple[str, str]] = field(default_factory=list)
    undoes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["moves"] = [list(m) for m in self.moves]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelChange:
        names = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in names}
        values["moves"] = [tuple(m) for m in data.get("moves", [])]
        return cls(**values)


@dataclass(frozen=True)
class Refusal:
    """A file refused at the door (an import), kept until dismissed."""

    id: str
    when: str
    who: str
    name: str
    reason: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _instant(when: str | datetime) -> datetime:
    """An ISO time (any precision; local time when it has no zone) as an aware datetime, for ordering."""
    found = when if isinstance(when, datetime) else datetime.fromisoformat(str(when))
    return found if found.tzinfo else found.astimezone()


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def label_of(relative: str | PurePosixPath) -> str:
    """``good``, ``defect:<type>`` or ``excluded`` for a path relative to the data folder (LabelError otherwise)."""
    parts = PurePosixPath(relative).parts
    if len(parts) >= 2 and parts[0] == GOOD:
        return GOOD
    if len(parts) >= 2 and parts[0] == _BAD:
        return f"{DEFECT}:{'/'.join(parts[1:-1]) or _BAD}"
    if len(parts) >= 2 and parts[0] == EXCLUDED:
        return EXCLUDED
    raise LabelError(f"{relative} is not a picture of the dataset (good/, bad/<type>/ or excluded/)")


def check_type(name: str) -> str:
    """A usable defect type name (one folder, Japanese allowed), stripped.

    Raises:
        LabelError: empty, hidden, or with characters not allowed in folder names.
    """
    name = (name or "").strip()
    if not name or name.startswith(".") or _FORBIDDEN & set(name) or any(ord(c) < 32 for c in name):
        raise LabelError(f"defect type {name!r} is empty, starts with a dot or holds one of "
                         f"{' '.join(sorted(_FORBIDDEN))}: choose another name")
    return name


def _history_file(project: Path) -> Path:
    return Path(project) / HISTORY


def _entries(project: Path) -> list[dict[str, Any]]:
    """Every readable line of the history (a line cut by a kill is skipped)."""
    path = _history_file(project)
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "id" in entry and "action" in entry:
            found.append(entry)
    return found


def append_entries(project: Path, entries: Iterable[dict[str, Any]]) -> None:
    """Append lines to the history (fsynced); a line cut by an earlier kill is ended first."""
    path = _history_file(project)
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
    try:
        with open(path, "a+b") as file:
            file.seek(0, os.SEEK_END)
            if file.tell():
                file.seek(-1, os.SEEK_END)
                if file.read(1) != b"\n":
                    text = "\n" + text
            faults.checkpoint("recording label")
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise WorkspaceError(describe_os_error(error, path.parent)) from error


def history(project: Path) -> list[dict[str, Any]]:
    """The project's history, oldest first: label changes (``action`` relabel / add / undo) and refused imports
    (``refused``, ``dismissed``), as the JSON lines hold them."""
    recover(project)
    return _entries(project)


def changes(project: Path) -> list[LabelChange]:
    """The label changes of the project, oldest first."""
    return [LabelChange.from_dict(e) for e in history(project) if e["action"] in _CHANGES]


def changes_since(project: Path, when: str | datetime | None) -> list[LabelChange]:
    """Label changes after ``when`` (e.g. a run's creation) that are still in force (not undone since)."""
    after = None if when is None else _instant(when)
    found = [c for c in changes(project) if after is None or _instant(c.when) > after]
    undone = {c.undoes for c in found if c.action == "undo"}
    return [c for c in found if c.action != "undo" and c.id not in undone]


def _data_dir(project: Path) -> Path:
    return project_data_dir(Path(project)).resolve()


def find_picture(project: Path, picture: str | Path) -> PurePosixPath:
    """The picture's path relative to the data folder (absolute or relative to it), checked to be a picture there.

    Raises:
        LabelError: outside the data folder, missing, not a picture, or not in good/, bad/, excluded/.
    """
    data = _data_dir(project)
    path = Path(picture)
    try:
        path = inside(data, path) if not path.is_absolute() else path.resolve()
    except WorkspaceError as error:
        raise LabelError(str(error)) from error
    if not path.is_relative_to(data):
        raise LabelError(f"{picture} is not in the project's dataset ({data})")
    if not path.is_file() or not is_image_file(path):
        raise LabelError(f"{picture} is not a picture of the project's dataset (moved or removed meanwhile?)")
    relative = PurePosixPath(path.relative_to(data).as_posix())
    label_of(relative)
    return relative


def in_dataset(project: Path, picture: str | Path) -> PurePosixPath | None:
    """The picture's path relative to the data folder when it is a picture of the project's dataset, else None (a
    picture scored from elsewhere: it can be added, not relabelled)."""
    try:
        return find_picture(project, picture)
    except LabelError:
        return None


def where_now(project: Path, picture: str | Path, found: Sequence[LabelChange] | None = None,
              ) -> tuple[PurePosixPath | None, LabelChange | None]:
    """Where a picture (as a run saw it: absolute, or relative to the data folder) is now, following the label
    changes, and the change in force that put it there (None when none did: nothing to undo).

    ``found``: the project's changes when the caller already read them (a gallery asks for many pictures at once).

    Returns:
        (path relative to the data folder, or None when it is not in the dataset any more; the change or None).
    """
    data = _data_dir(project)
    path = Path(picture)
    try:
        relative = PurePosixPath((path if path.is_absolute() else data / path).resolve().relative_to(data).as_posix())
    except ValueError:
        return None, None
    found = changes(project) if found is None else found
    undone = {c.undoes for c in found if c.action == "undo"}
    last = None
    for change in found:
        for source, target in change.moves:
            if PurePosixPath(source) == relative:
                relative = PurePosixPath(target)
                last = change if change.action != "undo" and change.id not in undone else None
                break
    return (relative if (data / relative).is_file() else None), last


def _free(data: Path, target: PurePosixPath, taken: set[PurePosixPath]) -> PurePosixPath:
    """``target``, or ``stem-2.ext``, ``stem-3.ext``... when a file of that name exists already."""
    candidate, n = target, 1
    while (data / candidate).exists() or candidate in taken:
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return candidate


def _mask_of(data: Path, relative: PurePosixPath) -> PurePosixPath | None:
    """The mask of a defect picture (``bad/<type>/x.png`` -> ``mask/<type>/x.png`` or ``x_mask.*``), if any."""
    if relative.parts[0] != _BAD or not (data / _MASK).is_dir():
        return None
    from hamacho_core.data import _find_mask

    found = _find_mask(data / _MASK, Path(*relative.parts[1:]))
    return PurePosixPath(found.relative_to(data).as_posix()) if found is not None else None


def _target(relative: PurePosixPath, to: str, defect_type: str | None) -> PurePosixPath:
    if to == GOOD:
        return PurePosixPath(GOOD, relative.name)
    if to == DEFECT:
        return PurePosixPath(_BAD, defect_type or _BAD, relative.name)
    if relative.parts[0] == EXCLUDED:
        return relative
    return PurePosixPath(EXCLUDED, *relative.parts)


def _plan(data: Path, relative: PurePosixPath, to: str, defect_type: str | None) -> list[tuple[str, str]]:
    """The moves of a change: the picture, then its mask (to the new type, or kept under excluded/)."""
    taken: set[PurePosixPath] = set()
    target = _free(data, _target(relative, to, defect_type), taken)
    taken.add(target)
    moves = [(relative.as_posix(), target.as_posix())]
    mask = _mask_of(data, relative)
    if mask is not None:
        if to == DEFECT:
            suffix = "_mask" if mask.stem.endswith("_mask") else ""
            mask_target = PurePosixPath(_MASK, defect_type or _BAD, f"{target.stem}{suffix}{mask.suffix}")
        else:
            mask_target = PurePosixPath(EXCLUDED, *mask.parts)
        moves.append((mask.as_posix(), _free(data, mask_target, taken).as_posix()))
    return moves


def _drawn_mask(data: Path, relative: PurePosixPath, moves: list[tuple[str, str]], defect_type: str,
                mask: Any) -> tuple[str, str]:
    """Save a mask drawn for a picture marked as a defect (0/255 PNG) under ``excluded/mask/drawn/``; returns the
    move that puts it beside the picture's new place (``mask/<type>/<stem>.png``), so undo takes it back there."""
    import cv2
    import numpy as np

    from hamacho_core.atomic import atomic_write_bytes
    from hamacho_core.imageio import image_size

    if len(moves) > 1:
        raise LabelError(f"{relative} has a mask already ({moves[1][0]}): mark it without drawing one")
    drawn = np.asarray(mask)
    size = image_size(data / relative)
    if drawn.ndim != 2 or drawn.shape != size:
        shape = " x ".join(str(n) for n in drawn.shape[::-1])
        raise LabelError(f"the drawn mask is {shape} px, the picture {size[1]} x {size[0]} px: give the mask the "
                         "picture's size")
    if not drawn.any():
        raise LabelError("the drawn mask is empty: draw the defect, or mark the picture without a mask")
    target = PurePosixPath(moves[0][1])
    taken = {target}
    staged = _free(data, PurePosixPath(EXCLUDED, _MASK, "drawn", f"{target.stem}.png"), taken)
    placed = _free(data, PurePosixPath(_MASK, defect_type, f"{target.stem}.png"), taken | {staged})
    atomic_write_bytes(data / staged, cv2.imencode(".png", np.where(drawn > 0, 255, 0).astype(np.uint8))[1].tobytes())
    return staged.as_posix(), placed.as_posix()


def _write_pending(project: Path, entry: dict[str, Any]) -> None:
    from hamacho_core.atomic import atomic_write_text

    atomic_write_text(Path(project) / PENDING, json.dumps(entry, ensure_ascii=False))


def _apply(project: Path, entry: dict[str, Any]) -> None:
    """Do the journal's moves that are not done yet (idempotent), record the line once, drop the journal."""
    data = _data_dir(project)
    for source, target in entry["moves"]:
        faults.checkpoint("moving picture")
        src, dst = data / source, data / target
        if src.exists() and not dst.exists():
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
            except OSError as error:
                raise WorkspaceError(describe_os_error(error, dst.parent)) from error
    if not any(e["id"] == entry["id"] for e in _entries(project)):
        append_entries(project, [entry])
    (Path(project) / PENDING).unlink(missing_ok=True)


def recover(project: Path) -> bool:
    """Finish a label change a killed process left in its journal; True when there was one."""
    pending = Path(project) / PENDING
    if not pending.is_file():
        return False
    try:
        entry = json.loads(pending.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # the journal is written atomically: unreadable means damaged by hand
        pending.rename(pending.with_suffix(".damaged"))
        return False
    _apply(project, entry)
    return True


def _commit(project: Path, change: LabelChange) -> LabelChange:
    entry = change.to_dict()
    _write_pending(project, entry)
    _apply(project, entry)
    return change


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def relabel(project: Path, picture: str | Path, to: str, defect_type: str | None = None, why: str = "",
            who: str = LOCAL, mask: Any = None) -> LabelChange:
    """Relabel a picture of the project's dataset: ``good``, ``defect`` (with ``defect_type``, new or existing) or
    ``excluded`` (with ``why``, the reason); its mask follows it. Returns the history line written.

    ``mask``: for ``defect``, an (H, W) array at the picture's size drawn by the analyst (non-zero = defect), saved
    as a 0/255 PNG at ``mask/<type>/<stem>.png``; the history line lists it among the moves, undo keeps it under
    ``excluded/mask/drawn/``. A defect without a mask is fine too.

    Raises:
        LabelError: unknown picture or label, the label it has already, a defect without a type, an exclusion
            without a reason, a mask for another label, of another size, empty, or for a picture that has one.
        WorkspaceError: the data folder cannot be written.
    """
    project = Path(project)
    recover(project)
    if to not in LABELS:
        raise LabelError(f"unknown label {to!r}: use one of {', '.join(LABELS)}")
    if to == DEFECT:
        defect_type = check_type(defect_type or "")
    if to == EXCLUDED and not why.strip():
        raise LabelError("say why the picture is excluded (out of focus, wrong part, ...)")
    relative = find_picture(project, picture)
    before = label_of(relative)
    after = f"{DEFECT}:{defect_type}" if to == DEFECT else to
    if before == after:
        raise LabelError(f"{relative} is {after} already")
    data = _data_dir(project)
    moves = _plan(data, relative, to, defect_type)
    if mask is not None:
        if to != DEFECT:
            raise LabelError(f"a mask is drawn for a defect, not for {to}")
        moves.append(_drawn_mask(data, relative, moves, str(defect_type), mask))
    change = LabelChange(_new_id(), _now(), who or LOCAL, "relabel", sha256_of(data / relative), moves[0][1],
                         before, after, why.strip(), moves)
    return _commit(project, change)


def undo(project: Path, change_id: str, who: str = LOCAL) -> LabelChange:
    """Undo a label change (relabel or add): its files move back (an added picture goes to excluded/).

    Raises:
        LabelError: no such change, undone already, or its files were changed since (undo the later change first).
    """
    project = Path(project)
    recover(project)
    found = {c.id: c for c in changes(project)}
    change = found.get(change_id)
    if change is None or change.action == "undo":
        raise LabelError(f"no label change {change_id!r} to undo: the history lists them")
    if any(c.undoes == change_id for c in found.values()):
        raise LabelError(f"the change {change_id!r} is undone already")
    data = _data_dir(project)
    if change.action == "add":
        moves = _plan(data, PurePosixPath(change.picture), EXCLUDED, None)
        after = EXCLUDED
    else:
        moves = [(target, source) for source, target in reversed(change.moves)]
        after = change.before
    for current, back in moves:
        if not (data / current).is_file() or (data / back).exists():
            raise LabelError(f"{change.picture} changed since ({current} missing or {back} taken): undo the later "
                             "change first")
    if sha256_of(data / change.picture) != change.sha256:
        raise LabelError(f"{change.picture} is not the picture of that change any more: undo the later change first")
    picture = moves[0][1] if change.action == "add" else change.moves[0][0]
    undone = LabelChange(_new_id(), _now(), who or LOCAL, "undo", change.sha256, picture, change.after, after,
                         f"undo of {change_id}", moves, change_id)
    return _commit(project, undone)


def add_picture(project: Path, content: bytes, name: str, to: str, defect_type: str | None = None, why: str = "",
                who: str = LOCAL) -> LabelChange:
    """Add a picture (e.g. one scored on the Inference page) to the project's dataset with its label.

    Raises:
        LabelError: the label is not good / defect, a defect without a type.
        DataError: the bytes are not a usable picture (the import door's checks).
    """
    from hamacho_core.atomic import atomic_write_bytes
    from hamacho_core.data import picture_problem

    project = Path(project)
    recover(project)
    if to not in (GOOD, DEFECT):
        raise LabelError(f"a picture is added as {GOOD} or {DEFECT}, not {to!r}")
    if to == DEFECT:
        defect_type = check_type(defect_type or "")
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base or base.startswith(".") or not is_image_file(base):
        raise LabelError(f"{name!r} is not a picture file name (.png, .jpg, ...)")
    if (problem := picture_problem(content, base)) is not None:
        raise DataError(f"{base}: {problem.reason}")
    data = _data_dir(project)
    target = _free(data, _target(PurePosixPath(GOOD, base), to, defect_type), set())
    atomic_write_bytes(data / target, content)
    change = LabelChange(_new_id(), _now(), who or LOCAL, "add", hashlib.sha256(content).hexdigest(),
                         target.as_posix(), "new", f"{DEFECT}:{defect_type}" if to == DEFECT else GOOD, why.strip())
    append_entries(project, [change.to_dict()])
    return change


def record_refusals(project: Path, problems: Sequence[Any], who: str = LOCAL) -> list[Refusal]:
    """Keep refused imports (``data.Problem``: path, reason) in the history until dismissed."""
    refusals = [Refusal(_new_id(), _now(), who or LOCAL, str(p.path), str(p.reason)) for p in problems]
    if refusals:
        Path(project).mkdir(parents=True, exist_ok=True)
        append_entries(Path(project), [{"action": "refused", **asdict(r)} for r in refusals])
    return refusals


def open_refusals(project: Path) -> list[Refusal]:
    """Refused imports not dismissed yet, oldest first."""
    entries = _entries(Path(project))
    dismissed = {i for e in entries if e["action"] == "dismissed" for i in e.get("ids", [])}
    return [Refusal(e["id"], e["when"], e.get("who", LOCAL), e["name"], e["reason"])
            for e in entries if e["action"] == "refused" and e["id"] not in dismissed]


def dismiss_refusals(project: Path, ids: Sequence[str] | None = None, who: str = LOCAL) -> int:
    """Dismiss refused imports (all open ones when ``ids`` is None); returns how many were dismissed."""
    open_ids = [r.id for r in open_refusals(project)]
    chosen = open_ids if ids is None else [i for i in ids if i in open_ids]
    if chosen:
        append_entries(Path(project), [{"action": "dismissed", "id": _new_id(), "when": _now(), "who": who or LOCAL,
                                 "ids": chosen}])
    return len(chosen)
