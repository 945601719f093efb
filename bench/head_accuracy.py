"""The supervised head's cross-fitted accuracy and time, before and after a change, on the same head inputs.

    # once: fit + predict at the product defaults, head inputs cached (float16) in DIR
    PYTHONPATH=$PWD .venv/bin/python bench/head_accuracy.py prepare --cache /tmp/heads
    # then the cross-fitting of any source tree on those inputs (one process per tree), and the table
    PYTHONPATH=/tmp/before .venv/bin/python bench/head_accuracy.py score --cache /tmp/heads --out /tmp/heads/before.json
    PYTHONPATH=$PWD .venv/bin/python bench/head_accuracy.py score --cache /tmp/heads --out /tmp/heads/after.json
    .venv/bin/python bench/head_accuracy.py compare /tmp/heads/before.json /tmp/heads/after.json

``prepare`` trains the plain detector on each shared set (``../shared/datasets``) exactly as ``hamacho train`` does
at its defaults and keeps what the cross-fitting sees: the test pictures' head inputs, labels, defect types, masks
at the model input (all-False for good pictures, as ``supervision.supervise`` gives them), the plain scores and
the input shape. ``score`` runs ``crossfit.cross_fit`` of whatever ``hamacho_core`` is on ``PYTHONPATH`` with the
product's settings (no learning curve) and records the cross-fitted image AUROC, the combination chosen and the
cross-fitting's wall time; ``compare`` prints both side by side. Both trees see identical inputs, so the AUROC
difference is the cross-fitting's alone.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from pathlib import Path

import numpy as np

SETS = {"battery_weld": "mvtec", "magnetic_tile": "folder", "ball_screw": "mvtec", "mpdd_metal_plate": "mvtec"}
DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def prepare(cache: Path, names: list[str], data_root: Path, max_train: int | None = None) -> None:
    import cv2

    from hamacho_core.imageio import read_mask
    from hamacho_core.pipeline import TrainConfig, _build_detector, _load

    cache.mkdir(parents=True, exist_ok=True)
    for name in names:
        config = TrainConfig(category=name, dataset_root=str(data_root), data_format=SETS[name])
        dataset = _load(config, None)
        if max_train and len(dataset.train) > max_train:  # a quicker detector; the head's inputs stay comparable
            dataset.train = dataset.train[::-(-len(dataset.train) // max_train)]
        detector, plan = _build_detector(config, dataset, 0)
        start = time.perf_counter()
        detector.fit([s.path for s in dataset.train], input_shape=plan.shape)
        prediction = detector.predict([s.path for s in dataset.test], keep_patch_inputs=True)
        height, width = prediction.maps.shape[1:]
        masks, known = np.zeros((len(dataset.test), height, width), bool), np.ones(len(dataset.test), bool)
        for i, sample in enumerate(dataset.test):
            if sample.label == 1 and sample.mask_path is None:
                known[i] = False
            elif sample.label == 1:
                mask = read_mask(sample.mask_path).astype(np.uint8)
                masks[i] = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST) > 0
        shape = detector.input_shape_
        np.savez(cache / f"{name}.npz", inputs=np.stack([x.numpy() for x in prediction.patch_inputs]),
                 labels=np.array([s.label for s in dataset.test]),
                 strata=np.array([s.defect_type for s in dataset.test]),
                 masks=masks, known=known, scores=prediction.scores, seed=config.seed,
                 shape=json.dumps({"size": list(shape.as_tuple()), "reason": shape.reason,
                                   "tiles": shape.tiles.to_dict() if shape.tiles else None,
                                   "blur_sigma": detector.config.blur_sigma}))
        print(f"{name}: {len(dataset.train)} train / {len(dataset.test)} test pictures, input {shape.describe()}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)


def score(cache: Path, names: list[str], out: Path) -> None:
    import torch

    import hamacho_core
    from hamacho_core.crossfit import CrossFitConfig, cross_fit
    from hamacho_core.detectors import PatchCoreConfig, create_detector
    from hamacho_core.preprocess import InputShape
    from hamacho_core.tiling import TileGrid

    results = {"tree": str(Path(hamacho_core.__file__).parents[1]), "load_before": os.getloadavg(), "sets": {}}
    for name in names:
        data = np.load(cache / f"{name}.npz")
        shape = json.loads(str(data["shape"]))
        detector = create_detector("patchcore", PatchCoreConfig(blur_sigma=shape["blur_sigma"], device="cpu"))
        detector.input_shape_ = InputShape(*shape["size"], shape["reason"],
                                           TileGrid.from_dict(shape["tiles"]) if shape["tiles"] else None)
        inputs = [torch.from_numpy(x) for x in data["inputs"]]
        masks = [m if k else None for m, k in zip(data["masks"], data["known"], strict=True)]
        config = CrossFitConfig(seed=int(data["seed"]), curve_sizes=())
        extra = {}
        if "plain_maps" in inspect.signature(cross_fit).parameters:  # the plain maps the product hands over
            with torch.inference_mode():
                extra["plain_maps"] = np.concatenate([detector.finish_maps(x[:, -1:].float(), 1)[1].numpy()
                                                      for x in inputs])
        start, cpu = time.perf_counter(), time.process_time()
        result = cross_fit(inputs, data["labels"], list(data["strata"]), masks, detector.finish_maps, config,
                           detector.input_shape_.tiles, data["scores"], **extra)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        auroc = result.learning_curve[-1].image_auroc
        results["sets"][name] = {"image_auroc": auroc, "combination": result.combination,
                                 "candidate_auroc": result.candidate_auroc, "plain_auroc": result.plain_auroc,
                                 "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "n_test": len(inputs),
                                 "head_counts": dict(result.head.counts_)}
        print(f"{name}: cross-fitted image AUROC {auroc:.4f} ({result.combination}), {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU", flush=True)
    results["load_after"] = os.getloadavg()
    out.write_text(json.dumps(results, indent=1))


def compare(before: Path, after: Path) -> None:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    print(f"load average: before {a['load_before'][0]:.1f}-{a['load_after'][0]:.1f}, "
          f"after {b['load_before'][0]:.1f}-{b['load_after'][0]:.1f}")
    print("| set | test pictures | AUROC before | AUROC after | difference | combination | wall s before | "
          "wall s after | CPU s before | CPU s after |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, x in a["sets"].items():
        y = b["sets"].get(name)
        if y is None:
            continue
        print(f"| {name} | {x['n_test']} | {x['image_auroc']:.4f} | {y['image_auroc']:.4f} | "
              f"{y['image_auroc'] - x['image_auroc']:+.4f} | {x['combination']} -> {y['combination']} | "
              f"{x['wall_s']:.1f} | {y['wall_s']:.1f} | {x['cpu_s']:.1f} | {y['cpu_s']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("prepare", "score", "compare"))
    parser.add_argument("files", nargs="*", type=Path, help="compare: before.json after.json")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/hamacho-heads"))
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--max-train", type=int, default=None,
                        help="prepare: fit the detector on at most this many training pictures (evenly spaced)")
    args = parser.parse_args()
    if args.action == "prepare":
        prepare(args.cache, args.sets, args.data_root, args.max_train)
    elif args.action == "score":
        score(args.cache, args.sets, args.out or args.cache / "scores.json")
    else:
        compare(*args.files)


if __name__ == "__main__":
    main()
