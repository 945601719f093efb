"""PatchCore memory bank: full retrain vs incremental update when only good pictures were added or removed.

For each set the train good pictures are split (seeded) into a base (80 %) and the rest:

* add: the base model gets the other 20 % - full retrain on all of them, or incremental: a coreset of the new
  pictures' patches alone (same ratio) appended to the base bank;
* remove: 20 % of the base pictures are taken out - full retrain on the rest, or incremental: the bank entries
  that came from the removed pictures dropped.

Time is the wall clock of the update alone (the backbone is loaded once and shared; the base fit is not counted).
Quality is the image AUROC on the set's test pictures (test/good and the defects; the detector never sees them,
so no cross-fitting is needed for PatchCore without the supervised head).

    python bench/incremental_bank.py [--datasets mpdd_metal_plate battery_weld] [--image-size 256]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hamacho_core.data import load_mvtec  # noqa: E402
from hamacho_core.detectors import patchcore as patchcore_module  # noqa: E402
from hamacho_core.detectors.patchcore import PatchCore, PatchCoreConfig  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"


class _Recorder(patchcore_module.GreedyCoresetSampler):
    """The coreset sampler, keeping its last selection (which training patch each bank entry is)."""

    last: torch.Tensor | None = None

    def run(self, *args, **kwargs):
        selected = super().run(*args, **kwargs)
        _Recorder.last = torch.as_tensor(selected).cpu()
        return selected


patchcore_module.GreedyCoresetSampler = _Recorder


def _fit(config: PatchCoreConfig, paths: list[Path], extractor, shape) -> tuple[PatchCore, float, torch.Tensor]:
    model = PatchCore(config)
    model._extractor = extractor  # the backbone loaded once for every fit
    started = time.perf_counter()
    model.fit([str(p) for p in paths], input_shape=shape)
    return model, time.perf_counter() - started, _Recorder.last


def _auroc(model: PatchCore, test: list[Path], labels: np.ndarray) -> float:
    return float(roc_auc_score(labels, model.predict([str(p) for p in test]).scores))


def run(name: str, image_size: int) -> dict:
    train, test_good, bad, _ = load_mvtec(SHARED / name)
    goods = [s.path for s in train]
    test = [s.path for s in test_good] + [s.path for s in bad]
    labels = np.r_[np.zeros(len(test_good)), np.ones(len(bad))]
    order = np.random.default_rng(0).permutation(len(goods))
    base = [goods[i] for i in order[: int(0.8 * len(goods))]]
    added = [goods[i] for i in order[int(0.8 * len(goods)):]]
    config = PatchCoreConfig(image_size=image_size, resize="square")
    first = PatchCore(config)
    extractor, shape = first.extractor, None
    model, _, selected = _fit(config, base, extractor, shape)
    shape = model.input_shape_
    per_picture = model.n_candidates_ // len(base)  # patches per picture (no candidate subsampling at these sizes)
    row = {"set": name, "base": len(base), "changed": len(added), "auroc_base": _auroc(model, test, labels)}

    full, row["t_full_add"], _ = _fit(config, base + added, extractor, shape)
    row["auroc_full_add"] = _auroc(full, test, labels)
    started = time.perf_counter()
    extra, _, _ = _fit(config, added, extractor, shape)
    model_add = PatchCore(config)
    model_add._extractor, model_add.input_shape_ = extractor, shape
    model_add._set_bank(torch.cat([model.memory_bank_, extra.memory_bank_]))
    row["t_inc_add"] = time.perf_counter() - started
    row["auroc_inc_add"] = _auroc(model_add, test, labels)

    removed = set(range(len(base) - len(added), len(base)))  # the last pictures of the base
    kept = [p for i, p in enumerate(base) if i not in removed]
    full, row["t_full_remove"], _ = _fit(config, kept, extractor, shape)
    row["auroc_full_remove"] = _auroc(full, test, labels)
    started = time.perf_counter()
    source = selected // per_picture
    keep = torch.tensor([int(s) not in removed for s in source])
    model_remove = PatchCore(config)
    model_remove._extractor, model_remove.input_shape_ = extractor, shape
    model_remove._set_bank(model.memory_bank_[keep.to(model.memory_bank_.device)].contiguous())
    row["t_inc_remove"] = time.perf_counter() - started
    row["auroc_inc_remove"] = _auroc(model_remove, test, labels)
    row["bank"] = (len(model.memory_bank_), len(full.memory_bank_), len(model_add.memory_bank_),
                   len(model_remove.memory_bank_))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["mpdd_metal_plate", "battery_weld"])
    parser.add_argument("--image-size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = [run(name, args.image_size) for name in args.datasets]
    print("| set | train good (base) | added / removed | AUROC base | add: full | add: incremental | "
          "time full / incremental | remove: full | remove: incremental | time full / incremental |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['base']} | {r['changed']} | {r['auroc_base']:.3f} | {r['auroc_full_add']:.3f} | "
              f"{r['auroc_inc_add']:.3f} | {r['t_full_add']:.1f} s / {r['t_inc_add']:.1f} s | "
              f"{r['auroc_full_remove']:.3f} | {r['auroc_inc_remove']:.3f} | "
              f"{r['t_full_remove']:.1f} s / {r['t_inc_remove']:.2f} s |")
    print("bank sizes (base, full after removal, incremental add, incremental remove):",
          {r["set"]: r["bank"] for r in rows})


if __name__ == "__main__":
    main()
