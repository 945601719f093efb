"""Settings of the API server: workspace, key and input limits, from arguments or the environment.

The limits use the same environment variables as the rest of the project (``HAMACHO_MAX_UPLOAD_BYTES``,
``HAMACHO_MAX_IMAGE_PIXELS``); :class:`ApiLimits` is a small dataclass so it can be folded into a core-wide limits
module later without changing the API code that reads it.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from hamacho_core.errors import ConfigError

__all__ = ["ApiLimits", "ApiSettings", "check_bind_address", "default_workspace"]

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # one request, all pictures together
DEFAULT_MAX_IMAGE_PIXELS = 64_000_000  # one picture (a 16,000 x 4,000 line-scan photo)
DEFAULT_MAX_FILES = 64  # pictures per predict request
DEFAULT_CACHE_SIZE = 4  # loaded runs kept in memory


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number: set it to e.g. {default}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class ApiLimits:
    """Input limits enforced at the door, before any decoding."""

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES  # request body size
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS  # height x width of one picture
    max_files: int = DEFAULT_MAX_FILES  # pictures in one predict request

    @classmethod
    def from_env(cls) -> ApiLimits:
        """Limits from ``HAMACHO_MAX_UPLOAD_BYTES``, ``HAMACHO_MAX_IMAGE_PIXELS`` and ``HAMACHO_MAX_FILES``."""
        return cls(_env_int("HAMACHO_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
                   _env_int("HAMACHO_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS),
                   _env_int("HAMACHO_MAX_FILES", DEFAULT_MAX_FILES))


def default_workspace() -> Path:
    """The app's workspace: ``HAMACHO_HOME``, default ``./workspace`` (as ``ui.projects.workspace``)."""
    return Path(os.environ.get("HAMACHO_HOME", "./workspace")).expanduser().resolve()


@dataclass(frozen=True)
class ApiSettings:
    """Everything ``create_app`` needs besides the limits."""

    workspace: Path = field(default_factory=default_workspace)
    api_key: str | None = None  # None: no authentication (loopback only)
    cache_size: int = DEFAULT_CACHE_SIZE
    accelerator: str = "auto"  # "cpu" | "gpu" | "auto" for loaded runs

    @classmethod
    def from_env(cls, workspace: str | Path | None = None) -> ApiSettings:
        key = os.environ.get("HAMACHO_API_KEY") or None
        return cls(Path(workspace).expanduser().resolve() if workspace else default_workspace(), key,
                   _env_int("HAMACHO_API_CACHE_SIZE", DEFAULT_CACHE_SIZE))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind_address(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without a key.

    Raises:
        ConfigError: ``host`` is not a loopback address and no key is set.
    """
    if not api_key and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host} without a key: anyone on the network could use the API. "
                          "Set HAMACHO_API_KEY to a long random secret (e.g. `python -c \"import secrets; "
                          "print(secrets.token_urlsafe(32))\"`), or serve on 127.0.0.1")
    if api_key is not None and len(api_key) < 16:
        raise ConfigError("HAMACHO_API_KEY is shorter than 16 characters: use a long random secret")
