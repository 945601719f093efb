"""Behaviour-unchanged check: run ``hamacho train`` (and ``inference``) from two code trees and compare the outputs.

    .venv/bin/python bench/compare_outputs.py --before /tmp/before --after . --work /tmp/compare
    .venv/bin/python bench/compare_outputs.py --compare-only --work /tmp/compare   # outputs already there

``--before``/``--after`` are source trees (a checkout or ``git archive`` of a commit); each runs in its own process
with ``PYTHONPATH`` set to it, on both shared datasets (``../shared/datasets``). Compared, byte for byte or value for
value: ``metrics/*.csv`` (training and inference), ``metrics.json`` (timing keys aside), the per-pixel CSVs, and the
pictures (reported separately: a picture may differ by encoder details without the numbers moving). Exit status 0
when everything compared is identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
CASES = {  # name -> (category, data format, inference sub-folder)
    "battery_weld": ("battery_weld", "mvtec", "test"),
    "magnetic_tile": ("magnetic_tile", "folder", "bad"),
}
TIMING_KEYS = {"seconds", "elapsed", "timings", "created"}


def run_tree(tree: Path, out: Path, datasets: Path, cases: list[str], options: Sequence[str] = ()) -> None:
    """Train and infer with the code of ``tree``, writing ``out/<case>/``."""
    # cwd = the tree: ``python -m`` puts the working directory first on sys.path, before PYTHONPATH
    tree, out, datasets = tree.resolve(), out.resolve(), datasets.absolute()  # absolute, links kept (paths in tables)
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    for case in cases:
        category, data_format, infer_dir = CASES[case]
        target = out / case
        if (target / category / "patchcore" / "config.yaml").is_file():
            print(f"{target}: already trained, kept", flush=True)
        else:
            subprocess.run([sys.executable, "-m", "hamacho_core.cli", "train", "--data-format", data_format,
                            "--dataset-root", str(datasets), "--category", category, "--result-path", str(target),
                            "--accelerator", "cpu", "--with-mask-label", *options], env=env, check=True, cwd=tree)
        run_dir = target / category / "patchcore"
        images = sorted(p for p in (datasets / category / infer_dir).rglob("*")
                        if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp"})[:6]
        picks = target / "inference_inputs"
        picks.mkdir(parents=True, exist_ok=True)
        for image in images:
            (picks / image.name).write_bytes(image.read_bytes())
        subprocess.run([sys.executable, "-m", "hamacho_core.cli", "inference", "--image-path", str(picks),
                        "--config-path", str(run_dir / "config.yaml"), "--save-path", str(target / "inference"),
                        "--accelerator", "cpu"], env=env, check=True, cwd=tree)


def _strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _files(root: Path, pattern: str) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob(pattern) if p.is_file()}


def compare(before: Path, after: Path) -> dict[str, list[str]]:
    """Differences by kind ("numbers": CSV/JSON, "pictures": PNG); empty lists when identical."""
    found: dict[str, list[str]] = {"numbers": [], "pictures": [], "compared": []}
    for kind, pattern in (("numbers", "*.csv"), ("numbers", "metrics.json"), ("pictures", "*.png")):
        left, right = _files(before, pattern), _files(after, pattern)
        for name in sorted(set(left) ^ set(right)):
            found[kind].append(f"only in {'before' if name in left else 'after'}: {name}")
        for name in sorted(set(left) & set(right)):
            if name.endswith("inference_inputs") or "/inference_inputs/" in name:
                continue
            found["compared"].append(name)
            if name.endswith(".json"):
                same = _strip(json.loads(left[name].read_text("utf-8"))) == _strip(
                    json.loads(right[name].read_text("utf-8")))
            elif name.endswith(".csv"):  # inference tables hold the input paths, which sit below each side's root
                same = left[name].read_text("utf-8-sig").replace(str(before), "<ROOT>") == right[name].read_text(
                    "utf-8-sig").replace(str(after), "<ROOT>")
            else:
                same = left[name].read_bytes() == right[name].read_bytes()
            if not same:
                found[kind].append(f"differs: {name}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="source tree of the old code")
    parser.add_argument("--after", type=Path, default=REPO, help="source tree of the new code (default: this one)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (before/ and after/ below it)")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--side", choices=["before", "after", "both"], default="both", help="which trees to run")
    parser.add_argument("--compare-only", action="store_true")
    parser.add_argument("--after-options", default="", metavar="OPTIONS",
                        help="more train options for the new tree, e.g. '--supervised off'")
    parser.add_argument("--options", default="", metavar="OPTIONS",
                        help="more train options for both trees, e.g. '--supervised off'")
    args = parser.parse_args()
    if not args.compare_only:
        if args.side in ("before", "both"):
            if args.before is None:
                parser.error("--before is required unless --side after or --compare-only")
            run_tree(args.before, args.work / "before", args.datasets, args.cases, shlex.split(args.options))
        if args.side in ("after", "both"):
            options = shlex.split(args.options) + shlex.split(args.after_options)
            run_tree(args.after, args.work / "after", args.datasets, args.cases, options)
    status = 0
    for case in args.cases:
        found = compare(args.work / "before" / case, args.work / "after" / case)
        numbers = "identical" if not found["numbers"] else f"{len(found['numbers'])} differences"
        pictures = "identical" if not found["pictures"] else f"{len(found['pictures'])} differences"
        print(f"{case}: {len(found['compared'])} files compared; numbers: {numbers}; pictures: {pictures}")
        for line in (found["numbers"] + found["pictures"])[:20]:
            print("  " + line)
        status |= bool(found["numbers"] or found["pictures"])
    return status


if __name__ == "__main__":
    sys.exit(main())
