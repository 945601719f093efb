"""The API's documentation pages work offline, and `hamacho serve --check` refuses what `serve` would refuse.

`/docs` (Swagger UI) and `/redoc` must load every script, style sheet and icon from the server itself: on a line
network or behind a firewall a CDN link leaves the page blank.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_support import KEY, LIMITS
from click.testing import CliRunner
from fastapi.testclient import TestClient

from hamacho_core.api import create_app
from hamacho_core.cli import main

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


def _assets(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize(("page", "kinds"), [("/docs", {".js", ".css"}), ("/redoc", {".js"})])
def test_doc_pages_load_only_local_assets(tmp_path: Path, page: str, kinds: set[str]) -> None:
    client = TestClient(create_app(tmp_path, KEY, LIMITS, accelerator="cpu"))
    response = client.get(page)  # no key needed, as before
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", html) == [], "the page links to another host"
    assets = _assets(html)
    assert {Path(a).suffix for a in assets} >= kinds, assets
    for asset in assets:
        assert asset.startswith("/"), f"{asset}: not served by this server"
        served = client.get(asset)
        assert served.status_code == 200, asset
        if asset.endswith((".js", ".css")):
            assert len(served.content) > 10_000, f"{asset}: {len(served.content)} bytes, not the real bundle"
    assert "/openapi.json" in assets
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "Hamacho API"


@pytest.mark.parametrize(("key", "host", "code", "words"), [
    (None, "0.0.0.0", 1, "without a key"),
    ("short", "0.0.0.0", 1, "shorter than 16"),
    (KEY, "0.0.0.0", 0, "ready to serve"),
    (None, "127.0.0.1", 0, "loopback only"),
])
def test_serve_check_exits_with_the_reason_and_serves_nothing(tmp_path: Path, key: str | None, host: str,
                                                              code: int, words: str) -> None:
    env = {"HAMACHO_API_KEY": key or ""}
    result = CliRunner().invoke(main, ["serve", "--host", host, "--workspace", str(tmp_path), "--check"], env=env)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing started
