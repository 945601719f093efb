"""One picture, one score: a trained run's test pictures through every engine and front-end, compared.

    PYTHONPATH=$PWD .venv/bin/python bench/one_score.py --run RUN_DIR [--json OUT]
    PYTHONPATH=$PWD .venv/bin/python bench/one_score.py --train ../shared/datasets --category battery_weld \
        --data-format mvtec --work /tmp/one_score [--json OUT]

The run's own test pictures (``evaluation.json``) are scored by ``hamacho inference`` with ``--engine torch``,
``onnx`` and ``openvino`` (whole folder), by the API's scoring (``scoring.score_arrays``, one picture per call) and
by ``hamacho score``'s core (``scoring.score_pictures``, batches of 8 as its actors take them). Printed: the largest
normalized-score difference from ``torch`` for each, and the verdicts that differ (the goal: within 1e-4, none).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hamacho_core.evaluation import Evaluation  # noqa: E402
from hamacho_core.imageio import read_image  # noqa: E402
from hamacho_core.persistence import load_run  # noqa: E402
from hamacho_core.pipeline import TrainConfig, infer, train  # noqa: E402
from hamacho_core.runtimes import cpu_has_bf16  # noqa: E402
from hamacho_core.scoring import score_arrays, score_pictures  # noqa: E402


def compare(run_dir: Path, work: Path) -> dict:
    paths = [Path(p) for p in Evaluation.load(run_dir).paths]
    folder = work / "pictures"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    names = []
    for index, path in enumerate(paths):
        names.append(f"{index:04d}{path.suffix}")
        shutil.copy(path, folder / names[-1])
    found: dict[str, dict[str, tuple[float, str]]] = {}
    for engine in ("torch", "onnx", "openvino"):
        rows = infer(run_dir, folder, work / engine, engine=engine, write_csv=False).rows
        found[engine] = {Path(r["filepath"]).name: (r["norm_score"], r["verdict"]) for r in rows}
    run = load_run(run_dir, "cpu")
    found["api"] = {n: (p.norm_score, p.verdict) for n in names
                    for p in score_arrays(run.detector, run.normalization, [read_image(folder / n)], [n])}
    batches = [names[start:start + 8] for start in range(0, len(names), 8)]
    found["score"] = {Path(r.filepath).name: (r.norm_score, r.verdict) for batch in batches
                      for r in score_pictures(run, [folder / n for n in batch], batch)}
    reference = found["torch"]
    return {"run": str(run_dir), "n_pictures": len(names), "cpu_bf16": cpu_has_bf16(),
            **{source: {"max_normalized_difference": max(abs(values[n][0] - reference[n][0]) for n in names),
                        "verdicts_changed": sum(values[n][1] != reference[n][1] for n in names)}
               for source, values in found.items() if source != "torch"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="a trained run's folder")
    parser.add_argument("--train", type=Path, help="dataset root: train a run at the defaults first")
    parser.add_argument("--category", default="battery_weld")
    parser.add_argument("--data-format", default="mvtec")
    parser.add_argument("--work", type=Path, default=Path("/tmp/one_score"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    run_dir = args.run
    if run_dir is None:
        start = time.perf_counter()
        run_dir = train(TrainConfig(dataset_root=str(args.train), category=args.category,
                                    data_format=args.data_format, write_csv=False, accelerator="cpu",
                                    run_dir=str(args.work / "run"))).run_dir
        print(f"trained {run_dir} in {time.perf_counter() - start:.0f} s")
    result = compare(run_dir, args.work)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
