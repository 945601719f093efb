"""The outside check, on a shared set: train on half of the defect pictures, score the other half with
``hamacho inference`` (plain vs supervised). Good pictures are split the same way, so no scored picture was seen.

    PYTHONPATH=$PWD .venv/bin/python bench/supervised_holdout.py --category battery_weld --out /tmp/holdout
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

HAMACHO = [sys.executable, "-m", "hamacho_core"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset-root", default="../shared/datasets")
    parser.add_argument("--category", default="battery_weld")  # MVTec layout
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root, out = Path(args.dataset_root).resolve() / args.category, Path(args.out)
    rng = np.random.default_rng(args.seed)
    defects = sorted((root / "test").glob("*/*.png"))
    defects = [p for p in defects if p.parent.name != "good"]
    goods = sorted((root / "test" / "good").glob("*.png"))
    defects = [defects[i] for i in rng.permutation(len(defects))]
    goods = [goods[i] for i in rng.permutation(len(goods))]
    half, good_half = len(defects) // 2, len(goods) // 2
    learn_defects, score_defects = defects[:half], defects[half:]
    learn_goods = sorted((root / "train" / "good").glob("*.png")) + goods[:good_half]
    score_dir = out / "score"
    for label, paths in (("good", goods[good_half:]), ("defect", score_defects)):
        (score_dir / label).mkdir(parents=True, exist_ok=True)
        for path in paths:
            link = score_dir / label / path.name
            if not link.exists():
                link.symlink_to(path)
    masks = [root / "ground_truth" / p.parent.name / p.name for p in learn_defects]
    figures = {"learn": {"good": len(learn_goods), "defect": len(learn_defects)},
               "score": {"good": len(goods) - good_half, "defect": len(score_defects)}}
    for mode in ("off", "on"):
        result = out / f"results-{mode}"
        subprocess.run([*HAMACHO, "train", "--data-format", "filelist", "--good-file-list",
                        ",".join(map(str, learn_goods)), "--bad-file-list", ",".join(map(str, learn_defects)),
                        "--mask-file-list", ",".join(map(str, masks)), "--result-path", str(result), "--no-csv",
                        "--accelerator", "cpu", "--supervised", mode], check=True, env=os.environ)
        run = result / "filelist" / "patchcore"
        subprocess.run([*HAMACHO, "inference", "--image-path", str(score_dir), "--config-path",
                        str(run / "config.yaml"), "--save-path", str(out / f"inference-{mode}"), "--no-csv",
                        "--accelerator", "cpu"], check=True, env=os.environ)
        rows = list(csv.DictReader((out / f"inference-{mode}" / "metrics" / "pred_outputs.csv").read_text(
            encoding="utf-8-sig").splitlines()))
        labels = [int(Path(r["output_name"]).parts[0] == "defect") for r in rows]
        scores = [float(r["raw_score"]) for r in rows]
        verdicts = [int(r["pred"]) for r in rows]
        recall = sum(v for v, y in zip(verdicts, labels, strict=True) if y) / max(sum(labels), 1)
        n_good = max(len(labels) - sum(labels), 1)
        false_alarms = sum(v for v, y in zip(verdicts, labels, strict=True) if not y) / n_good
        figures[mode] = {"image_auroc": round(roc_auc_score(labels, scores), 4), "recall": round(recall, 4),
                         "false_positive_rate": round(false_alarms, 4)}
    print(json.dumps(figures, indent=1))
    (out / "figures.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
