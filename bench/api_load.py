"""REST API load benchmark (not a test): `hamacho serve` under 1, 4 and 16 concurrent locust users.

    PYTHONPATH=$PWD .venv/bin/python bench/api_load.py --workspace WS --run-id battery_weld:RUN [--seconds 60]

Starts `hamacho serve` on a free loopback port with a random key, warms the model up with one request, then runs
locust headless once per user count (one picture per request, no wait) and writes
`bench/results/<stamp>-api.{json,md}`: requests, errors, images/s, p50/p95 latency. The load generator shares the
machine with the server: on 2 cores, locust's own CPU use is part of the figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT.parent / "shared" / "datasets" / "battery_weld" / "test"


def start_server(workspace: Path, key: str, torch_threads: int | None) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "HAMACHO_API_KEY": key, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "hamacho_core", "serve", "--host", "127.0.0.1", "--port", "0",
                                "--workspace", str(workspace), "--accelerator", "cpu",
                                *(["--torch-threads", str(torch_threads)] if torch_threads else [])],
                               cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        if found:
            # Keep draining stderr (the access log) so the pipe never fills up and blocks the server.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, found.group(1)
    process.kill()
    raise SystemExit("hamacho serve did not start")


def run_locust(url: str, key: str, run_id: str, users: int, seconds: int, prefix: Path) -> dict:
    env = {**os.environ, "HAMACHO_API_KEY": key, "HAMACHO_BENCH_RUN": run_id, "HAMACHO_BENCH_PICTURES": str(PICTURES)}
    locust = Path(sys.executable).parent / "locust"
    subprocess.run([str(locust), "-f", str(ROOT / "bench" / "api_locustfile.py"), "--headless", "-u", str(users),
                    "-r", str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(prefix), "--only-summary",
                    "--loglevel", "WARNING"], env=env, check=False, cwd=ROOT)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as file:
        row = next(r for r in csv.DictReader(file) if r["Name"] == "Aggregated")
    return {"users": users, "seconds": seconds, "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]), "images_per_s": round(float(row["Requests/s"]), 2),
            "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]),
            "mean_ms": round(float(row["Average Response Time"]), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", default="1,4,16")
    parser.add_argument("--torch-threads", type=int, default=None)
    args = parser.parse_args()
    key = secrets.token_urlsafe(32)
    process, url = start_server(args.workspace.resolve(), key, args.torch_threads)
    results, stamp = [], datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        picture = sorted(PICTURES.rglob("*.png"))[0]
        warm = httpx.post(f"{url}/v1/runs/{quote(args.run_id)}/predict", timeout=300,
                          headers={"Authorization": f"Bearer {key}"},
                          files=[("files", (picture.name, picture.read_bytes(), "image/png"))])
        warm.raise_for_status()
        for users in (int(u) for u in args.users.split(",")):
            load = os.getloadavg()[0]
            result = run_locust(url, key, args.run_id, users, args.seconds, Path("/tmp") / f"hamacho-api-{users}")
            result["load_average_before"] = round(load, 1)
            results.append(result)
            print(json.dumps(result), flush=True)
        write_results(stamp, args.run_id, results)
    finally:
        process.terminate()  # requests still queued when locust stops are answered first (graceful shutdown)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_results(stamp: str, run_id: str, results: list[dict]) -> None:
    out = ROOT / "bench" / "results"
    record = {"stamp": stamp, "run_id": run_id, "cpu_count": os.cpu_count(), "results": results}
    (out / f"{stamp}-api.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    lines = ["| users | requests | errors | images/s | p50 ms | p95 ms | load avg before |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['users']} | {r['requests']} | {r['errors']} | {r['images_per_s']} | {r['p50_ms']:.0f} | "
              f"{r['p95_ms']:.0f} | {r['load_average_before']} |" for r in results]
    (out / f"{stamp}-api.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
