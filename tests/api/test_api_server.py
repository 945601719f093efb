"""`hamacho serve` as a real uvicorn process on a free loopback port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from api_support import KEY, RUN_ID, demo_pictures

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def server(trained_workspace: Path) -> Iterator[str]:
    """`python -m hamacho_core serve --port 0` (the system picks a free port, read back from uvicorn's log)."""
    env = {**os.environ, "HAMACHO_API_KEY": KEY, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "hamacho_core", "serve", "--host", "127.0.0.1", "--port", "0", "--workspace",
         str(trained_workspace), "--accelerator", "cpu"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url, seen = None, []
        deadline = time.time() + 120
        while url is None and time.time() < deadline and process.poll() is None:
            line = process.stderr.readline()
            seen.append(line)
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, "".join(seen)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def test_a_real_uvicorn_server_answers_the_contract(server: str, trained_workspace: Path) -> None:
    with httpx.Client(base_url=server, timeout=120) as client:
        assert client.get("/health").json()["status"] == "ok"
        refused = client.get("/v1/runs")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "error" in refused.json()
        headers = {"Authorization": f"Bearer {KEY}"}
        assert [r["id"] for r in client.get("/v1/runs", headers=headers).json()["runs"]] == [RUN_ID]
        picture = demo_pictures(trained_workspace, 1)[-1]  # a defect picture
        answer = client.post(f"/v1/runs/{quote(RUN_ID)}/predict", headers=headers,
                             files=[("files", (picture.name, picture.read_bytes(), "image/png"))])
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["verdict"] == "defect"
        assert client.get("/openapi.json").json()["info"]["title"] == "Hamacho API"
