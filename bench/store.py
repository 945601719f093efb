"""Results store benchmark (not a test): predictions per second through the API with recording off, on, and on with
pictures kept; and the store's size per 10,000 results (SQLite, and PostgreSQL when Debian's server is installed).

    PYTHONPATH=$PWD .venv/bin/python bench/store.py [--requests 150] [--rounds 3]

The API runs in this process (FastAPI's TestClient: the ASGI app without a network), one 256 px picture per request,
a tiny PatchCore run (demo washers, 256 px square) trained first. Off / on / kept run in alternating blocks of
``--requests`` requests, ``--rounds`` times, so a busy neighbour slows all three alike; the median block is reported.
Writes ``bench/results/<stamp>-store.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

KEY = "bench-key-0123456789abcdef"


def _trained(home: Path) -> str:
    from hamacho_core.pipeline import TrainConfig, train
    from hamacho_core.synthetic import make_demo_dataset

    project = home / "bench"
    make_demo_dataset(project / "data", n_good=20, n_bad_per_type=2, size=256, seed=2)
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / "20260101-000000"),
                      image_size=256, resize="square", write_csv=False, accelerator="cpu"))
    return "bench:20260101-000000"


def _rate(client: object, url: str, pictures: list[bytes], data: dict[str, str]) -> float:
    start = time.perf_counter()
    for index, picture in enumerate(pictures):
        answer = client.post(url, files=[("files", (f"p{index}.png", picture, "image/png"))],  # type: ignore[attr-defined]
                             data={**data, "part_id": f"P{index}"})
        assert answer.status_code == 200, answer.text
    return len(pictures) / (time.perf_counter() - start)


def predictions_per_second(home: Path, run_id: str, requests: int, rounds: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from hamacho_core.api import ApiLimits, create_app
    from hamacho_core.store import ResultStore

    pictures = [p.read_bytes() for p in sorted((home / "bench" / "data").rglob("*.png"))
                if "mask" not in p.parts][:requests]
    pictures = (pictures * (requests // len(pictures) + 1))[:requests]
    url = f"/v1/runs/{quote(run_id)}/predict"
    rates: dict[str, list[float]] = {"off": [], "on": [], "on, pictures kept": []}
    stores = {"on": ResultStore.for_workspace(home, keep_pictures=False),
              "on, pictures kept": ResultStore.for_workspace(home, keep_pictures=True)}
    clients = {"off": TestClient(create_app(home, KEY, ApiLimits(), accelerator="cpu", record=False)),
               **{name: TestClient(create_app(home, KEY, ApiLimits(), accelerator="cpu", record=True, store=store))
                  for name, store in stores.items()}}
    for client in clients.values():
        client.headers["Authorization"] = f"Bearer {KEY}"
        _rate(client, url, pictures[:3], {})  # load the model, warm the caches
    for _ in range(rounds):
        for name, client in clients.items():
            rates[name].append(_rate(client, url, pictures, {}))
    return {name: statistics.median(values) for name, values in rates.items()}


def _rows(n: int) -> list:
    import numpy as np

    from hamacho_core.store import NewResult, picture_sha256

    rng = np.random.default_rng(0)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = []
    for index in range(n):
        defect = rng.random() < 0.05
        regions = [{"region": r + 1, "x": 10, "y": 20, "width": 30, "height": 12, "area_px": 280, "peak_score": 0.91,
                    "peak_x": 22, "peak_y": 25} for r in range(int(defect) + int(rng.random() < 0.3 and defect))]
        rows.append(NewResult("line-a:20260301-070000", f"camera1_{index:06d}.png", picture_sha256(b"%d" % index),
                              float(rng.normal(1.0, 0.1)), float(rng.random()), "defect" if defect else "good", 1.2,
                              1.4, 0.5, 0.5, regions, f"P{index:08d}", "L1", "early", start + timedelta(seconds=index),
                              "api"))
    return rows


def store_size(url: str | None, folder: Path, n: int = 10_000) -> dict[str, float]:
    from sqlalchemy import text

    from hamacho_core.store import ResultStore

    store = ResultStore(url or f"sqlite:///{folder / 'size.sqlite'}", folder / "files")
    rows = _rows(n)
    start = time.perf_counter()
    for first in range(0, n, 500):
        store.add(rows[first:first + 500])
    seconds = time.perf_counter() - start
    with store.engine.connect() as connection:
        if url:
            size = connection.execute(text("SELECT pg_total_relation_size('results')")).scalar()
        else:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            size = (folder / "size.sqlite").stat().st_size
    store.close()
    return {"bytes_per_10000": float(size) * 10_000 / n, "rows_per_second_in_batches_of_500": n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "workspace"
        run_id = _trained(home)
        rates = predictions_per_second(home, run_id, options.requests, options.rounds)
        print("predictions/s:", {k: round(v, 2) for k, v in rates.items()}, flush=True)
        (Path(folder) / "sqlite").mkdir()
        sizes = {"sqlite": store_size(None, Path(folder) / "sqlite")}
        try:
            from postgres_server import shared_server, stop_shared_server

            server = shared_server()
            try:
                sizes["postgresql"] = store_size(server.create_database("bench"), Path(folder) / "pg")
            finally:
                stop_shared_server()
        except RuntimeError as error:
            print(f"PostgreSQL skipped: {error}")
        print("store size:", sizes)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = ROOT / "bench" / "results" / f"{stamp}-store.json"
    out.write_text(json.dumps({"predictions_per_second": rates, "store": sizes, "requests": options.requests,
                               "rounds": options.rounds}, indent=2), encoding="utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
