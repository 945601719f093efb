"""Constants and helpers of the API tests (a module of its own: ``conftest`` is a name every test folder uses)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamacho_core.api import ApiLimits

PROJECT = "検査A"  # a Japanese project name: ids travel URL-encoded
RUN = "20250101-120000"
RUN_ID = f"{PROJECT}:{RUN}"
KEY = "test-key-0123456789abcdef"
LIMITS = ApiLimits(max_upload_bytes=3_000_000, max_image_pixels=1_000_000, max_files=8)


def png_bytes(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image)
    assert ok
    return data.tobytes()


def demo_pictures(workspace: Path, n: int = 2) -> list[Path]:
    """Good and defect pictures of the demo project."""
    data = workspace / PROJECT / "data"
    return sorted((data / "good").glob("*.png"))[:n] + sorted((data / "bad").rglob("*.png"))[:n]
