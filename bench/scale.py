"""Benchmark of `hamacho score` (Ray) against `hamacho inference` on magnetic_tile pictures repeated to N.

    PYTHONPATH=$PWD .venv/bin/python bench/scale.py [--n 5000] [--train 40] [--out bench/results]

Trains one PatchCore run (default settings) on --train good magnetic_tile pictures, links the dataset's pictures
under distinct names until there are --n of them, then times, one after the other (never at the same time):
`infer` in this process (torch on all CPUs; it writes the picture tree, so the Ray runs use --maps --no-csv
too), `hamacho score --engine local` with 1 worker (all CPUs) and with 2
workers (1 CPU each), and a two-node cluster on this machine (tests/scale/cluster_support.py: `ray start --head`
+ `ray start --address`, 1 CPU each). Each Ray run is timed in a fresh subprocess, Ray start-up and model loading
included ("wall"), and from its first to its last finished batch ("steady", from the parts' file times).
Writes ``<out>/<stamp>-ray-scale.json`` and prints a Markdown table. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "scale"))
DATASET = REPO.parent / "shared" / "datasets" / "magnetic_tile"


def _pictures(root: Path, n: int) -> Path:
    sources = sorted(p for p in DATASET.rglob("*.jpg") if "mask" not in p.parts)
    folder = root / "pictures"
    folder.mkdir()
    for index in range(n):
        source = sources[index % len(sources)]
        (folder / f"{index:06d}_{source.name}").symlink_to(source)
    return folder


def _train(root: Path, n_train: int, image_size: int | None) -> Path:
    from hamacho_core.pipeline import TrainConfig, train

    good = sorted((DATASET / "good").glob("*.jpg"))[:n_train]
    bad = sorted(p for p in (DATASET / "bad").rglob("*.jpg"))[:10]
    config = TrainConfig(model="patchcore", data_format="filelist", result_path=str(root / "results"),
                         good_file_list=",".join(map(str, good)), bad_file_list=",".join(map(str, bad)),
                         accelerator="cpu", write_csv=False, image_size=image_size)
    return train(config).run_dir / "config.yaml"


def _steady(out: Path) -> float:
    times = sorted(p.stat().st_mtime for p in (out / "parts").glob("part-*.parquet"))
    return times[-1] - times[0] if len(times) > 1 else float("nan")


def _score(run: Path, pictures: Path, out: Path, env: dict[str, str], *extra: str) -> dict:
    started = time.perf_counter()
    command = [sys.executable, "-m", "hamacho_core", "score", "--config-path", str(run), "--input", str(pictures),
               "--output", str(out), "--batch-size", "8", "--maps", "--no-csv", *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    n_parts = len(list((out / "parts").glob("part-*.parquet")))
    return {"wall_s": wall, "steady_s": _steady(out), "n_parts": n_parts, "stdout": done.stdout.strip()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--train", type=int, default=40)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--image-size", type=int, default=None,
                        help="Model input side (square); default: the product's automatic size.")
    parser.add_argument("--run", default=None, help="An existing run's config.yaml (skips training).")
    parser.add_argument("--no-cluster", action="store_true", help="Skip the two-node cluster (its start is slow).")
    args = parser.parse_args()
    from cluster_support import LocalCluster, child_env

    env = child_env()
    env.pop("OMP_NUM_THREADS")
    results: dict = {"n": args.n, "image_size": args.image_size, "cpus": os.cpu_count(),
                     "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hamacho-scale-") as temp:
        root = Path(temp)
        started = time.perf_counter()
        run = Path(args.run) if args.run else _train(root, args.train, args.image_size)
        results["train_s"] = time.perf_counter() - started
        pictures = _pictures(root, args.n)

        from hamacho_core.pipeline import infer

        started = time.perf_counter()
        infer(run, pictures, root / "inference", batch_size=8, accelerator="cpu", write_csv=False)  # maps written
        results["inference"] = {"wall_s": time.perf_counter() - started}
        results["local_1x2cpu"] = _score(run, pictures, root / "local1", env, "--workers", "1")
        results["local_2x1cpu"] = _score(run, pictures, root / "local2", env, "--workers", "2",
                                         "--cpus-per-worker", "1")
        if not args.no_cluster:
            cluster = LocalCluster()
            try:
                cluster.start(timeout=300)
                results["cluster_2nodes"] = _score(run, pictures, root / "cluster", env, "--address", cluster.address)
            finally:
                cluster.stop()
    for value in results.values():
        if isinstance(value, dict):
            value["pictures_per_s"] = args.n / value["wall_s"]
            if value.get("steady_s"):
                batches = value["n_parts"] - 1  # pictures after the first finished batch
                value["steady_pictures_per_s"] = batches * 8 / value["steady_s"]
    results["load_after"] = os.getloadavg()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{stamp}-ray-scale.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print("| engine | pictures/s (wall) | pictures/s (steady) | wall s |")
    print("|---|---|---|---|")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"| {key} | {value['pictures_per_s']:.2f} | {value.get('steady_pictures_per_s', float('nan')):.2f} "
                  f"| {value['wall_s']:.1f} |")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
