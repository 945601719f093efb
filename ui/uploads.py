"""The app's door for data: the core's import checks (``hamacho_core.uploads``), re-exported for the pages."""

from hamacho_core.uploads import *  # noqa: F403
from hamacho_core.uploads import MAX_RATIO, check_archive, clear_data, save_inference_inputs  # noqa: F401
