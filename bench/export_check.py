"""Exported models against PyTorch on the shared datasets: max relative score error and max map error.

    PYTHONPATH=$PWD .venv/bin/python bench/export_check.py [--data-root ../shared/datasets] [--n-train 30]
        [--n-test 16] [--datasets battery_weld magnetic_tile] [--models patchcore padim]
        [--geometries square keep-aspect tiled] [--json OUT]

For battery_weld (MVTec layout) and magnetic_tile (folder layout), PatchCore and PaDiM are fitted on the first
``n_train`` good training pictures in three geometries (square 256, keep-aspect automatic, tiled with 128 px
tiles), exported to ONNX and OpenVINO, and the same ``n_test`` test pictures (good and defective) are scored by the
three engines. Parity is what is measured, not accuracy, so small training sets are enough.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hamacho_core.data import load_dataset  # noqa: E402
from hamacho_core.detectors import create_detector  # noqa: E402
from hamacho_core.export import ExportedModel, export_run  # noqa: E402
from hamacho_core.persistence import load_run, save_run  # noqa: E402
from hamacho_core.thresholds import Normalization  # noqa: E402

DATASETS = {"battery_weld": "mvtec", "magnetic_tile": "folder"}
GEOMETRIES = {"square": {"image_size": 256, "resize": "square", "tiling": "off"},
              "keep-aspect": {"image_size": None, "resize": "keep-aspect", "tiling": "off"},
              "tiled": {"image_size": 128, "resize": "keep-aspect", "tiling": "on", "max_tiles": 8}}


def check(data_root: Path, dataset: str, model: str, geometry: str, n_train: int, n_test: int, work: Path) -> dict:
    data = load_dataset(data_root / dataset, DATASETS[dataset], split=0.2, seed=420)
    train = [s.path for s in data.train[:n_train]]
    rng = np.random.default_rng(0)
    test = [data.test[i].path for i in sorted(rng.choice(len(data.test), min(n_test, len(data.test)), False))]
    detector = create_detector(model, {**GEOMETRIES[geometry], "device": "cpu", "seed": 0})
    start = time.perf_counter()
    detector.fit(train)
    fit_seconds = time.perf_counter() - start
    run_dir = work / f"{dataset}-{model}-{geometry}"
    save_run(run_dir, detector, Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0), {"category": dataset})
    expected = load_run(run_dir, "cpu").detector.predict(test)
    row = {"dataset": dataset, "model": model, "geometry": geometry, "input_shape": list(expected.maps.shape[1:]),
           "tiles": detector.input_shape_.n_tiles, "n_train": len(train), "n_test": len(test),
           "fit_s": round(fit_seconds, 1)}
    for engine in ("onnx", "openvino"):
        folder = export_run(run_dir, run_dir / engine, engine).output_dir
        got = ExportedModel(folder).predict(test)
        row[f"{engine}_score_rel"] = float(np.max(np.abs(got.scores - expected.scores) / np.abs(expected.scores)))
        row[f"{engine}_map_abs"] = float(np.max(np.abs(got.maps - expected.maps)))
        row[f"{engine}_map_rel"] = row[f"{engine}_map_abs"] / float(np.max(np.abs(expected.maps)))
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--n-train", type=int, default=30)
    parser.add_argument("--n-test", type=int, default=16)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=["patchcore", "padim"], choices=["patchcore", "padim"])
    parser.add_argument("--geometries", nargs="+", default=list(GEOMETRIES), choices=list(GEOMETRIES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for dataset in args.datasets:
            for model in args.models:
                for geometry in args.geometries:
                    rows.append(check(args.data_root, dataset, model, geometry, args.n_train, args.n_test,
                                      Path(work)))
    worst = {key: max(r[key] for r in rows) for key in rows[0] if key.endswith(("_rel", "_abs"))}
    print("worst:", json.dumps(worst))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "worst": worst}, indent=2))


if __name__ == "__main__":
    main()
