"""The kill-point test's training entry point (a module of its own: its worker processes import it by name).

Imported once by the fork server that the test's trainings are forked from, so torch and the pipeline are loaded
once, not once per kill.
"""

from __future__ import annotations

import os
import sys

from hamacho_core.errors import HamachoError
from hamacho_core.pipeline import TrainConfig, train


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
