"""``hamacho export``: a trained run as one ONNX or OpenVINO model plus ``hamacho-model.json`` and a README.

The graph (``hamacho_core.export.graph``) is traced with PyTorch's TorchScript-based ONNX exporter
(``torch.onnx.export(..., dynamo=False)``): it writes the whole model, memory bank included, into one ``.onnx``
file in a few seconds. The newer dynamo exporter gives the same numbers but took 20x longer on the demo run
(68 s against 3 s on 2 cores) and splits the weights into a second ``.onnx.data`` file; it is used only when the
TorchScript exporter is unavailable. OpenVINO's own format (IR: ``model.xml`` + ``model.bin``) is converted from
that ONNX graph with ``openvino.convert_model`` and saved in full float32 precision (``compress_to_fp16=False``:
the default FP16 weights would move scores by more than the 1e-3 we promise); IR loads faster than ONNX in
OpenVINO and is what OpenVINO's deployment tools expect.

Before anything is kept, the written model is opened as every engine opens it (float32 pinned:
``hamacho_core.runtimes``) and checked against PyTorch on the run's own test pictures on this machine
(``hamacho_core.export.check``); the largest differences go into ``hamacho-model.json`` (``check``), and an export
whose normalized scores move by more than 1e-4 or whose verdicts change is refused.

Everything is written in a temporary folder inside the output folder and moved into place file by file,
``hamacho-model.json`` last: a folder with that file holds a complete model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from hamacho_core.choices import EXPORT_FORMATS
from hamacho_core.errors import ConfigError
from hamacho_core.export.graph import create_graph
from hamacho_core.export.model import EXPORT_FORMAT_VERSION, MANIFEST_NAME, MODEL_FILES, read_manifest
from hamacho_core.persistence import CONFIG_NAME, WEIGHTS_PATH, atomic_write_text, dump_json, load_run, read_config
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.runtimes import OPENVINO_CONFIG, precision_settings

__all__ = ["EXPORT_FORMATS", "EXPORT_FORMAT_VERSION", "MANIFEST_NAME", "ExportResult", "export_run",
           "read_manifest", "weights_digest"]

OPSET = 17
INPUT_NAME, OUTPUT_NAMES = "images", ("scores", "maps")


@dataclass
class ExportResult:
    """What ``export_run`` wrote."""

    output_dir: Path
    model_path: Path  # model.onnx or model.xml
    manifest_path: Path
    seconds: float


def weights_digest(run_dir: str | Path) -> str:
    """SHA-256 of a run's weights file (ties an export to the run it came from)."""
    config = read_config(run_dir)
    path = _run_dir(run_dir) / config.get("weights", WEIGHTS_PATH.as_posix())
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_dir(path: str | Path) -> Path:
    path = Path(path)
    return path.parent if path.name == CONFIG_NAME or path.suffix in (".yaml", ".yml") else path


def export_run(
    config_path: str | Path, output_dir: str | Path, format: str = "onnx", progress: ProgressCallback | None = None,
    check_pictures: Sequence[str | Path] | None = None,
) -> ExportResult:
    """Export a trained run, checked against PyTorch on this machine (``hamacho_core.export.check``).

    Args:
        config_path: the run's config.yaml (or its folder).
        output_dir: folder to write (created when missing; files of an earlier export are replaced).
        format: "onnx" (model.onnx) or "openvino" (model.xml + model.bin).
        progress: callback (done, total, stage).
        check_pictures: pictures for the check (None = the run's own test pictures nearest its threshold).

    Returns:
        :class:`ExportResult`.

    Raises:
        ConfigError: unknown format. ModelFileError: the run cannot be read. ExportMismatchError: the exported
        model's scores differ from PyTorch's beyond the tolerance on this machine (nothing is written).
    """
    from hamacho_core.export.check import ExportMismatchError, check_export

    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}")
    start = time.perf_counter()
    notify(progress, 0, 4, "loading the run")
    run = load_run(config_path, "cpu")
    graph = create_graph(run.detector)
    height, width = graph.input_shape
    output_dir = Path(output_dir)
    created = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output_dir, prefix=".export-"))
    try:
        notify(progress, 1, 4, "tracing the model")
        onnx_path = staging / "model.onnx"
        _to_onnx(graph, torch.zeros(1, 3, height, width), onnx_path)
        if format == "openvino":
            notify(progress, 2, 4, "converting to OpenVINO")
            _to_openvino(onnx_path, staging / "model.xml")
        names = MODEL_FILES[format]
        manifest = build_manifest(run, format, names[0], weights_digest(run.run_dir))
        dump_json(staging / MANIFEST_NAME, manifest)
        notify(progress, 3, 4, "checking against PyTorch")
        check = check_export(run, staging, None if check_pictures is None else [Path(p) for p in check_pictures])
        if not check.passed:
            raise ExportMismatchError(check.message(format))
        manifest["check"] = check.to_dict()
        for name in names:
            (staging / name).replace(output_dir / name)
        atomic_write_text(output_dir / "README.md", line_readme(manifest))
        dump_json(output_dir / MANIFEST_NAME, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)  # a folder this call made holds nothing half-written
        raise
    shutil.rmtree(staging, ignore_errors=True)
    notify(progress, 4, 4, "exported")
    return ExportResult(output_dir, output_dir / MODEL_FILES[format][0], output_dir / MANIFEST_NAME,
                        time.perf_counter() - start)


def _to_onnx(graph: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace ``graph`` to one ONNX file with a free batch size (see module docstring for the exporter choice)."""
    options: dict[str, Any] = {"input_names": [INPUT_NAME], "output_names": list(OUTPUT_NAMES), "opset_version": OPSET}
    axes = {INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in OUTPUT_NAMES}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation and tracer notes about Python ints frozen into the graph
        try:
            torch.onnx.export(graph, (example,), str(path), dynamo=False, dynamic_axes=axes, **options)
        except (TypeError, NotImplementedError, AttributeError):  # a torch without the TorchScript exporter
            batch = torch.export.Dim("batch")
            torch.onnx.export(graph, (example,), str(path), dynamo=True, external_data=False,
                              dynamic_shapes={INPUT_NAME: {0: batch}}, **options)


def _to_openvino(onnx_path: Path, xml_path: Path) -> None:
    """ONNX -> OpenVINO IR with float32 weights (see module docstring)."""
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    ov.save_model(model, str(xml_path), compress_to_fp16=False)


def build_manifest(run: Any, format: str, model_file: str, digest: str) -> dict[str, Any]:
    """Everything a program needs to prepare a picture and read the outputs, without this project."""
    detector = run.detector
    shape = detector.input_shape_
    extractor = detector.extractor
    grid = shape.tiles
    normalization = run.normalization.to_dict()
    settings = run.config.get("settings", {})
    return {
        "format": "hamacho-model",
        "format_version": EXPORT_FORMAT_VERSION,
        "engine": format,
        "model_file": model_file,
        "created": datetime.now().isoformat(timespec="seconds"),
        "source_run": str(run.run_dir),
        "weights_sha256": digest,
        "model": detector.name,
        "backbone": detector.config.backbone,
        "category": settings.get("category", ""),
        "input": {
            "name": INPUT_NAME, "layout": "NCHW", "dtype": "float32", "batch": "any",
            "height": shape.height, "width": shape.width,
            "color": "RGB, 8-bit: grey pictures repeated on 3 channels, alpha dropped, 16-bit divided by 257",
            "channel_order": "RGB",
            "resize": {
                "mode": detector.config.resize,
                "size": [shape.height, shape.width],
                "rule": "every picture is resized to exactly (height, width), whatever its own size (the run's "
                        "input shape, chosen at training time: " + shape.reason + ")",
                "interpolation": "OpenCV INTER_AREA when the picture is taller than height, else INTER_LINEAR",
            },
            "scale": 1.0 / 255.0,
            "mean": list(extractor.mean),
            "std": list(extractor.std),
            "formula": "x = (pixel / 255 - mean[c]) / std[c], then HWC -> CHW",
        },
        "outputs": {
            "scores": "(B,) raw image anomaly score, higher = more anomalous",
            "maps": f"(B, {shape.height}, {shape.width}) raw pixel anomaly map at the input shape; resize it to "
                    "the original picture with linear interpolation (OpenCV INTER_LINEAR)",
        },
        "tiling": None if grid is None else {
            **grid.to_dict(), "origins": [list(o) for o in grid.origins()], "inside_model": True,
            "rule": "the input is the whole canvas: the model cuts it into rows x cols overlapping tiles of "
                    "'tile' px at 'origins' (y, x), scores each, takes the highest tile score as the picture's "
                    "and stitches the tile maps back (feathered where they overlap)"},
        "normalization": normalization,
        "precision": {**precision_settings(format), "rule": "compute in float32: OpenVINO runs in bfloat16 on CPUs "
                      "that have it unless INFERENCE_PRECISION_HINT is f32, and its scores then move by percents"},
        "decision": {
            "formula": "norm = clip((raw - threshold) / (max - min) + 0.5, 0, 1): image with image_threshold, "
                       "image_min, image_max; pixels with pixel_threshold, pixel_min, pixel_max",
            "defect_if": "norm_score > image_norm (picture); norm_pixel > pixel_norm (defect region)",
        },
    }


def line_readme(manifest: dict[str, Any]) -> str:
    """The README for the line engineer, filled in from the manifest."""
    source = manifest["input"]
    norm = manifest["normalization"]
    files = " + ".join(MODEL_FILES[manifest["engine"]])
    tiled = ("\nThe run is tiled: the model input is the whole canvas and the model cuts it into tiles itself "
             f"({manifest['tiling']['rows']} x {manifest['tiling']['cols']} tiles of {manifest['tiling']['tile']}).\n"
             if manifest["tiling"] else "")
    check = manifest.get("check")
    check = "" if not check else (
        f"\nChecked at export on {check['n_pictures']} {check['pictures']} on this machine: normalized scores within "
        f"{check['max_normalized_score']:.1g} of PyTorch's, {check['verdicts_changed']} verdicts changed.\n")
    runtime = ("onnxruntime (`pip install onnxruntime`)" if manifest["engine"] == "onnx"
               else "OpenVINO (`pip install openvino`)")
    return f"""# Hamacho model: {manifest['model']} ({manifest['category'] or 'run'})

Files: `{files}` (the model), `hamacho-model.json` (everything below, machine-readable). Runs with {runtime};
this project is not needed.

## Input
One float32 tensor `{source['name']}` of shape (batch, 3, {source['height']}, {source['width']}), NCHW:
1. read the picture as 8-bit RGB (grey: repeat the channel; drop alpha; 16-bit: divide by 257);
2. resize to {source['width']} x {source['height']} (width x height) with OpenCV: `INTER_AREA` when the picture is
   taller than {source['height']} px, else `INTER_LINEAR`;
3. `x = (pixel / 255 - mean) / std` per channel, mean {[round(v, 4) for v in source['mean']]}, std
   {[round(v, 4) for v in source['std']]}; then HWC -> CHW.
{tiled}
## Outputs
- `scores` (batch,): raw anomaly score per picture.
- `maps` (batch, {source['height']}, {source['width']}): raw anomaly map; resize it to the picture's own size
  (linear interpolation) to mark where it looks wrong.

## Decision (saved thresholds of the run)
`norm = clip((raw - threshold) / (max - min) + 0.5, 0, 1)`; defect when `norm > {norm['image_norm']}`.
- picture: threshold {norm['image_threshold']:.6g}, min {norm['image_min']:.6g}, max {norm['image_max']:.6g}
- pixels: threshold {norm['pixel_threshold']:.6g}, min {norm['pixel_min']:.6g}, max {norm['pixel_max']:.6g},
  defect pixels where `norm > {norm['pixel_norm']}`

## Example (Python, onnxruntime)
```python
import cv2, json, numpy as np, onnxruntime as ort
spec = json.load(open("hamacho-model.json"))
h, w = spec["input"]["height"], spec["input"]["width"]
rgb = cv2.cvtColor(cv2.imread("picture.png", cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR)
x = ((rgb / 255.0 - spec["input"]["mean"]) / spec["input"]["std"]).astype(np.float32).transpose(2, 0, 1)[None]
scores, maps = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"]).run(None, {{"images": x}})
```
With OpenVINO, pin float32 (on CPUs with bfloat16, AVX512-BF16 or AMX, OpenVINO otherwise computes in bfloat16 and
the scores move by percents):
```python
import openvino
model = openvino.Core().compile_model("model.xml", "CPU", {json.dumps(OPENVINO_CONFIG)})
scores, maps = model(x).values()
```
{check}"""
