"""A label change killed (SIGKILL) at each of its points: no file is ever lost, and the next look shows the old or
the new state, once in the history (the journal of ``hamacho_core.labels`` is rolled forward)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from hamacho_core import labels

_CHANGE = ("from hamacho_core.labels import relabel; import sys; "
           "relabel(sys.argv[1], 'bad/scratch/s0.png', 'defect', defect_type='dent', why='wrong type')")
# the journal's atomic write, each move (picture, then mask), the history line
POINTS = ["saving .labels-pending.json:1", "moving picture:1", "moving picture:2", "recording label:1"]


def _contents(folder: Path) -> Counter[str]:
    return Counter(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file())


def _project(root: Path) -> Path:
    data = root / "data"
    for name, seed in (("good/g0.png", 0), ("good/g1.png", 1), ("bad/scratch/s0.png", 2), ("mask/scratch/s0.png", 3)):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        image = np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)
        (data / name).write_bytes(cv2.imencode(".png", image)[1].tobytes())
    return root


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_during_a_label_change_loses_nothing(tmp_path: Path, point: str) -> None:
    project = _project(tmp_path / "p")
    data = project / "data"
    before = _contents(data)
    environ = {**os.environ, "HAMACHO_TEST_KILL_AT": point}
    done = subprocess.run([sys.executable, "-c", _CHANGE, str(project)], env=environ, timeout=120)
    assert done.returncode == -signal.SIGKILL, f"no kill at {point}"
    assert _contents(data) == before  # every picture and mask is somewhere in the data folder
    old = (data / "bad" / "scratch" / "s0.png").is_file() and (data / "mask" / "scratch" / "s0.png").is_file()
    relabelled = [e for e in labels.history(project) if e["action"] == "relabel"]  # rolls a journal forward
    new = (data / "bad" / "dent" / "s0.png").is_file() and (data / "mask" / "dent" / "s0.png").is_file()
    assert _contents(data) == before
    if point.startswith("saving"):
        assert old and relabelled == []
    else:
        assert new and not (data / "bad" / "scratch" / "s0.png").exists() and len(relabelled) == 1
    assert not (project / labels.PENDING).exists()
    change = labels.relabel(project, "good/g0.png", "excluded", why="dust")  # the next change works
    labels.undo(project, change.id)
    assert _contents(data) == before
