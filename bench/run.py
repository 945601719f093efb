"""Side-by-side benchmark: hamacho_core PatchCore vs anomalib 2.7 PatchCore, same images, same settings.

    .venv-bench/bin/python bench/run.py [--datasets battery_weld magnetic_tile] [--device cpu|cuda]
                                        [--tools anomalib hamacho] [--scaling [--sizes 100 1000 5000]]

Each tool runs in its own subprocess, one after the other (never at the same time), on the split of
bench/common.py; the parent scores the raw outputs of both with the same code. The floor (backbone-only
throughput, bench/floor.py) runs in a third subprocess. Results: a table on stdout, ``bench/results/<stamp>.json``
and ``bench/results/<stamp>.md``.

``--line-scan`` instead generates long synthetic line-scan strips with small defects (hamacho_core.synthetic.strips)
and runs anomalib (256 square), hamacho at the same 256 square, and hamacho at its product defaults (keep aspect,
automatic tiling): what tiling buys on images far larger than the model input, and what it costs.

``--whole-job`` instead times whole processes on each dataset, one after the other in the same run: ``hamacho
train`` at its defaults (supervised head on), ``hamacho train --supervised off`` (both at ``--image-size 256``, all
outputs written, through bench/job_split.py: fit / predict / outputs / head split, peak RSS), and anomalib 2.7
PatchCore's whole process (bench/anomalib_side.py: imports, fit, predict, no outputs), with the ratios.

``--scaling`` instead trains on N generated pictures (hamacho_core.synthetic.make_demo_dataset; synthetic noise
textures when it is missing) for each N in --sizes, and tests on 40 more: fit time, memory-bank size, peak RSS and
predict throughput against N, as a table and a plot (``docs/scaling.png`` unless --plot says otherwise).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BACKBONE,
    BATCH_SIZE,
    BENCH_DIR,
    CORESET_RATIO,
    DATASETS,
    DEFAULT_DATA_ROOT,
    IMAGE_SIZE,
    NUM_NEIGHBORS,
    REPO_ROOT,
    Split,
    TestSample,
    load_split,
    score_outputs,
)

TOOLS = ("anomalib", "hamacho")
SIDE_SCRIPTS = {"anomalib": BENCH_DIR / "anomalib_side.py", "hamacho": BENCH_DIR / "hamacho_side.py"}
RESULTS_DIR = BENCH_DIR / "results"


# ----------------------------------------------------------------------------------------------- subprocesses

def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


# Memory guard: the machine is shared, and a runaway child must not push the OOM killer onto other work.
MAX_RSS_MB = 12 * 1024


def run_child(command: list[str], log: Path, timeout: float | None, max_rss_mb: float = MAX_RSS_MB,
              extra_env: dict[str, str] | None = None) -> tuple[int | str, float]:
    """Run one measurement process, its output to ``log``.

    The parent watches the child's resident memory and stops it above ``max_rss_mb`` (the child's own
    ru_maxrss is what gets reported; this is only a guard). Returns (exit code, or 'timeout' / 'over N MB
    memory guard', and wall seconds).
    """
    import psutil

    env = {**child_env(), **(extra_env or {})}
    start = time.perf_counter()
    code: int | str
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        watched = psutil.Process(proc.pid)
        code = "running"
        while code == "running":
            try:
                code = proc.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                try:
                    rss = sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]) / 2**20
                except psutil.Error:
                    continue
                over_time = timeout is not None and time.perf_counter() - start > timeout
                if rss > max_rss_mb or over_time:
                    proc.kill()
                    proc.wait()
                    code = "timeout" if over_time else f"over the {max_rss_mb:.0f} MB memory guard"
    if code == -9:
        code = "killed (SIGKILL: out of memory?)"
    return code, time.perf_counter() - start


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, progress-bar redraws (carriage returns) counted as lines."""
    import re

    try:
        text = path.read_text(errors="replace")
        return "\n".join([line for line in re.split(r"[\r\n]+", text) if line.strip()][-lines:])
    except OSError:
        return ""


def _machine_busy_seconds() -> float:
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def wait_for_quiet(max_wait: float, busy_pct: float = 25.0) -> float:
    """Wait (at most ``max_wait`` s) until the machine's CPU use, over 3 s, is under ``busy_pct``; returns it."""
    import psutil

    deadline = time.perf_counter() + max_wait
    while True:
        busy = psutil.cpu_percent(interval=3.0)
        if busy < busy_pct or time.perf_counter() >= deadline:
            return busy
        print(f"    (machine busy: {busy:.0f}% CPU by other work; waiting)", flush=True)
        time.sleep(12)


def run_tool(tool: str, split: Split, work: Path, device: str, batch_size: int, timeout: float | None,
             maps: bool = True, extra: list[str] | None = None, env: dict[str, str] | None = None,
             max_rss_mb: float = MAX_RSS_MB, quiet_wait: float = 0.0) -> dict:
    """One tool on one split; returns its JSON (plus AUROCs) or an error record."""
    split_json = work / f"{split.name}.split.json"
    split_json.write_text(json.dumps(split.to_json()))
    prefix = work / f"{split.name}-{tool}"
    out_json, out_npz, log = (work / f"{prefix.name}.{ext}" for ext in ("json", "npz", "log"))
    command = [sys.executable, str(SIDE_SCRIPTS[tool]), "--split-json", str(split_json), "--out", str(prefix),
               "--device", device, "--batch-size", str(batch_size)]
    if not maps:
        command.append("--no-maps")
    command += extra or []
    print(f"  {tool:8s} on {split.name} ({len(split.train)} train, {len(split.test)} test) ...", end=" ", flush=True)
    busy_before = wait_for_quiet(quiet_wait) if quiet_wait > 0 else None
    load_before = os.getloadavg()[0]
    machine_before = _machine_busy_seconds()
    # the tool's temporary files (anomalib's HF cache and Lightning folder) go under the work folder, so that a
    # run stopped by the guard or a timeout leaves nothing behind once the work folder is removed
    tmp = work / f"{prefix.name}.tmp"
    tmp.mkdir(exist_ok=True)
    code, wall = run_child(command, log, timeout, max_rss_mb, {**(env or {}), "TMPDIR": str(tmp)})
    machine_busy = _machine_busy_seconds() - machine_before
    if code != 0 or not out_json.is_file():
        print(f"FAILED ({code}) after {wall:.0f} s; log: {log}")
        print("    " + tail(log).replace("\n", "\n    "))
        reason = f"exit {code}" if isinstance(code, int) else code
        return {"tool": tool, "dataset": split.name, "error": f"{reason} after {wall:.0f} s", "log_tail": tail(log)}
    result = json.loads(out_json.read_text())
    result.update(wall_s=wall, loadavg_1m_before=load_before, cpu_busy_pct_before=busy_before)
    # share of the machine's CPU time used by other work while this tool ran (0 = it had the machine alone)
    other = max(0.0, machine_busy - result.get("total_cpu_s", 0.0)) / (wall * (os.cpu_count() or 1))
    result["other_work_pct"] = round(100 * other, 1)
    result.update(score_outputs(split, out_npz))
    print(f"fit {result['fit_s']:.1f} s, {result['predict_img_s']:.2f} img/s, "
          f"peak {result['peak_rss_mb']:.0f} MB, AUROC {result['image_auroc']:.3f}/{result['pixel_auroc']:.3f} "
          f"(other work on the machine meanwhile: {result['other_work_pct']:.0f}%)")
    return result


def run_floor(work: Path, device: str, batch_size: int, seconds: float) -> dict:
    out = work / "floor.json"
    log = work / "floor.log"
    print(f"  floor (backbone only, batch {batch_size}) ...", end=" ", flush=True)
    machine_before = _machine_busy_seconds()
    code, wall = run_child([sys.executable, str(BENCH_DIR / "floor.py"), "--device", device, "--batch-size",
                            str(batch_size), "--seconds", str(seconds), "--json", str(out)], log, None)
    machine_busy = _machine_busy_seconds() - machine_before
    if code != 0 or not out.is_file():
        print(f"FAILED ({code}); log: {log}")
        return {"error": f"exit {code}", "log_tail": tail(log)}
    floor = json.loads(out.read_text())
    other = max(0.0, machine_busy - floor.get("total_cpu_s", 0.0)) / (wall * (os.cpu_count() or 1))
    floor["other_work_pct"] = round(100 * other, 1)
    print(f"truncated {floor['truncated']['img_s']:.1f} img/s, full {floor['full']['img_s']:.1f} img/s "
          f"(other work on the machine meanwhile: {floor['other_work_pct']:.0f}%)")
    return floor


def tool_args(tool: str, args) -> list[str]:
    if tool == "hamacho" and args.hamacho_set:
        return ["--set", *args.hamacho_set]
    return []


def guard_args(args) -> dict:
    env = dict(item.split("=", 1) for item in args.env)
    return {"env": env, "max_rss_mb": args.max_rss_gb * 1024, "quiet_wait": args.quiet_wait}


# ----------------------------------------------------------------------------------------------- reporting

def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def _ratio(ours, theirs) -> str:
    if not ours or not theirs or any(isinstance(v, float) and math.isnan(v) for v in (ours, theirs)):
        return "–"
    return f"{ours / theirs:.2f}x"


def _delta(ours, theirs) -> str:
    if ours is None or theirs is None or math.isnan(ours) or math.isnan(theirs):
        return "–"
    return f"{ours - theirs:+.3f}"


def _per_cpu(r: dict) -> float | None:
    """Test images per CPU-second of predict (all threads): steadier than img/s when the machine is shared."""
    cpu = r.get("predict_cpu_s")
    return r["n_test"] / cpu if cpu else None


def dataset_table(name: str, rows: dict[str, dict]) -> list[str]:
    """Markdown lines for one dataset: one row per tool, then hamacho/anomalib."""
    lines = [f"| {name} | fit s | fit CPU s | predict img/s | img per CPU s | peak RSS MB | image AUROC | "
             "pixel AUROC | memory bank | other work |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for tool, r in rows.items():
        if "error" in r:
            lines.append(f"| {tool} | {r['error']} | | | | | | | | |")
            continue
        bank = "x".join(str(n) for n in r["memory_bank"]) if r.get("memory_bank") else "–"
        lines.append(f"| {tool} | {_fmt(r['fit_s'], '.1f')} | {_fmt(r.get('fit_cpu_s'), '.0f')} | "
                     f"{_fmt(r['predict_img_s'], '.2f')} | {_fmt(_per_cpu(r), '.2f')} | "
                     f"{_fmt(r['peak_rss_mb'], '.0f')} | {_fmt(r['image_auroc'], '.3f')} | "
                     f"{_fmt(r['pixel_auroc'], '.3f')} | {bank} | {_fmt(r.get('other_work_pct'), '.0f')}% |")
    ours, theirs = rows.get("hamacho", {}), rows.get("anomalib", {})
    if ours and theirs and "error" not in ours and "error" not in theirs:
        lines.append(f"| hamacho / anomalib | {_ratio(ours['fit_s'], theirs['fit_s'])} | "
                     f"{_ratio(ours.get('fit_cpu_s'), theirs.get('fit_cpu_s'))} | "
                     f"{_ratio(ours['predict_img_s'], theirs['predict_img_s'])} | "
                     f"{_ratio(_per_cpu(ours), _per_cpu(theirs))} | "
                     f"{_ratio(ours['peak_rss_mb'], theirs['peak_rss_mb'])} | "
                     f"{_delta(ours['image_auroc'], theirs['image_auroc'])} | "
                     f"{_delta(ours['pixel_auroc'], theirs['pixel_auroc'])} | | |")
    return lines


def floor_lines(floor: dict) -> list[str]:
    if not floor or "error" in floor:
        return ["Floor: not measured." if not floor else f"Floor: failed ({floor['error']})."]
    t, f = floor["truncated"], floor["full"]
    runtime = floor.get("onnxruntime", {})
    ort = (f" onnxruntime (hamacho's CPU backbone, traced, one picture a call): **{runtime['img_s']:.1f} img/s** "
           f"({runtime['img_per_cpu_s']:.1f} per CPU-second)." if "img_s" in runtime else "")
    return [f"Floor (backbone only, {floor['backbone']} {floor['image_size']}x{floor['image_size']}, batch "
            f"{floor['batch_size']}, {floor['device']}, inference_mode, input already decoded): "
            f"truncated after blocks.4 **{t['img_s']:.1f} img/s** (NCHW {t['contiguous']['img_s']:.1f}, "
            f"channels_last {t['channels_last']['img_s']:.1f}); full network {f['img_s']:.1f} img/s "
            f"(NCHW {f['contiguous']['img_s']:.1f}, channels_last {f['channels_last']['img_s']:.1f}). "
            f"Per CPU-second: truncated {_best_per_cpu(t):.1f} img, full {_best_per_cpu(f):.1f} img. "
            f"Other work on the machine meanwhile: {floor.get('other_work_pct', float('nan')):.0f}%.{ort}"]


def _best_per_cpu(entry: dict) -> float:
    return max(entry[fmt].get("img_per_cpu_s", float("nan")) for fmt in ("contiguous", "channels_last"))


def settings_line(device: str, batch_size: int) -> str:
    return (f"Settings: PatchCore, {BACKBONE} strides 8+16, {IMAGE_SIZE}x{IMAGE_SIZE} square resize, coreset "
            f"ratio {CORESET_RATIO}, {NUM_NEIGHBORS} neighbours, batch {batch_size}, device {device}. fit s = model "
            "construction + fit; predict img/s over the test images, decoding included; peak RSS = ru_maxrss of "
            "the tool's own process; AUROCs by bench/common.py on raw scores and 256x256 maps. 'other work': "
            "share of the machine's CPU time used by other processes while the tool ran (0% = it had the "
            "machine alone; timings with a large share are pessimistic).")


def extra_settings(args) -> str:
    parts = []
    if args.env:
        parts.append("environment of both tools: " + " ".join(f"`{e}`" for e in args.env))
    if args.hamacho_set:
        parts.append("hamacho config overrides: " + " ".join(f"`{e}`" for e in args.hamacho_set))
    return (" " + "; ".join(parts) + ".") if parts else ""


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine_line() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def save(results: dict, markdown: list[str], stamp: str) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    json_path, md_path = RESULTS_DIR / f"{stamp}.json", RESULTS_DIR / f"{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str, allow_nan=True))
    md_path.write_text("\n".join(markdown) + "\n")
    return json_path, md_path


# ----------------------------------------------------------------------------------------------- scaling

N_TEST_GOOD, N_TEST_BAD_PER_TYPE = 20, 5


def noise_textures(root: Path, n_good: int, n_bad: int, seed: int = 0) -> Path:
    """Fallback generator: smooth noise textures, defects are bright/dark blobs with exact masks."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for sub in ("good", "bad/blob", "mask/blob"):
        (root / sub).mkdir(parents=True, exist_ok=True)

    def texture() -> np.ndarray:
        base = cv2.GaussianBlur(rng.normal(128, 40, (256, 256)).astype(np.float32), (0, 0), 3)
        return np.clip(base + rng.normal(0, 6, (256, 256)), 0, 255).astype(np.uint8)

    for i in range(n_good):
        cv2.imwrite(str(root / "good" / f"good_{i:05d}.png"), texture())
    for i in range(n_bad):
        image, mask = texture(), np.zeros((256, 256), np.uint8)
        center = tuple(int(v) for v in rng.integers(40, 216, 2))
        cv2.circle(mask, center, int(rng.integers(6, 20)), 255, -1)
        image[mask > 0] = 255 if i % 2 else 0
        cv2.imwrite(str(root / "bad" / "blob" / f"blob_{i:05d}.png"), image)
        cv2.imwrite(str(root / "mask" / "blob" / f"blob_{i:05d}.png"), mask)
    return root


def scaling_data(root: Path, max_n: int) -> tuple[list[str], list[TestSample], str]:
    """Generate max_n + 20 good and about 20 defective pictures; returns (train pool, test samples, generator)."""
    n_good = max_n + N_TEST_GOOD
    try:
        from hamacho_core.synthetic import DEFECT_TYPES, make_demo_dataset

        n_bad_per_type = max(1, math.ceil(N_TEST_BAD_PER_TYPE * 4 / len(DEFECT_TYPES)))
        make_demo_dataset(root, n_good=n_good, n_bad_per_type=n_bad_per_type, size=IMAGE_SIZE, seed=0)
        generator = "hamacho_core.synthetic.make_demo_dataset"
    except ImportError:
        noise_textures(root, n_good, N_TEST_BAD_PER_TYPE * 4)
        generator = "noise textures (bench/run.py)"
    good = sorted((root / "good").glob("*.png"))
    train_pool, test_good = [str(p) for p in good[:max_n]], good[max_n:]
    test = [TestSample(str(p), 0, None, "good") for p in test_good]
    for path in sorted((root / "bad").rglob("*.png")):
        mask = root / "mask" / path.relative_to(root / "bad")
        test.append(TestSample(str(path), 1, str(mask) if mask.is_file() else None, path.parent.name))
    return train_pool, test, generator


def plot_scaling(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("fit_s", "fit time (s)"), ("bank_rows", "memory bank (patches)"),
              ("peak_rss_mb", "peak RSS (MB)"), ("predict_img_s", "predict (images/s)")]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, (key, label) in zip(axes.ravel(), panels, strict=True):
        for tool in TOOLS:
            points = [(r["n_train"], r[key]) for r in rows if r["tool"] == tool and r.get(key) is not None]
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot(xs, ys, marker="o", label=tool)
        ax.set_xscale("log")
        if key != "predict_img_s":
            ax.set_yscale("log")
        ax.set_xlabel("training images (N)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"PatchCore scaling, {BACKBONE} {IMAGE_SIZE}x{IMAGE_SIZE}, coreset {CORESET_RATIO}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_scaling(args, work: Path, stamp: str) -> None:
    sizes = sorted(set(args.sizes))
    print(f"Generating {max(sizes)} + {N_TEST_GOOD} good and defective test pictures in {work} ...", flush=True)
    pool, test, generator = scaling_data(work / "scaling_data", max(sizes))
    rows = []
    for n in sizes:
        split = Split(f"scaling_{n}", pool[:n], test)
        for tool in args.tools:
            r = run_tool(tool, split, work, args.device, args.batch_size, args.timeout, extra=tool_args(tool, args),
                         **guard_args(args))
            bank = r.get("memory_bank")
            rows.append({"tool": tool, "n_train": n, "fit_s": r.get("fit_s"), "peak_rss_mb": r.get("peak_rss_mb"),
                         "predict_img_s": r.get("predict_img_s"), "bank_rows": bank[0] if bank else None,
                         "memory_bank": bank, "image_auroc": r.get("image_auroc"), "error": r.get("error")})
    md = [f"# PatchCore scaling ({stamp})", "", settings_line(args.device, args.batch_size), "",
          f"Data: {generator}; test = {len(test)} pictures. Machine: {machine_line()}; repo {git_commit()}."
          f"{extra_settings(args)}", "",
          "| tool | N train | fit s | memory bank | peak RSS MB | predict img/s | image AUROC |",
          "|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        if r["error"]:
            md.append(f"| {r['tool']} | {r['n_train']} | {r['error']} | | | | |")
            continue
        bank = "x".join(str(v) for v in r["memory_bank"]) if r["memory_bank"] else "–"
        md.append(f"| {r['tool']} | {r['n_train']} | {r['fit_s']:.1f} | {bank} | {r['peak_rss_mb']:.0f} | "
                  f"{r['predict_img_s']:.2f} | {_fmt(r['image_auroc'], '.3f')} |")
    plot = Path(args.plot)
    plot_scaling([r for r in rows if not r["error"]], plot)
    md += ["", f"Plot: `{plot}`."]
    results = {"kind": "scaling", "stamp": stamp, "commit": git_commit(), "machine": machine_line(),
               "device": args.device, "batch_size": args.batch_size, "env": args.env,
               "hamacho_set": args.hamacho_set, "generator": generator, "sizes": sizes,
               "n_test": len(test), "rows": rows}
    json_path, md_path = save(results, md, f"{stamp}-scaling")
    print("\n" + "\n".join(md))
    print(f"\nSaved {json_path}, {md_path} and {plot}")


# ----------------------------------------------------------------------------------------------- line scan

LINE_SCAN_SIZE = (384, 3840)  # (height, width) px


def run_line_scan(args, work: Path, stamp: str) -> None:
    from hamacho_core.synthetic.strips import make_strip_dataset

    root = make_strip_dataset(work / "line_scan" / "strip", n_good=30, n_bad_per_type=8, seed=0, size=LINE_SCAN_SIZE)
    split = load_split("strip", root.parent)
    print(f"line-scan strips {LINE_SCAN_SIZE[1]} x {LINE_SCAN_SIZE[0]} px: {len(split.train)} train, "
          f"{len(split.test)} test images")
    runs = {"anomalib": ("anomalib", []),
            "hamacho 256 square": ("hamacho", []),
            "hamacho": ("hamacho", ["--set", "resize=keep-aspect", "image_size=none", "tiling=auto"])}
    rows = {label: run_tool(tool, split, work, args.device, args.batch_size, args.timeout, extra=extra,
                            **guard_args(args)) for label, (tool, extra) in runs.items()}
    md = [f"# Line-scan strips: tiling vs one squashed input ({stamp})", "", settings_line(args.device,
          args.batch_size), "", f"Machine: {machine_line()}; repo {git_commit()}. Data: hamacho_core.synthetic.strips, "
          f"{LINE_SCAN_SIZE[1]} x {LINE_SCAN_SIZE[0]} px, pits of 10-18 px and scratches of 25-40 x 2 px. "
          f"'hamacho' row: product defaults (keep aspect, automatic size, automatic tiling: input "
          f"{rows['hamacho'].get('input_shape')}). Pixel AUROC on 256 x 256 resized maps "
          "and masks (coarse for a 10:1 strip).", ""]
    md += dataset_table(f"strip ({len(split.train)} train / {len(split.test)} test)", rows)
    results = {"kind": "line_scan", "stamp": stamp, "commit": git_commit(), "machine": machine_line(),
               "device": args.device, "batch_size": args.batch_size, "size": LINE_SCAN_SIZE, "tools": rows}
    json_path, md_path = save(results, md, f"{stamp}-line-scan")
    print("\n" + "\n".join(md))
    print(f"\nSaved {json_path} and {md_path}")


# ----------------------------------------------------------------------------------------------- whole job

WHOLE_JOBS = {"default (head on)": "", "--supervised off": "--supervised off"}


def run_job_split(name: str, data_root: str, work: Path, extra: str, timeout: float | None) -> dict:
    """One ``hamacho train`` process through bench/job_split.py (its own wrapper process: its peak RSS is the
    train process's alone)."""
    out = work / f"job-{name}-{len(list(work.glob('job-*')))}"
    log = out.with_suffix(".log")
    fmt = "mvtec" if (Path(data_root) / name / "train").is_dir() else "folder"
    command = [sys.executable, str(BENCH_DIR / "job_split.py"), "--tree", str(REPO_ROOT), "--work", str(out),
               "--data-root", str(data_root), "--category", name, "--data-format", fmt, "--help-runs", "1",
               f"--extra={extra}"]
    print(f"  hamacho train {extra or '(defaults)'} on {name} ...", end=" ", flush=True)
    load = os.getloadavg()[0]
    code, wall = run_child(command, log, timeout)
    if code != 0:
        print(f"FAILED ({code}); log: {log}")
        return {"error": f"exit {code}", "log_tail": tail(log)}
    text = log.read_text()
    result = json.loads(text[text.index("{"):text.rindex("}") + 1])
    result["loadavg_1m_before"] = load
    print(f"whole {result['wall_s']:.1f} s (fit {result['fit_s']:.1f}, predict {result['predict_s']:.1f}, outputs "
          f"{result['outputs_s']:.1f}, head {result.get('head_s') or 0:.1f}), peak {result['peak_rss_mb']} MB")
    return result


def run_whole_job(args, work: Path, stamp: str) -> None:
    results = {"kind": "whole_job", "stamp": stamp, "commit": git_commit(), "machine": machine_line(),
               "datasets": {}}
    md = [f"# Whole processes: hamacho train vs anomalib 2.7 PatchCore ({stamp})", "",
          f"Machine: {machine_line()}; repo {git_commit()}. hamacho: `hamacho train --image-size 256` (every output "
          "written), split by bench/job_split.py; anomalib: bench/anomalib_side.py's whole process (imports, fit, "
          "predict; no outputs), 256 x 256 square. Load average (1 min) before each row.", "",
          "| dataset | process | whole s | fit s | predict s | outputs s (share) | head s (share) | rest s | "
          "peak RSS MB | anomalib / this | RSS / anomalib's | load |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.datasets:
        split = load_split(name, args.data_root)
        print(f"{name}: {len(split.train)} train, {len(split.test)} test images")
        ours = {label: run_job_split(name, args.data_root, work, extra, args.timeout)
                for label, extra in WHOLE_JOBS.items()}
        theirs = run_tool("anomalib", split, work, args.device, args.batch_size, args.timeout, **guard_args(args))
        results["datasets"][name] = {"hamacho": ours, "anomalib": theirs}
        base_wall, base_rss = theirs.get("wall_s"), theirs.get("peak_rss_mb")
        for label, r in ours.items():
            if "error" in r:
                md.append(f"| {name} | hamacho {label} | {r['error']} | | | | | | | | | |")
                continue
            head = r.get("head_s") or 0.0
            md.append(f"| {name} | hamacho {label} | {r['wall_s']:.1f} | {r['fit_s']:.1f} | {r['predict_s']:.1f} | "
                      f"{r['outputs_s']:.1f} ({r['outputs_s'] / r['wall_s']:.0%}) | "
                      f"{head:.1f} ({head / r['wall_s']:.0%}) | {r['rest_s']:.1f} | "
                      f"{r['peak_rss_mb']:,} | {_ratio(base_wall, r['wall_s'])} | "
                      f"{_ratio(r['peak_rss_mb'], base_rss)} | {r['loadavg_1m_before']:.1f} |")
        if "error" in theirs:
            md.append(f"| {name} | anomalib 2.7 | {theirs['error']} | | | | | | | | | |")
        else:
            md.append(f"| {name} | anomalib 2.7 (imports {theirs.get('import_s', float('nan')):.1f} s) | "
                      f"{base_wall:.1f} | {theirs['fit_s']:.1f} | {theirs['n_test'] / theirs['predict_img_s']:.1f} | "
                      f"- | - | | {base_rss:,.0f} | 1.00x | 1.00x | {theirs['loadavg_1m_before']:.1f} |")
    json_path, md_path = save(results, md, f"{stamp}-whole-job")
    print("\n" + "\n".join(md))
    print(f"\nSaved {json_path} and {md_path}")


# ----------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT), help="folder holding the datasets")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--hamacho-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override hamacho PatchCoreConfig fields, e.g. max_bank_size=none "
                             "exact_search_limit=1000000 (default: the product's defaults)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed to each tool run")
    parser.add_argument("--max-rss-gb", type=float, default=MAX_RSS_MB / 1024,
                        help="stop a tool run whose memory passes this (the machine is shared); default 12")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="environment for both tools' processes, e.g. MALLOC_MMAP_THRESHOLD_=1048576")
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="before each measurement wait up to S seconds for other work to stop using the CPU")
    parser.add_argument("--no-floor", action="store_true", help="skip the backbone-only floor measurement")
    parser.add_argument("--floor-seconds", type=float, default=10.0)
    parser.add_argument("--scaling", action="store_true", help="run the scaling study instead of the datasets")
    parser.add_argument("--line-scan", action="store_true", help="run the line-scan (tiling) study instead")
    parser.add_argument("--whole-job", action="store_true",
                        help="time whole processes instead: hamacho train (head on, head off) and anomalib's")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000, 5000], help="N for --scaling")
    parser.add_argument("--plot", default=str(REPO_ROOT / "docs" / "scaling.png"), help="scaling plot path")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, raw outputs)")
    args = parser.parse_args()

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix=f"bench-{stamp}-"))
    print(f"Work folder (logs, raw outputs): {work}")
    try:
        if args.scaling:
            run_scaling(args, work, stamp)
            return
        if args.line_scan:
            run_line_scan(args, work, stamp)
            return
        if args.whole_job:
            run_whole_job(args, work, stamp)
            return
        results = {"kind": "datasets", "stamp": stamp, "commit": git_commit(), "machine": machine_line(),
                   "device": args.device, "batch_size": args.batch_size, "env": args.env,
                   "hamacho_set": args.hamacho_set, "datasets": {}}
        md = [f"# hamacho vs anomalib PatchCore ({stamp})", "", settings_line(args.device, args.batch_size), "",
              f"Machine: {machine_line()}; repo {git_commit()}.{extra_settings(args)}", ""]
        for name in args.datasets:
            split = load_split(name, args.data_root)
            print(f"{name}: {len(split.train)} train, {len(split.test)} test images")
            rows = {tool: run_tool(tool, split, work, args.device, args.batch_size, args.timeout,
                                   extra=tool_args(tool, args), **guard_args(args)) for tool in args.tools}
            results["datasets"][name] = {"n_train": len(split.train), "n_test": len(split.test), "tools": rows}
            md += dataset_table(f"{name} ({len(split.train)} train / {len(split.test)} test)", rows) + [""]
        if not args.no_floor:
            if args.quiet_wait > 0:
                wait_for_quiet(args.quiet_wait)
            results["floor"] = run_floor(work, args.device, args.batch_size, args.floor_seconds)
            md += floor_lines(results["floor"])
        json_path, md_path = save(results, md, stamp)
        print("\n" + "\n".join(md))
        print(f"\nSaved {json_path} and {md_path}")
    finally:
        if args.keep:
            print(f"Kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
