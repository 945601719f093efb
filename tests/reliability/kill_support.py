"""The kill-point test's training entry point (a module of its own: its worker processes import it by name).

The fork server that the test's trainings are forked from imports ``PRELOAD`` once (the pipeline, torch and the
libraries a training imports lazily), so a kill's process starts with them loaded. Only imports: nothing runs torch's
thread pool before the fork. The fork server does not get the test's ``sys.path`` (Python 3.11 ignores it, and a
preload that cannot be imported is skipped silently), so ``PRELOAD`` names installed modules only, not this one.
"""

from __future__ import annotations

import os
import sys

from hamacho_core.errors import HamachoError
from hamacho_core.pipeline import TrainConfig, train

PRELOAD = ["hamacho_core.pipeline", "hamacho_core.supervision", "hamacho_core.crossfit", "hamacho_core.plots",
           "timm", "sklearn.metrics", "matplotlib.pyplot", "onnxruntime", "onnx"]


def run_training(settings: dict, environ: dict[str, str]) -> None:
    """Train ``TrainConfig(**settings)`` with ``environ`` added to this process's environment.

    Exits with status 3 on a HamachoError, so that a SIGKILL (exit code -9) is told apart.
    """
    os.environ.update(environ)
    try:
        train(TrainConfig(**settings))
    except HamachoError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(3)
