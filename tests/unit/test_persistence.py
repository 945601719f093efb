from pathlib import Path

import numpy as np
import pytest
import yaml

from hamacho_core.detectors import PatchCore, PatchCoreConfig
from hamacho_core.errors import ModelFileError
from hamacho_core.persistence import (
    atomic_write_text,
    is_complete,
    list_runs,
    load_run,
    read_config,
    save_run,
    update_thresholds,
)
from hamacho_core.thresholds import Normalization


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    images = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(3)]
    detector = PatchCore(PatchCoreConfig(input_shape=(64, 64), device="cpu")).fit(images)
    folder = tmp_path_factory.mktemp("runs") / "カテゴリ" / "patchcore"
    save_run(folder, detector, Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0), {"category": "カテゴリ"},
             {"image_auroc": 0.9})
    return folder


def test_weights_are_safetensors_and_no_temp_files_remain(run_dir: Path) -> None:
    weights = (run_dir / "weights" / "model.safetensors").read_bytes()
    header_size = int.from_bytes(weights[:8], "little")
    assert weights[8:9] == b"{" and b"memory_bank" in weights[8: 8 + header_size]
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]
    assert list_runs(run_dir.parent.parent)[0].metrics == {"image_auroc": 0.9}
    assert list_runs(run_dir.parent.parent)[0].config["settings"] == {"category": "カテゴリ"}  # config.yaml as read
    assert not is_complete(run_dir) and list_runs(run_dir.parent.parent, complete_only=True) == []  # no evaluation


def test_newer_format_is_refused(run_dir: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    config["format_version"] = 99
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ModelFileError, match="newer hamacho"):
        read_config(tmp_path)


def test_damaged_files_are_clear_errors(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_run(tmp_path)
    (tmp_path / "config.yaml").write_text("model: [unclosed", encoding="utf-8")
    with pytest.raises(ModelFileError, match="damaged"):
        read_config(tmp_path)
    (tmp_path / "config.yaml").write_text((run_dir / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ModelFileError, match="cannot read model weights"):
        load_run(tmp_path)


def test_thresholds_can_be_moved_without_retraining(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("config.yaml",):
        atomic_write_text(copy / name, (run_dir / name).read_text(encoding="utf-8"))
    update_thresholds(copy / "config.yaml", image_norm=0.7, pixel_norm=0.3)
    normalization = read_config(copy)["normalization"]
    assert (normalization["image_norm"], normalization["pixel_norm"]) == (0.7, 0.3)
