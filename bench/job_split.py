"""Whole-job timing of ``hamacho train`` from one source tree: wall time split into fit / predict / outputs / rest.

    .venv/bin/python bench/job_split.py --tree /tmp/before --work /tmp/split-before
    .venv/bin/python bench/job_split.py --tree . --work /tmp/split-after

Runs, in fresh processes with ``PYTHONPATH`` set to ``--tree``: ``hamacho --help`` (``--help-runs`` times, the
fastest kept), ``hamacho inference --help``, then one ``hamacho train`` on battery_weld (mvtec layout, ``--image-size
256``, CPU). The train command's own ``fit / predict / outputs`` line gives the split; ``rest`` = whole-process wall
time minus those three (interpreter start, imports, masks, thresholds, metrics, saving the model). Peak RSS is the
train process's ``ru_maxrss``. ``head_s``: the supervised head's cross-fitting (the CLI's "supervised head" time; not in
``rest`` any more). The machine's load average is printed with the figures: only quote quiet runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB of the largest child so far, output) of one child process."""
    start = time.perf_counter()
    # cwd = the tree: ``python -m`` puts the working directory first on sys.path, before PYTHONPATH
    process = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False, cwd=env["PYTHONPATH"])
    wall = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{process.stdout[-2000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, process.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO, help="source tree to run (a checkout or git archive)")
    parser.add_argument("--work", type=Path, required=True, help="output folder for the run")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--category", default="battery_weld")
    parser.add_argument("--image-size", type=int, default=256, help="0: the product's automatic size")
    parser.add_argument("--data-format", default="mvtec", choices=("mvtec", "folder"),
                        help="folder: the old tool's layout (good/, bad/<type>/, mask/<type>/), masks used")
    parser.add_argument("--extra", default="", metavar="OPTIONS",
                        help="more train options in one string, e.g. --extra='--supervised off'")
    parser.add_argument("--help-runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.tree.resolve())}
    cli = [sys.executable, "-m", "hamacho_core.cli"]
    helps = [_timed([*cli, "--help"], env)[0] for _ in range(args.help_runs)]
    inference_help = _timed([*cli, "inference", "--help"], env)[0]
    load_before = os.getloadavg()
    root = str(args.data_root.resolve())
    layout = ["--data-format", "mvtec"] if args.data_format == "mvtec" else ["--with-mask-label"]
    size = ["--image-size", str(args.image_size)] if args.image_size else []
    wall, rss, output = _timed([*cli, "train", *layout, "--dataset-root", root, "--category", args.category, *size,
                                *shlex.split(args.extra),
                                "--accelerator", "cpu", "--result-path", str(args.work.resolve())], env)
    found = re.search(r"fit ([\d.]+) s, predict ([\d.]+) s, outputs ([\d.]+) s", output)
    fit, predict, outputs = (float(v) for v in found.groups())
    head = re.search(r"supervised head ([\d.]+) s", output)
    result = {"tree": str(args.tree), "category": args.category, "image_size": args.image_size, "extra": args.extra,
              "help_s": round(min(helps), 3), "inference_help_s": round(inference_help, 3),
              "wall_s": round(wall, 2), "fit_s": fit, "predict_s": predict, "outputs_s": outputs,
              "head_s": float(head.group(1)) if head else None,
              "rest_s": round(wall - fit - predict - outputs - (float(head.group(1)) if head else 0.0), 2),
              "peak_rss_mb": rss,
              "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()]}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
