"""Projects: one folder per project under the workspace (``HAMACHO_HOME``, default ``./workspace``).

Layout of a project::

    <project>/data/good/ bad/<type>/ mask/<type>/   the dataset (the old tool's folder layout)
    <project>/runs/<timestamp>/                       trained runs (hamacho_core.persistence)
    <project>/jobs/<id>.json                          training job status (hamacho_core.jobs)
    <project>/inference/<timestamp>/                  inference inputs and outputs
    <project>/exports/                                report ZIPs

A folder holding ``good/`` directly (``make run`` writes ``$HAMACHO_HOME/demo`` that way) is a project too: its
data folder is the project folder itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hamacho_core.errors import HamachoError
from hamacho_core.persistence import RunInfo, list_runs
from hamacho_core.progress import ProgressCallback
from hamacho_core.synthetic import make_demo_dataset
from hamacho_core.workspace import (
    HOME_VARIABLE,
    PROJECT_DATA,
    PROJECT_RUNS,
    default_workspace,
    inside,
    new_stamp,
    project_data_dir,
    writable_folder,
)

__all__ = [
    "ProjectError",
    "create_project",
    "data_dir",
    "delete_project",
    "ensure_demo",
    "inference_sessions",
    "list_projects",
    "new_stamp",
    "project_folder",
    "project_runs",
    "rename_project",
    "workspace",
]

DATA, RUNS = PROJECT_DATA, PROJECT_RUNS
JOBS, INFERENCE, EXPORTS, DEMO = "jobs", "inference", "exports", "demo"
_FORBIDDEN = set('/\\:*?"<>|')


class ProjectError(HamachoError):
    """A project name or operation is not allowed."""


def workspace() -> Path:
    """The workspace folder (created when missing).

    Raises:
        WorkspaceError: it cannot be created or written (below a regular file, read-only, full disk); the message
            names the folder and what to do.
    """
    return writable_folder(default_workspace(), HOME_VARIABLE)


def project_folder(name: str, root: Path | None = None) -> Path:
    """``<workspace>/<name>`` for a valid name, never outside the workspace (ProjectError / WorkspaceError)."""
    return inside(root or workspace(), check_name(name))


def check_name(name: str) -> str:
    """A usable project name (Japanese allowed), stripped.

    Raises:
        ProjectError: empty, hidden, or with characters not allowed in folder names.
    """
    name = name.strip()
    if not name or name in (".", "..") or name.startswith("."):
        raise ProjectError("project name is empty or starts with a dot: choose another name")
    if _FORBIDDEN & set(name) or any(ord(c) < 32 for c in name):
        allowed = " ".join(sorted(_FORBIDDEN))
        raise ProjectError(f"project name {name!r} contains a character not allowed in folder names ({allowed})")
    return name


def list_projects(root: Path | None = None) -> list[str]:
    """Project names in the workspace, sorted."""
    root = root or workspace()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def create_project(name: str, root: Path | None = None) -> Path:
    """Create an empty project. Raises ProjectError when it exists."""
    folder = project_folder(name, root)
    if folder.exists():
        raise ProjectError(f"a project named {folder.name!r} already exists")
    (folder / DATA).mkdir(parents=True)
    return folder


def rename_project(old: str, new: str, root: Path | None = None) -> Path:
    """Rename a project folder. Raises ProjectError when the new name is taken or invalid."""
    root = root or workspace()
    source, target = project_folder(old, root), project_folder(new, root)
    if not source.is_dir():
        raise ProjectError(f"project {old!r} not found")
    if target.exists():
        raise ProjectError(f"a project named {target.name!r} already exists")
    return source.rename(target)


def delete_project(name: str, root: Path | None = None) -> None:
    """Delete a project folder and everything in it."""
    folder = project_folder(name, root)
    if not folder.is_dir():
        raise ProjectError(f"project {name!r} not found")
    shutil.rmtree(folder)


data_dir = project_data_dir  # the project's dataset folder (the core's rule, shared with the API)


def project_runs(project: Path) -> list[RunInfo]:
    """Trained runs of the project, newest first."""
    runs = project / RUNS
    return list_runs(runs) if runs.is_dir() else []


def ensure_demo(root: Path | None = None, progress: ProgressCallback | None = None) -> str:
    """The demo project's name, generating a small demo dataset when no ``demo`` project exists yet."""
    folder = (root or workspace()) / DEMO
    if not folder.is_dir() or not any(folder.iterdir()):
        make_demo_dataset(folder / DATA, n_good=30, n_bad_per_type=4, progress=progress)
    return DEMO


def inference_sessions(project: Path, run_dir: Path) -> list[Path]:
    """Inference folders of the project made with ``run_dir``, newest first."""
    found = []
    for folder in sorted((project / INFERENCE).glob("*"), reverse=True):
        try:
            meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if Path(meta.get("run_dir", "")) == run_dir and (folder / "output" / "metrics" / "pred_outputs.csv").is_file():
            found.append(folder)
    return found
