"""Locust user for the REST API benchmark (`bench/api_load.py` drives it; not a test).

Each user posts one battery_weld test picture per request, round-robin, with no wait between requests.
Environment: HAMACHO_API_KEY, HAMACHO_BENCH_RUN (run id), HAMACHO_BENCH_PICTURES (folder of pictures).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from urllib.parse import quote

from locust import HttpUser, constant, task

_FOLDER = Path(os.environ.get("HAMACHO_BENCH_PICTURES", "../shared/datasets/battery_weld/test"))
_PICTURES = [(p.name, p.read_bytes()) for p in sorted(_FOLDER.rglob("*.png"))]
_NEXT = itertools.cycle(range(len(_PICTURES)))


class PredictUser(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['HAMACHO_API_KEY']}"
        self.url = f"/v1/runs/{quote(os.environ['HAMACHO_BENCH_RUN'])}/predict"

    @task
    def predict(self) -> None:
        name, data = _PICTURES[next(_NEXT)]
        with self.client.post(self.url, files=[("files", (name, data, "image/png"))], name="predict 1 picture",
                              catch_response=True) as response:
            if response.status_code != 200 or response.json()["results"][0].get("problem"):
                response.failure(f"{response.status_code}: {response.text[:200]}")
