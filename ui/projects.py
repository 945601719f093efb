"""The app's view of the project folders: the core's rules (``hamacho_core.projects``), re-exported for the pages."""

from hamacho_core.projects import *  # noqa: F403
from hamacho_core.projects import DATA, DEMO, EXPORTS, INFERENCE, JOBS, RUNS, check_name  # noqa: F401
