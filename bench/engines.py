"""CPU predict speed of the three inference engines side by side, with the backbone-only floor.

    PYTHONPATH=$PWD .venv/bin/python bench/engines.py [--data-root ../shared/datasets] [--n-images 48]
        [--n-train N] [--cases patchcore-256 padim-256 patchcore-keep-aspect] [--big-bank 131072] [--json OUT]

On battery_weld (37 training pictures, test pictures decoded from disk as ``hamacho inference`` does):

* PatchCore and PaDiM at 256 x 256 (the benchmark's square, as bench/floor.py) and PatchCore at the product's
  default keep-aspect shape: ``Detector.predict`` (torch) against ``ExportedModel.predict`` with onnxruntime and
  OpenVINO (same decoding threads, batches of 8 pictures);
* a large memory bank (``--big-bank`` entries: the real patches plus jittered copies), where PyTorch searches with
  the inverted file (16 probed lists) and the exported graph searches exactly (a chunked matrix product): speed,
  and how far the inverted file's scores are from the exact ones;
* the floor: the truncated backbone alone on in-memory input (bench/floor.py, batch 8).

Reported: pictures per second (wall) and per CPU-second of the process (all threads; steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from hamacho_core.data import load_dataset  # noqa: E402
from hamacho_core.detectors import create_detector  # noqa: E402
from hamacho_core.export import ExportedModel, export_run  # noqa: E402
from hamacho_core.persistence import load_run, save_run  # noqa: E402
from hamacho_core.thresholds import Normalization  # noqa: E402

CASES = {"patchcore-256": ("patchcore", {"image_size": 256, "resize": "square"}),
         "padim-256": ("padim", {"image_size": 256, "resize": "square"}),
         "patchcore-keep-aspect": ("patchcore", {"resize": "keep-aspect"})}


def timed(predict, paths: list[Path]) -> dict:
    predict(paths[:8])  # warm-up: allocations, kernel choice, OpenVINO's first inference
    start, cpu = time.perf_counter(), time.process_time()
    prediction = predict(paths)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"img_s": len(paths) / wall, "img_per_cpu_s": len(paths) / cpu, "scores": prediction.scores}


def compare(run_dir: Path, paths: list[Path]) -> dict:
    torch_run = load_run(run_dir, "cpu").detector
    results = {"input_shape": list(torch_run.input_shape_.as_tuple())}
    if hasattr(torch_run, "memory_bank_"):
        results["bank_size"] = int(torch_run.memory_bank_.shape[0])
        results["torch_search"] = type(torch_run._search).__name__
    engines = {"torch": torch_run.predict}
    for engine in ("onnx", "openvino"):
        start = time.perf_counter()
        folder = export_run(run_dir, run_dir / engine, engine).output_dir
        results[f"{engine}_export_s"] = round(time.perf_counter() - start, 1)
        engines[engine] = ExportedModel(folder).predict
    reference = None
    for name, predict in engines.items():
        measured = timed(predict, paths)
        scores = measured.pop("scores")
        reference = scores if reference is None else reference
        measured["max_rel_score_diff_vs_torch"] = float(np.max(np.abs(scores - reference) / np.abs(reference)))
        results[name] = {k: round(v, 5 if k.startswith("max") else 2) for k, v in measured.items()}
        print(name, results[name], flush=True)
    return results


def big_bank_run(run_dir: Path, size: int, out: Path) -> Path:
    """The same run with a bank of ``size`` entries: its own patches plus jittered copies (inverted file in torch)."""
    run = load_run(run_dir, "cpu")
    detector = run.detector
    bank = detector.memory_bank_
    generator = torch.Generator().manual_seed(0)
    copies = [bank]
    scale = 0.05 * bank.std(dim=0, keepdim=True)
    while sum(len(c) for c in copies) < size:
        copies.append(bank + scale * torch.randn(bank.shape, generator=generator))
    detector._set_bank(torch.cat(copies)[:size].contiguous())
    save_run(out, detector, run.normalization, {"category": "battery_weld-big-bank"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--n-images", type=int, default=48)
    parser.add_argument("--n-train", type=int, default=None, help="training pictures (default: all 37)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--big-bank", type=int, default=131072)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    data = load_dataset(args.data_root / "battery_weld", "mvtec", split=0.2, seed=420)
    train = [s.path for s in data.train][: args.n_train]
    paths = [s.path for s in data.test][: args.n_images]
    results = {"dataset": "battery_weld", "n_train": len(train), "n_images": len(paths),
               "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as work:
        for case in args.cases:
            model, settings = CASES[case]
            print(f"== {case}", flush=True)
            detector = create_detector(model, {**settings, "device": "cpu", "seed": 0})
            detector.fit(train)
            run_dir = Path(work) / case
            save_run(run_dir, detector, Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0), {})
            results[case] = compare(run_dir, paths)
        print(f"== big bank ({args.big_bank})", flush=True)
        big = big_bank_run(Path(work) / "patchcore-256", args.big_bank, Path(work) / "big-bank")
        results["patchcore-256-big-bank"] = compare(big, paths)
    from floor import run as floor_run

    floor = floor_run("cpu", 8, 10.0)["truncated"]
    best = max(("contiguous", "channels_last"), key=lambda k: floor[k]["img_s"])
    results["floor_backbone_256_batch8"] = {"img_s": round(floor[best]["img_s"], 1),
                                            "img_per_cpu_s": round(floor[best]["img_per_cpu_s"], 2)}
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
