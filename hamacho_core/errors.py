"""Error types raised by hamacho_core.

Every error a user can cause derives from :class:`HamachoError`; its message says what went wrong and what to do.
The CLI prints it on one line and exits non-zero; the app shows it with ``st.error``.
"""

from __future__ import annotations

__all__ = [
    "BackboneError",
    "Cancelled",
    "ConfigError",
    "DataError",
    "HamachoError",
    "ModelFileError",
    "NotFittedError",
    "WorkspaceError",
]


class HamachoError(Exception):
    """Base class of every error hamacho_core raises on purpose."""


class ConfigError(HamachoError, ValueError):
    """An option or setting has an invalid value."""


class DataError(HamachoError):
    """The dataset cannot be used (missing folder, no readable image, ...)."""


class BackboneError(HamachoError):
    """The feature extractor or its pretrained weights cannot be loaded."""


class ModelFileError(HamachoError):
    """A saved run is missing, damaged, or from a newer format version."""


class NotFittedError(HamachoError):
    """A detector was used before ``fit``."""


class Cancelled(HamachoError):
    """Raised from a progress callback to stop a long operation cleanly."""


class WorkspaceError(HamachoError):
    """A folder cannot be written (missing, below a file, read-only, full) or a path would leave its root."""
