"""Settings of the API server: workspace, key and input limits, from arguments or the environment.

The pixel and upload limits are the core's (:mod:`hamacho_core.limits`, the same variables as the app and the
CLI); the API adds its own bounds on one request (bytes held in memory, pictures per request).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from hamacho_core.errors import ConfigError
from hamacho_core.limits import Limits, env_count
from hamacho_core.workspace import default_workspace

__all__ = ["ApiLimits", "ApiSettings", "check_bind_address", "default_workspace"]

DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024  # one request, all pictures together (held in memory)
DEFAULT_MAX_FILES = 64  # pictures per predict request
DEFAULT_CACHE_SIZE = 4  # loaded runs kept in memory


@dataclass(frozen=True)
class ApiLimits:
    """Input limits enforced at the door, before any decoding."""

    max_upload_bytes: int = DEFAULT_MAX_REQUEST_BYTES  # request body size
    max_image_pixels: int = Limits().max_image_pixels  # height x width of one picture (the core's limit)
    max_files: int = DEFAULT_MAX_FILES  # pictures in one predict request

    @classmethod
    def from_env(cls) -> ApiLimits:
        """The core's limits (``hamacho_core.limits``: ``HAMACHO_MAX_IMAGE_PIXELS``; ``HAMACHO_MAX_UPLOAD_BYTES`` caps a
        request too), ``HAMACHO_API_MAX_REQUEST_BYTES`` (a request is held in memory: 100 MB by default) and
        ``HAMACHO_MAX_FILES`` (pictures per request)."""
        core = Limits.from_env()
        request_bytes = env_count("HAMACHO_API_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES)
        return cls(min(request_bytes, core.max_upload_bytes), core.max_image_pixels,
                   env_count("HAMACHO_MAX_FILES", DEFAULT_MAX_FILES))


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
                   env_count("HAMACHO_API_CACHE_SIZE", DEFAULT_CACHE_SIZE))


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
