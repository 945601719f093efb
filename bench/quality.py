"""Cross-fitted quality of PatchCore + the supervised head on the four shared real sets, and of scoring variants.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python bench/quality.py                       # the defaults, all sets
    PYTHONPATH=$PWD nice -n 10 .venv/bin/python bench/quality.py --variants default,cosine,topk --sets battery_weld
    PYTHONPATH=$PWD nice -n 10 .venv/bin/python bench/quality.py --backbone tf_efficientnet_lite1 --image-size 320

One command, one markdown table (stdout, and ``--out`` as JSON). Per set: image and pixel AUROC of the plain
detector (head off) and of the supervised head, cross-fitted exactly as a training run does it
(``hamacho_core.supervision.supervise`` at the run's seed: every test picture scored by a head fitted on the other
folds), with the time of the bank fit, the test pictures' prediction and the cross-fitting.

Backbone features are extracted once per (set, backbone, resolution) and every variant is scored on top of them,
through the detector's own ``_fit_features`` / ``_score_patches`` / ``finish_maps``: a variant costs a coreset and
a cross-fitting, not a backbone pass. Variants (``--variants``, comma separated; ``+`` combines):

* ``default``: the product's PatchCore as configured (``PatchCoreConfig``);
* ``cosine``: L2-normalised patch features (nearest neighbour by cosine distance);
* ``topk``: image score = mean of the top 1 % of the map instead of its maximum (plain: of the patch distances,
  instead of the re-weighted maximum; ``DetectorConfig.score_top_share``). Every variant also reports this score
  ("top 1 %" columns) computed from its own maps, at no extra cost: the maps are the same, only the head-vs-sum
  choice of the cross-fitting was made on the maximum there;
* ``pool1`` / ``pool5``: neighbourhood aggregation 1x1 / 5x5 instead of 3x3;
* ``deep``: the stride-32 stage added to the bank's features;
* ``flip``: test-time horizontal flip, patch inputs of both views averaged (one more backbone pass per picture).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from hamacho_core.data import ground_truth_masks
from hamacho_core.detectors.base import Prediction, top_mean
from hamacho_core.metrics import PixelHistograms
from hamacho_core.pipeline import TrainConfig, _build_detector, _load
from hamacho_core.supervision import supervise

SETS = {"battery_weld": "mvtec", "magnetic_tile": "folder", "ball_screw": "mvtec", "mpdd_metal_plate": "mvtec"}
SEED = 420


def pixel_auroc(maps: np.ndarray, masks: list[np.ndarray], labels: np.ndarray, known: list[bool]) -> float:
    """Pixel AUROC over good pictures and defect pictures with a mask (as the product counts it)."""
    histograms = PixelHistograms(float(maps.min()), float(maps.max()))
    for anomaly_map, mask, use in zip(maps, masks, known, strict=True):
        if use:
            histograms.add(anomaly_map, mask)
    return float(histograms.metrics().auroc)


class Cache:
    """A set's fitted product detector and its backbone features (train and test, optionally flipped test)."""

    def __init__(self, name: str, backbone: str, image_size: int | None, flip: bool):
        config = TrainConfig(category=name, dataset_root=args.dataset_root, data_format=SETS[name], backbone=backbone,
                             image_size=image_size, seed=SEED)
        self.dataset = _load(config, None)
        self.detector, plan = _build_detector(config, self.dataset, 0)
        detector = self.detector
        detector.reductions = (8, 16, 32)  # one extraction serves "deep" too; variants take the stages they need
        detector._extractor = None
        detector.input_shape_ = plan.shape
        start = time.perf_counter()
        self.train = self._features([s.path for s in self.dataset.train])
        self.test = self._features([s.path for s in self.dataset.test])
        self.flipped = self._features([s.path for s in self.dataset.test], flip=True) if flip else None
        self.extract_seconds = time.perf_counter() - start
        self.labels = np.array([s.label for s in self.dataset.test])
        self.shape = plan.shape

    def _features(self, paths: list[str], flip: bool = False) -> list[tuple[list[torch.Tensor], int]]:
        detector, out = self.detector, []
        detector._accelerate(len(paths))
        with torch.inference_mode():
            for inputs, sizes in detector._inputs(paths, None, "features"):
                if flip:
                    inputs = inputs.flip(-1)
                parts = [detector.extractor(part) for part in detector._forward_parts(inputs)]
                stages = [torch.cat([p[i] for p in parts]).float() for i in range(len(parts[0]))]
                if flip:
                    stages = [s.flip(-1) for s in stages]
                out.append((stages, len(sizes)))
        return out


def variant_detector(cache: Cache, options: set[str]):
    """A PatchCore that scores like the product with the variant's changes."""
    from hamacho_core.detectors.patchcore import PatchCore

    base = cache.detector
    normalize, topk, deep = "cosine" in options, "topk" in options, "deep" in options
    pool = 1 if "pool1" in options else 5 if "pool5" in options else 3

    class Variant(PatchCore):
        @staticmethod
        def embed(features: list[torch.Tensor]) -> torch.Tensor:
            features = features if deep else features[:2]
            pooled = [torch.nn.functional.avg_pool2d(f.float(), pool, 1, pool // 2) if pool > 1 else f.float()
                      for f in features]
            size = pooled[0].shape[-2:]
            up = [pooled[0]] + [torch.nn.functional.interpolate(p, size=size, mode="bilinear", align_corners=False)
                                for p in pooled[1:]]
            embedding = torch.cat(up, dim=1)
            return torch.nn.functional.normalize(embedding, dim=1) if normalize else embedding

    detector = Variant(dataclasses.replace(base.config, score_top_share=0.01 if topk else 0.0))
    detector._extractor, detector.input_shape_ = base.extractor, base.input_shape_
    return detector


def score_variant(cache: Cache, options: set[str]) -> dict[str, float]:
    detector = variant_detector(cache, options)
    start = time.perf_counter()
    detector._fit_features(iter([f for f, _ in cache.train]), len(cache.dataset.train), None)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores, maps, inputs, top_scores = [], [], [], []
    views = [cache.test] + ([cache.flipped] if "flip" in options else [])
    for batches in zip(*views, strict=True):
        n_images = batches[0][1]
        outputs = [detector._score_patches(features) for features, _ in batches]
        patch_inputs = torch.stack([x for _, _, x in outputs]).mean(0)
        raw = torch.stack([m for _, m, _ in outputs]).mean(0)
        batch_scores, batch_maps = detector.finish_maps(raw, n_images)
        tile_top = top_mean(raw.flatten(1), 0.01)  # the plain top-1 % score, per model input (image or tile)
        top_scores.append(tile_top.view(n_images, -1).amax(dim=1))
        if len(outputs) == 1:  # the detector's own image score (as Detector.predict)
            batch_scores = outputs[0][0].float()
            if cache.shape.tiles is not None:
                batch_scores = batch_scores.view(n_images, cache.shape.tiles.count).amax(dim=1)
        scores.append(batch_scores)
        maps.append(batch_maps)
        half = patch_inputs.half()
        inputs += list(half.view(n_images, -1, *half.shape[1:]).unbind(0))
    prediction = Prediction(torch.cat(scores).numpy(), torch.cat(maps).numpy(), [], inputs)
    predict_seconds = time.perf_counter() - start
    test = cache.dataset.test
    masks = ground_truth_masks(test, prediction.maps.shape[1:])
    known = [s.label == 0 or s.mask_path is not None for s in test]
    start = time.perf_counter()
    run = supervise(detector, test, prediction, SEED, learning_curve=False)
    head_seconds = time.perf_counter() - start
    labels = cache.labels
    head_top = top_mean(torch.from_numpy(run.prediction.maps).flatten(1), 0.01).numpy()
    return {"plain_image": float(roc_auc_score(labels, prediction.scores)),
            "plain_image_top": float(roc_auc_score(labels, torch.cat(top_scores).numpy())),
            "head_image_top": float(roc_auc_score(labels, head_top)),
            "plain_pixel": pixel_auroc(prediction.maps, masks, labels, known),
            "head_image": float(roc_auc_score(labels, run.prediction.scores)),
            "head_pixel": pixel_auroc(run.prediction.maps, masks, labels, known),
            "combination": run.result.combination, "bank": int(detector.memory_bank_.shape[0]),
            "fit_s": fit_seconds, "predict_s": predict_seconds, "head_s": head_seconds}


def table(rows: list[dict]) -> str:
    keys = ("plain_image", "plain_image_top", "plain_pixel", "head_image", "head_image_top", "head_pixel")
    lines = ["| set | variant | input | plain image (max / top 1 %) | plain pixel | head image (max / top 1 %) | "
             "head pixel | bank fit + predict + head s |", "|---|---|---|---|---|---|---|---|"]

    def cells(values: dict) -> str:
        return (f"{values['plain_image']:.3f} / {values['plain_image_top']:.3f} | {values['plain_pixel']:.3f} | "
                f"{values['head_image']:.3f} / **{values['head_image_top']:.3f}** | {values['head_pixel']:.3f}")

    for r in rows:
        lines.append(f"| {r['set']} | {r['variant']} | {r['input']} | {cells(r)} | {r['fit_s']:.0f} + "
                     f"{r['predict_s']:.0f} + {r['head_s']:.0f} |")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        lines.append(f"| mean | {variant} | | {cells({k: np.mean([r[k] for r in mine]) for k in keys})} | |")
    return "\n".join(lines)


def main() -> None:
    rows = []
    variants = args.variants.split(",")
    flip = any("flip" in v for v in variants)
    for name in args.sets.split(","):
        cache = Cache(name, args.backbone, args.image_size, flip)
        shape = "x".join(map(str, cache.shape.as_tuple())) + (f" ({cache.shape.tiles.count} tiles)"
                                                               if cache.shape.tiles is not None else "")
        for variant in variants:
            found = score_variant(cache, set(variant.split("+")))
            rows.append({"set": name, "variant": f"{args.backbone.replace('tf_efficientnet_', '')} {variant}",
                         "input": shape, "extract_s": cache.extract_seconds, **found})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} (1 min) at the end\n")
    print(table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset-root", default="../shared/datasets")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--variants", default="default")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    main()
