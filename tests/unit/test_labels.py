"""Label changes: relabel good / defect / excluded, masks follow, undo restores by hash, history, refusals."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from hamacho_core import labels
from hamacho_core.data import Problem, load_dataset
from hamacho_core.errors import DataError


def _png(seed: int) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "プロジェクト"
    data = project / "data"
    for i in range(4):
        (data / "good").mkdir(parents=True, exist_ok=True)
        (data / "good" / f"g{i}.png").write_bytes(_png(i))
    (data / "bad" / "scratch").mkdir(parents=True)
    (data / "bad" / "scratch" / "s0.png").write_bytes(_png(10))
    (data / "mask" / "scratch").mkdir(parents=True)
    (data / "mask" / "scratch" / "s0.png").write_bytes(_png(11))
    return project


def test_relabel_moves_pictures_and_masks_and_undo_restores_every_file(project: Path) -> None:
    data = project / "data"
    before = _digest(data)
    to_good = labels.relabel(project, data / "bad" / "scratch" / "s0.png", "good", why="false alarm", who="ann")
    assert to_good.before == "defect:scratch" and to_good.after == "good" and to_good.picture == "good/s0.png"
    assert not (data / "mask" / "scratch" / "s0.png").exists()
    assert (data / "excluded" / "mask" / "scratch" / "s0.png").is_file()  # the mask is kept, out of the way
    new_type = labels.relabel(project, "good/g1.png", "defect", defect_type="へこみ", why="missed")
    assert (data / "bad" / "へこみ" / "g1.png").is_file() and new_type.after == "defect:へこみ"
    out = labels.relabel(project, "good/g2.png", "excluded", why="out of focus")
    assert (data / "excluded" / "good" / "g2.png").is_file() and out.sha256 == before["good/g2.png"]
    dataset = load_dataset(data, split=0.5)
    assert {s.defect_type for s in dataset.test if s.label} == {"へこみ"}
    assert len(dataset.train) + sum(1 for s in dataset.test if not s.label) == 3  # g0, g3, s0

    history = labels.history(project)
    assert [e["action"] for e in history] == ["relabel"] * 3
    assert history[0]["who"] == "ann" and history[0]["why"] == "false alarm"
    assert [c.id for c in labels.changes_since(project, None)] == [to_good.id, new_type.id, out.id]
    for change in (out, new_type, to_good):
        labels.undo(project, change.id, who="ann")
    assert _digest(data) == before
    assert labels.changes_since(project, None) == []
    with pytest.raises(labels.LabelError, match="undone already"):
        labels.undo(project, to_good.id)


def test_refused_changes_say_what_to_do(project: Path) -> None:
    with pytest.raises(labels.LabelError, match="already"):
        labels.relabel(project, "good/g0.png", "good")
    with pytest.raises(labels.LabelError, match="why"):
        labels.relabel(project, "good/g0.png", "excluded")
    with pytest.raises(labels.LabelError, match="type"):
        labels.relabel(project, "good/g0.png", "defect", defect_type="../x")
    with pytest.raises(labels.LabelError, match="not in the project"):
        labels.relabel(project, project.parent / "elsewhere.png", "good")
    with pytest.raises(labels.LabelError, match="leave"):
        labels.relabel(project, "../../etc/passwd", "good")
    with pytest.raises(labels.LabelError, match="unknown label"):
        labels.relabel(project, "good/g0.png", "maybe")
    with pytest.raises(labels.LabelError, match="no label change"):
        labels.undo(project, "nope")
    assert labels.history(project) == []


def test_name_clash_keeps_both_and_undo_after_a_later_change_is_refused(project: Path) -> None:
    data = project / "data"
    (data / "bad" / "scratch" / "g0.png").write_bytes(_png(20))
    change = labels.relabel(project, "bad/scratch/g0.png", "good")
    assert change.picture == "good/g0-2.png" and (data / "good" / "g0.png").is_file()
    labels.relabel(project, "good/g0-2.png", "excluded", why="blurred")
    with pytest.raises(labels.LabelError, match="later change"):
        labels.undo(project, change.id)


def test_add_picture_with_its_label_and_undo_keeps_it(project: Path) -> None:
    data = project / "data"
    added = labels.add_picture(project, _png(30), "inference/x.png", "defect", defect_type="dent", who="bob")
    assert added.picture == "bad/dent/x.png" and added.before == "new" and (data / added.picture).is_file()
    assert str(labels.in_dataset(project, data / added.picture)) == added.picture  # relabelled where it is shown
    assert labels.in_dataset(project, project / "history.jsonl") is None  # scored from elsewhere: added, not moved
    with pytest.raises(DataError):
        labels.add_picture(project, b"not a picture", "y.png", "good")
    undone = labels.undo(project, added.id)
    assert (data / undone.moves[0][1]).read_bytes() == _png(30)  # never deleted: under excluded/


def test_refused_imports_stay_until_dismissed(project: Path) -> None:
    labels.record_refusals(project, [Problem("bomb.png", "too many pixels"), Problem("t.png", "not an image")])
    assert [r.name for r in labels.open_refusals(project)] == ["bomb.png", "t.png"]
    first = labels.open_refusals(project)[0].id
    assert labels.dismiss_refusals(project, [first]) == 1
    assert [r.name for r in labels.open_refusals(project)] == ["t.png"]
    assert labels.dismiss_refusals(project) == 1 and labels.open_refusals(project) == []


def test_a_cut_history_line_and_a_left_journal_are_recovered(project: Path) -> None:
    data = project / "data"
    change = labels.relabel(project, "good/g0.png", "excluded", why="dust")
    with open(project / labels.HISTORY, "a", encoding="utf-8") as file:
        file.write('{"id": "cut')  # a line cut by a kill
    journal = labels.LabelChange("j1", "2030-01-01T00:00:00+00:00", "local", "relabel", "x", "good/g3-moved.png",
                                 "good", "excluded", "dust", [("good/g3.png", "excluded/good/g3.png")])
    (project / labels.PENDING).write_text(json.dumps(journal.to_dict()), encoding="utf-8")
    assert [e["id"] for e in labels.history(project)] == [change.id, "j1"]
    assert (data / "excluded" / "good" / "g3.png").is_file() and not (project / labels.PENDING).exists()


def test_a_drawn_mask_goes_beside_the_defect_and_undo_keeps_it(project: Path) -> None:
    data = project / "data"
    drawn = np.zeros((32, 32), np.uint8)
    drawn[4:9, 10:20] = 1
    change = labels.relabel(project, "good/g0.png", "defect", defect_type="dent", why="missed", mask=drawn)
    assert change.moves[1] == ("excluded/mask/drawn/g0.png", "mask/dent/g0.png")  # in the history line
    saved = cv2.imread(str(data / "mask" / "dent" / "g0.png"), cv2.IMREAD_GRAYSCALE)
    assert set(np.unique(saved)) == {0, 255} and (saved > 0).sum() == drawn.sum()
    sample = next(s for s in load_dataset(data, split=0.5).test if s.path.name == "g0.png")
    assert sample.mask_path is not None and sample.mask_path.name == "g0.png"
    labels.undo(project, change.id)
    assert (data / "good" / "g0.png").is_file() and not (data / "mask" / "dent" / "g0.png").exists()
    assert (data / "excluded" / "mask" / "drawn" / "g0.png").read_bytes() == cv2.imencode(".png", saved)[1].tobytes()
    for picture, to, mask, words in (("good/g1.png", "good", drawn, "already"),
                                     ("good/g1.png", "excluded", drawn, "why"),
                                     ("good/g1.png", "defect", np.zeros((32, 32)), "empty"),
                                     ("good/g1.png", "defect", np.ones((8, 8)), "8 x 8 px, the picture 32 x 32"),
                                     ("bad/scratch/s0.png", "defect", drawn, "mask already")):
        with pytest.raises(labels.LabelError, match=words):
            labels.relabel(project, picture, to, defect_type="other", why="", mask=mask)


def test_a_change_in_the_same_second_as_a_run_is_ordered_after_it(project: Path) -> None:
    """Runs and label changes are stamped below the second: a relabel right after a training counts as pending."""
    saved = datetime.now()  # a run saved now (local time, as config.yaml's ``created``)
    change = labels.relabel(project, "good/g0.png", "defect", defect_type="scratch", why="missed")
    assert [c.id for c in labels.changes_since(project, saved)] == [change.id]
    assert labels.changes_since(project, change.when) == []  # and nothing is after itself
    assert labels.changes_since(project, saved.isoformat(timespec="seconds")) == [change]  # an older run's stamp
