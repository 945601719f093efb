"""hamacho_core PatchCore on one benchmark split, in its own process.

    .venv-bench/bin/python bench/hamacho_side.py --split-json SPLIT.json --out PREFIX [--device cpu|cuda]

Same settings as bench/anomalib_side.py: ``tf_efficientnet_lite0`` (strides 8 and 16), 256x256 square resize,
coreset ratio 0.1, 9 neighbours, batch size 32. Writes PREFIX.json (timings, peak RSS, memory-bank size) and
PREFIX.npz (raw image scores, raw anomaly maps), scored by the parent with bench/common.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BACKBONE,
    BATCH_SIZE,
    CORESET_RATIO,
    IMAGE_SIZE,
    NUM_NEIGHBORS,
    REPO_ROOT,
    Split,
    Timer,
    current_rss_mb,
    finish,
    measured,
    peak_rss_mb,
)

if str(REPO_ROOT) not in sys.path:  # the project may not be pip-installed in .venv-bench
    sys.path.insert(1, str(REPO_ROOT))


def parse_overrides(items: list[str]) -> dict:
    """``KEY=VALUE`` config overrides; VALUE is JSON when it parses (numbers, null), 'none' is None, else text."""
    out = {}
    for item in items:
        key, _, text = item.partition("=")
        if text.lower() == "none":
            out[key] = None
            continue
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            out[key] = text
    return out


def build_detector(device: str, batch_size: int, overrides: dict):
    """PatchCore with the benchmark's settings (plus ``overrides`` of any config field); returns
    (detector, its full config as a dict)."""
    from hamacho_core.detectors import PatchCoreConfig, create_detector

    wanted = {
        "backbone": BACKBONE,
        "coreset_ratio": CORESET_RATIO,
        "n_neighbors": NUM_NEIGHBORS,
        "image_size": IMAGE_SIZE,
        "resize": "square",
        "device": device,
        "batch_size": batch_size,
    }
    wanted.update(overrides)
    names = {f.name for f in dataclasses.fields(PatchCoreConfig)}
    missing = sorted(k for k in ("backbone", "coreset_ratio", "n_neighbors", "image_size", "resize", "device")
                     if k not in names)
    if missing:
        raise SystemExit(f"PatchCoreConfig has no field(s) {missing}: update bench/hamacho_side.py")
    settings = {k: v for k, v in wanted.items() if k in names}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise SystemExit(f"PatchCoreConfig has no field(s) {unknown}")
    detector = create_detector("patchcore", PatchCoreConfig(**settings))
    return detector, dataclasses.asdict(detector.config)


def memory_bank_shape(detector) -> list[int] | None:
    """Shape of the fitted memory bank, wherever this version of the detector keeps it."""
    for name in ("memory_bank_", "memory_bank", "bank_"):
        value = getattr(detector, name, None)
        if value is not None and hasattr(value, "shape"):
            return [int(n) for n in value.shape]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split-json", required=True)
    parser.add_argument("--out", required=True, help="output prefix (PREFIX.json, PREFIX.npz)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override PatchCoreConfig fields, e.g. max_bank_size=none exact_search_limit=1000000")
    parser.add_argument("--no-maps", action="store_true", help="do not save anomaly maps (scaling runs)")
    args = parser.parse_args()

    split = Split.from_json(json.loads(Path(args.split_json).read_text()))
    t0 = time.perf_counter()
    import numpy as np

    import hamacho_core.detectors
    from hamacho_core.runtime import tune_allocator

    tune_allocator()  # what the hamacho CLI and app do at start-up

    import_s = time.perf_counter() - t0
    rss_after_import = current_rss_mb()

    with Timer() as init:
        detector, settings = build_detector(args.device, args.batch_size, parse_overrides(args.set))
    with Timer() as fit:
        detector.fit(list(split.train), progress=None)
    peak_after_fit = peak_rss_mb()
    bank = memory_bank_shape(detector)

    test_paths = [s.path for s in split.test]
    with Timer() as predict:
        prediction = detector.predict(test_paths)
    scores = np.asarray(prediction.scores, dtype=np.float64).reshape(-1)
    maps = np.asarray(prediction.maps, dtype=np.float32)
    if len(scores) != len(test_paths) or len(maps) != len(test_paths):
        raise SystemExit(f"hamacho returned {len(scores)} scores / {len(maps)} maps for {len(test_paths)} images")

    n_test = len(split.test)
    import hamacho_core

    info = {
        "tool": "hamacho",
        "version": getattr(hamacho_core, "__version__", "dev"),
        "dataset": split.name,
        "device": args.device,
        "n_train": len(split.train),
        "n_test": n_test,
        "batch_size": settings.get("batch_size"),
        "settings": settings,
        "import_s": import_s,
        "memory_bank": bank,
        "search": type(getattr(detector, "_search", None)).__name__,  # exact k-NN, or an inverted file for big banks
        "map_shape": list(maps.shape[1:]),
        "input_shape": detector.input_shape_.describe(),  # e.g. "384 x 3840 in 9 tiles (1 x 9) of 384 x 512"
        **measured(init, fit, predict, n_test, rss_after_import, peak_after_fit),
    }
    finish(args.out, info, scores, None if args.no_maps else maps)


if __name__ == "__main__":
    main()
