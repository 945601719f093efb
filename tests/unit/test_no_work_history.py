"""Code, comments, docs and settings name the capability, never a tracker's ticket or the work's history."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".html", ".css"}
NAMES = {"Makefile", "Dockerfile"}
SKIPPED = {".git", ".venv", "node_modules", "__pycache__", "results", "workspace"}  # bench/results: measured logs
HISTORY = re.compile(r"(?i)\b(?:issue|ticket|session|stop|sprint|step|PR|pull request)\s*(?:no\.?\s*)?#?\d+\b"
                     r"|\btickets?\b")


def _texts() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if SKIPPED & set(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        if path.suffix in SUFFIXES or path.name in NAMES:
            found.append(path)
    return found


def test_no_ticket_numbers_or_work_history() -> None:
    texts = _texts()
    assert len(texts) > 100
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}" for path in texts
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if HISTORY.search(line) and path.name != "test_no_work_history.py"]
    assert hits == []
