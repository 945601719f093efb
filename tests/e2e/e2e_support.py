"""Constants shared by the browser tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"  # fixed names, referenced by the README
CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium (Playwright's own download is not used)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
