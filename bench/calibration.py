"""Are the shown figures and intervals calibrated? Random half splits of the labelled test pictures of real sets.

For each set and seed: the labelled test pictures (good and defect, with masks) are split in two halves, stratified
by defect type and seeded. The first half becomes the run's test pictures (``hamacho train`` at the defaults, an
MVTec-style tree of links with the set's training pictures); the run then scores the second half with ``hamacho
inference``. At the saved threshold, each shown figure (recall, precision, false-alarm rate, F1, AUROC) with its
95 % interval is compared with the same figure counted on the unseen half:

(a) ``worse``: share of the pairs that differ in which the unseen figure is worse than the shown one (goal <= 60 %;
    unbiased is about half);
(b) ``covered``: share of pairs where the shown interval, widened on each side by the unseen half's own 95 %
    interval, contains the unseen figure (goal >= 95 %); ``covered_strict`` combines the two half-widths in
    quadrature instead (a calibrated method gives about 95 %);
(c) ``zero_width``: shown intervals of zero width (goal none).

"before" is the method the product used until the cross-fitted figures (counts at the threshold fitted on the same
pictures; percentile bootstrap at that fixed threshold), recomputed here from the same saved evaluation, so one
training gives both. "after" is :class:`hamacho_core.decisions.Decisions` as shipped.

Trainings and inference outputs are cached per (set, seed, image size) below ``--work``; re-running only computes
what is missing. Run niced, e.g.::

    nice -n 10 .venv/bin/python bench/calibration.py --sets battery_weld mpdd_metal_plate --seeds 0 1 2 3 4 \
        --image-size 128
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

from hamacho_core.decisions import Decisions, clopper_pearson, stratified_weights, weighted_auroc  # noqa: E402
from hamacho_core.evaluation import Evaluation  # noqa: E402

DATA_ROOT = REPO_ROOT.parent / "shared" / "datasets"
SETS = ("battery_weld", "magnetic_tile", "ball_screw", "mpdd_metal_plate")
FIGURES = ("recall", "precision", "false_alarm_rate", "f1", "auroc")
LOWER_IS_BETTER = {"false_alarm_rate"}
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
MAGNETIC_TEST_GOOD = 0.2  # magnetic_tile has no test/good: this share of its good pictures is labelled test data


def _pictures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []


def labelled(name: str) -> tuple[list[Path], list[tuple[Path, str, Path | None]]]:
    """(training good pictures, labelled test pictures as (picture, type, mask or None))."""
    root = DATA_ROOT / name
    if name == "magnetic_tile":
        good = _pictures(root / "good")
        order = np.random.default_rng(0).permutation(len(good))
        cut = int(round(len(good) * MAGNETIC_TEST_GOOD))
        test = [(good[i], "good", None) for i in sorted(order[:cut])]
        train = [good[i] for i in sorted(order[cut:])]
        for kind in sorted(p.name for p in (root / "bad").iterdir() if p.is_dir()):
            test += [(p, kind, root / "mask" / kind / f"{p.stem}.png") for p in _pictures(root / "bad" / kind)]
        return train, test
    train = _pictures(root / "train" / "good")
    test = []
    for kind in sorted(p.name for p in (root / "test").iterdir() if p.is_dir()):
        for picture in _pictures(root / "test" / kind):
            mask = None
            if kind != "good":
                found = [m for m in (root / "ground_truth" / kind).glob(f"{picture.stem}*")]
                mask = found[0] if found else None
            test.append((picture, kind, mask))
    return train, test


def halves(test: list[tuple[Path, str, Path | None]], seed: int) -> tuple[list, list]:
    """Stratified (by type), seeded halves of the labelled pictures."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for kind in sorted({t for _, t, _ in test}):
        members = [item for item in test if item[1] == kind]
        order = rng.permutation(len(members))
        cut = len(members) // 2 + (rng.random() < 0.5 if len(members) % 2 else 0)
        first += [members[i] for i in sorted(order[:cut])]
        second += [members[i] for i in sorted(order[cut:])]
    return first, second


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.symlink(source.resolve(), target)


def prepare(name: str, seed: int, work: Path) -> tuple[Path, Path, dict[str, tuple[int, str]]]:
    """The MVTec-style tree (training half), the unseen half's folder of links, and the unseen labels by file."""
    train, test = labelled(name)
    first, second = halves(test, seed)
    tree = work / "data" / name
    if not (tree / "train").exists():
        for picture in train:
            _link(picture, tree / "train" / "good" / picture.name)
        for picture, kind, mask in first:
            _link(picture, tree / "test" / kind / picture.name)
            if mask is not None:
                _link(mask, tree / "ground_truth" / kind / f"{picture.stem}{mask.suffix}")
    unseen, truth = work / "unseen", {}
    for picture, kind, _ in second:
        link = unseen / f"{kind}__{picture.name}"
        _link(picture, link)
        truth[link.name] = (int(kind != "good"), kind)
    return work / "data", unseen, truth


def _run(args: list[str], log: Path) -> None:
    hamacho = Path(sys.executable).parent / "hamacho"
    with log.open("w") as out:
        code = subprocess.call(["nice", "-n", "10", str(hamacho), *args], stdout=out, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    if code:
        raise RuntimeError(f"hamacho {args[0]} exited {code}: see {log}")


def train_and_score(name: str, seed: int, work_root: Path, image_size: int) -> tuple[Path, Path, dict]:
    """Cached: the run folder, the unseen half's pred_outputs.csv and the unseen labels."""
    work = work_root / f"{name}-seed{seed}-size{image_size}"
    work.mkdir(parents=True, exist_ok=True)
    data, unseen, truth = prepare(name, seed, work)
    run_dir = work / "run" / name / "patchcore"
    if not (run_dir / "evaluation.safetensors").exists():
        start = time.time()
        _run(["train", "--data-format", "mvtec", "--dataset-root", str(data), "--category", name, "--result-path",
              str(work / "run"), "--image-size", str(image_size), "--no-csv", "--seed", "420"], work / "train.log")
        (work / "train.seconds").write_text(f"{time.time() - start:.1f}")
    csv_path = work / "scored" / "metrics" / "pred_outputs.csv"
    if not csv_path.exists():
        _run(["inference", "--image-path", str(unseen), "--config-path", str(run_dir / "config.yaml"),
              "--save-path", str(work / "scored"), "--no-csv"], work / "inference.log")
    return run_dir, csv_path, truth


def unseen_evaluation(run_evaluation: Evaluation, csv_path: Path, truth: dict) -> Evaluation:
    """The unseen half as an Evaluation with the run's normalization (no maps)."""
    with csv_path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([truth[Path(r["filepath"]).name][0] for r in rows])
    kinds = [truth[Path(r["filepath"]).name][1] for r in rows]
    raw = np.array([float(r["raw_score"]) for r in rows])
    return Evaluation([r["filepath"] for r in rows], kinds, labels, raw, np.zeros((len(rows), 1, 1), np.float16),
                      None, run_evaluation.normalization)


# ------------------------------------------------------------------------------------------------ the old method
def before_figures(evaluation: Evaluation, threshold: float, n_resamples: int = 1000,
                   seed: int = 420) -> dict[str, tuple[float, float, float]]:
    """The method shown until the cross-fitted figures: counts at the fitted threshold on the same pictures,
    Clopper-Pearson for proportions, a percentile bootstrap at that fixed threshold for F1 and AUROC."""
    labels = np.asarray(evaluation.labels).astype(bool)
    predicted = evaluation.normalized_scores > threshold
    return _figures(labels, predicted, evaluation.raw_scores, n_resamples, seed)


def _figures(labels: np.ndarray, predicted: np.ndarray, raw: np.ndarray, n_resamples: int,
             seed: int) -> dict[str, tuple[float, float, float]]:
    """Plain figures at fixed verdicts: CP for proportions, stratified percentile bootstrap for F1 and AUROC."""
    tp, fp = int((predicted & labels).sum()), int((predicted & ~labels).sum())
    n_defect, n_good = int(labels.sum()), int((~labels).sum())
    out = {"recall": (tp / n_defect, *clopper_pearson(tp, n_defect)),
           "precision": (tp / max(tp + fp, 1), *clopper_pearson(tp, tp + fp)),
           "false_alarm_rate": (fp / n_good, *clopper_pearson(fp, n_good))}
    weights = stratified_weights(labels, n_resamples, seed)
    tp_b = (weights * (predicted & labels)).sum(axis=1)
    fp_b = (weights * (predicted & ~labels)).sum(axis=1)
    f1_b = 2 * tp_b / np.maximum(2 * tp_b + fp_b + (n_defect - tp_b), 1)
    f1 = 2 * tp / max(2 * tp + fp + (n_defect - tp), 1)
    out["f1"] = (f1, *np.percentile(f1_b, [2.5, 97.5]))
    from sklearn.metrics import roc_auc_score

    auroc_b = weighted_auroc(labels, raw, weights)
    out["auroc"] = (float(roc_auc_score(labels, raw)), *np.nanpercentile(auroc_b, [2.5, 97.5]))
    return {k: tuple(float(x) for x in v) for k, v in out.items()}


def after_figures(evaluation: Evaluation, threshold: float) -> tuple[dict[str, tuple[float, float, float]], str]:
    """What the product shows now (the headline figures of :class:`Decisions`) and their provenance."""
    figures = Decisions(evaluation).at(threshold)
    out = {key: (e.value, e.low, e.high) for key in FIGURES if (e := getattr(figures, key)) is not None}
    return out, figures.provenance


def unseen_figures(unseen: Evaluation, threshold: float) -> dict[str, tuple[float, float, float]]:
    labels = np.asarray(unseen.labels).astype(bool)
    return _figures(labels, unseen.normalized_scores > threshold, unseen.raw_scores, 1000, 7)


# ------------------------------------------------------------------------------------------------ the comparison
def judge(shown: tuple[float, float, float], seen: tuple[float, float, float], figure: str) -> dict[str, bool]:
    value, low, high = shown
    u_value, u_low, u_high = seen
    differs = abs(u_value - value) > 1e-12
    worse = (u_value > value) if figure in LOWER_IS_BETTER else (u_value < value)
    covered = low - (u_high - u_value) - 1e-12 <= u_value <= high + (u_value - u_low) + 1e-12
    below = np.hypot(value - low, u_high - u_value)
    above = np.hypot(high - value, u_value - u_low)
    strict = value - below - 1e-12 <= u_value <= value + above + 1e-12
    return {"differs": differs, "worse": differs and worse, "covered": covered, "covered_strict": bool(strict),
            "zero_width": high - low <= 1e-12}


def evaluate_pair(name: str, seed: int, work_root: Path, image_size: int) -> dict:
    run_dir, csv_path, truth = train_and_score(name, seed, work_root, image_size)
    evaluation = Evaluation.load(run_dir)
    threshold = float(evaluation.normalization.normalized_image_threshold)
    unseen = unseen_evaluation(evaluation, csv_path, truth)
    seen = unseen_figures(unseen, threshold)
    before = before_figures(evaluation, threshold)
    after, provenance = after_figures(evaluation, threshold)
    seconds = (csv_path.parents[2] / "train.seconds")
    return {"set": name, "seed": seed, "image_size": image_size, "n_shown": len(evaluation.labels),
            "n_unseen": len(unseen.labels), "provenance_after": provenance,
            "train_seconds": float(seconds.read_text()) if seconds.exists() else None,
            "unseen": seen, "before": before, "after": after,
            "judged": {method: {f: judge(figures[f], seen[f], f) for f in FIGURES if f in figures}
                       for method, figures in (("before", before), ("after", after))}}


def table(results: list[dict]) -> str:
    """Markdown: per set and figure, (a) worse / differing, (b) covered, (c) zero width, before -> after."""
    lines = ["| set | figure | pairs | (a) worse, before | (a) after | (b) covered, before | (b) after | "
             "(b, strict) before | after | (c) zero width, before | after |", "|---" * 11 + "|"]
    keys = sorted({(r["set"], f) for r in results for f in FIGURES}, key=lambda k: (k[0], FIGURES.index(k[1])))
    totals: dict[str, dict[str, list]] = {m: {} for m in ("before", "after")}

    def share(items: list[dict], key: str, among: str | None = None) -> str:
        pool = [i for i in items if among is None or i[among]]
        return f"{sum(i[key] for i in pool)}/{len(pool)}" + (f" ({100 * sum(i[key] for i in pool) / len(pool):.0f} %)"
                                                            if pool else "")
    for name, figure in [*keys, ("all", "all")]:
        for method in ("before", "after"):
            totals[method][(name, figure)] = (
                [r["judged"][method][figure] for r in results if r["set"] == name and figure in r["judged"][method]]
                if name != "all" else [j for r in results for j in r["judged"][method].values()])
        b, a = totals["before"][(name, figure)], totals["after"][(name, figure)]
        cells = [share(b, "worse", "differs"), share(a, "worse", "differs"), share(b, "covered"), share(a, "covered"),
                 share(b, "covered_strict"), share(a, "covered_strict"), share(b, "zero_width"), share(a, "zero_width")]
        lines.append(f"| {name} | {figure} | {len(a)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--image-size", type=int, default=128, help="Training side (small: cheap on 2 cores).")
    parser.add_argument("--work", default="/tmp/hamacho-calibration", help="Cache of trainings and scores.")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="Where the JSON and the table go.")
    args = parser.parse_args()
    work, results = Path(args.work), []
    for name in args.sets:
        for seed in args.seeds:
            start = time.time()
            try:
                results.append(evaluate_pair(name, seed, work, args.image_size))
            except RuntimeError as error:
                print(f"{name} seed {seed}: {error}", flush=True)
                continue
            print(f"{name} seed {seed}: {time.time() - start:.0f} s", flush=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "bench/calibration.py " + " ".join(sys.argv[1:])
    (out / f"{stamp}-calibration.json").write_text(json.dumps({"command": command, "results": results}, indent=1))
    text = f"command: `{command}`\n\n{table(results)}\n"
    (out / f"{stamp}-calibration.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
