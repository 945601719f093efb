"""Data doctor benchmark: problems planted in copies of the shared sets, found or not.

For each set a copy is made in a temporary folder (never the repository) and problems are planted:
defect pictures copied into good, good pictures duplicated across the train / test split (folder layout: under a
second name in good/) - each copy the same file, re-saved as JPEG, resized or slightly cropped -, masks emptied,
good pictures blurred (Gaussian, sigma 4). A planted problem is found when a finding names the planted picture; a
finding that names no planted picture is counted as false.

    python bench/doctor.py [--datasets battery_weld magnetic_tile ...] [--per-kind 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hamacho_core.doctor import DoctorConfig, examine  # noqa: E402
from hamacho_core.imageio import is_image_file  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"
SETS = {"battery_weld": "mvtec", "magnetic_tile": "folder", "ball_screw": "mvtec", "mpdd_metal_plate": "mvtec"}


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p)) if folder.is_dir() else []


COPIES = ("same file", "JPEG re-save", "resized to 60 %", "cropped 1 %")


def _copy(source: Path, target: Path, how: str) -> None:
    """A copy as it happens in real data: the same file, re-saved as JPEG (quality 80), resized, slightly cropped."""
    if how == "same file":
        shutil.copy(source, target)
        return
    image = cv2.imdecode(np.fromfile(str(source), np.uint8), cv2.IMREAD_UNCHANGED)
    h, w = image.shape[:2]
    if how == "JPEG re-save":
        image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_UNCHANGED)
    elif how == "resized to 60 %":
        image = cv2.resize(image, (round(w * 0.6), round(h * 0.6)), interpolation=cv2.INTER_AREA)
    else:
        c = max(1, round(0.01 * min(h, w)))
        image = image[c:-c, c:-c]
    cv2.imencode(source.suffix, image)[1].tofile(str(target))


def plant(root: Path, layout: str, per_kind: int, seed: int = 0) -> dict[str, str]:
    """Plant problems in the copy at ``root``; returns {planted picture: kind}."""
    rng = np.random.default_rng(seed)
    good_dir = root / ("train/good" if layout == "mvtec" else "good")
    test_good = root / "test/good"
    bad = _images(root / ("test" if layout == "mvtec" else "bad"))
    bad = [p for p in bad if "good" not in p.parts]
    goods = _images(good_dir)
    masks = _images(root / ("ground_truth" if layout == "mvtec" else "mask"))
    planted: dict[str, str] = {}
    pick = lambda items, n: [items[i] for i in rng.choice(len(items), n, replace=False)]  # noqa: E731
    for i, source in enumerate(pick(bad, per_kind)):
        target = good_dir / f"planted_defect_{i}{source.suffix}"
        _copy(source, target, COPIES[i % len(COPIES)])
        planted[str(target)] = f"defect in good ({COPIES[i % len(COPIES)]})"
    chosen = pick(goods, 2 * per_kind)
    for i, source in enumerate(chosen[:per_kind]):
        target = (test_good if layout == "mvtec" else good_dir) / f"planted_dup_{i}{source.suffix}"
        _copy(source, target, COPIES[(i + 2) % len(COPIES)])
        planted[str(target)] = f"duplicate across the split ({COPIES[(i + 2) % len(COPIES)]})"
    for source in chosen[per_kind:]:
        image = cv2.imdecode(np.fromfile(str(source), np.uint8), cv2.IMREAD_UNCHANGED)
        blurred = cv2.GaussianBlur(image, (0, 0), 4)
        cv2.imencode(source.suffix, blurred)[1].tofile(str(source))
        planted[str(source)] = "blurred"
    full = [m for m in masks if cv2.imdecode(np.fromfile(str(m), np.uint8), cv2.IMREAD_GRAYSCALE).max() > 0]
    for mask in pick(full, per_kind):
        image = cv2.imdecode(np.fromfile(str(mask), np.uint8), cv2.IMREAD_GRAYSCALE)
        cv2.imencode(mask.suffix, np.zeros_like(image))[1].tofile(str(mask))
        planted[str(mask)] = "emptied mask"
    return planted


def run(name: str, per_kind: int, config: DoctorConfig) -> dict:
    layout = SETS[name]
    with tempfile.TemporaryDirectory(prefix="hamacho-doctor-") as tmp:
        root = Path(tmp) / name
        shutil.copytree(SHARED / name, root)
        planted = plant(root, layout, per_kind)
        started = time.perf_counter()
        report = examine(root, layout, config)
        seconds = time.perf_counter() - started
        named = [set(f.pictures) for f in report.findings]
        found = {p for p in planted if any(p in pictures for pictures in named)}
        unplanted = [f for f, pictures in zip(report.findings, named, strict=True) if not pictures & set(planted)]
        # problems already in the shared set that a check of the files proves (identical pixels, a mask without a
        # defect pixel): real, not false; every other finding on a picture nobody planted counts as false
        real = [f for f in unplanted if f.kind in ("duplicate", "mask_empty")]
        false = [f for f in unplanted if f.kind not in ("duplicate", "mask_empty")]
        missed = sorted(set(planted) - found)
        return {"set": name, "pictures": report.n_pictures, "planted": len(planted), "found": len(found),
                "findings": len(report.findings), "false": len(false), "real": len(real), "seconds": seconds,
                "false_by_kind": dict(Counter(f.kind for f in false)),
                "missed": [f"{planted[p]}: {Path(p).name}" for p in missed],
                "false_kinds": sorted({f.kind for f in false}), "false_lines": [f.describe() for f in false[:8]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    parser.add_argument("--per-kind", type=int, default=5)
    args = parser.parse_args()
    print("| set | pictures | planted | found | recall | findings | already in the set (identical pixels, empty mask) "
          "| false | false share | time |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    rows = []
    for name in args.datasets:  # each row as soon as its set is done
        r = run(name, args.per_kind, DoctorConfig())
        rows.append(r)
        share = r["false"] / max(r["findings"], 1)
        print(f"| {r['set']} | {r['pictures']} | {r['planted']} | {r['found']} | {r['found'] / r['planted']:.0%} | "
              f"{r['findings']} | {r['real']} | {r['false']} | {share:.0%} | {r['seconds']:.0f} s |", flush=True)
    for r in rows:
        if r["missed"] or r["false_lines"]:
            print(f"\n{r['set']}: missed {r['missed']}; false findings by kind {r['false_by_kind']}")
            for line in r["false_lines"]:
                print("   ", line)


if __name__ == "__main__":
    main()
