"""Plain detector vs the supervised head (cross-fitted) on a dataset, at the product's defaults.

    PYTHONPATH=$PWD .venv/bin/python bench/supervised.py --data-format mvtec --category battery_weld
    PYTHONPATH=$PWD .venv/bin/python bench/supervised.py --category magnetic_tile

Prints and writes (``--out``, JSON) image AUROC, pixel AUROC and AUPRO of the plain detector and of the
cross-fitted supervised head, the learning curve, the head's fit time and the memory its inputs take.
Every supervised figure is cross-fitted: each test picture scored by a head fitted without it.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from hamacho_core.crossfit import CrossFitConfig, cross_fit
from hamacho_core.data import ground_truth_masks
from hamacho_core.metrics import PixelHistograms
from hamacho_core.pipeline import TrainConfig, _build_detector, _load


def pixel_figures(maps: np.ndarray, masks: list[np.ndarray], labels: np.ndarray) -> dict[str, float]:
    histograms = PixelHistograms(float(maps.min()), float(maps.max()))
    for anomaly_map, mask in zip(maps, masks, strict=True):
        histograms.add(anomaly_map, mask)
    found = histograms.metrics()
    return {"pixel_auroc": round(found.auroc, 4), "aupro": round(found.aupro, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset-root", default="../shared/datasets")
    parser.add_argument("--category", required=True)
    parser.add_argument("--data-format", default="folder")
    parser.add_argument("--model", default="patchcore")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    config = TrainConfig(category=args.category, dataset_root=args.dataset_root, data_format=args.data_format,
                         model=args.model)
    dataset = _load(config, None)
    detector, shape = _build_detector(config, dataset, 0)
    start = time.perf_counter()
    detector.fit([s.path for s in dataset.train])
    fit_seconds = time.perf_counter() - start
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    prediction = detector.predict([s.path for s in dataset.test], keep_patch_inputs=True)
    predict_seconds = time.perf_counter() - start
    labels = np.array([s.label for s in dataset.test])
    masks = ground_truth_masks(dataset.test, prediction.maps.shape[1:])
    inputs_mb = sum(x.numel() * 2 for x in prediction.patch_inputs) / 2**20
    result = cross_fit(prediction.patch_inputs, labels, [s.defect_type for s in dataset.test],
                       [m if s.mask_path else None for m, s in zip(masks, dataset.test, strict=True)],
                       detector.finish_maps, CrossFitConfig(seed=config.seed), shape.tiles, prediction.scores)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "dataset": args.category, "model": args.model, "input_shape": list(shape.as_tuple()),
        "n_train": len(dataset.train), "n_test_good": int((labels == 0).sum()), "n_test_defect": int(labels.sum()),
        "plain": {"image_auroc": round(float(roc_auc_score(labels, prediction.scores)), 4),
                  **pixel_figures(prediction.maps, masks, labels)},
        "supervised": {"image_auroc": round(float(roc_auc_score(labels, result.scores)), 4),
                       **pixel_figures(result.maps, masks, labels)},
        "cross_fit": result.summary(),
        "seconds": {"fit": round(fit_seconds, 1), "predict_with_inputs": round(predict_seconds, 1),
                    "cross_fit_total": round(result.seconds, 1)},
        "memory_mb": {"head_inputs": round(inputs_mb, 1), "peak_rss_before_cross_fit": round(rss_before),
                      "peak_rss_after": round(rss_after)},
    }
    print(json.dumps(figures, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
