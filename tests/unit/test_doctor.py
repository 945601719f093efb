"""The data doctor finds planted problems: a defect filed as good, a duplicate, an emptied mask, a blurred photo."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from hamacho_core.cli import main
from hamacho_core.doctor import DoctorConfig, examine
from hamacho_core.errors import ConfigError
from hamacho_core.synthetic import make_demo_dataset


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("doctor") / "部品"
    make_demo_dataset(root, n_good=24, n_bad_per_type=2, size=96, seed=2)
    goods = sorted((root / "good").glob("*.png"))
    bads = sorted((root / "bad").rglob("*.png"))
    masks = sorted((root / "mask").rglob("*.png"))
    shutil.copy(bads[0], root / "good" / "zz_defect_copy.png")
    shutil.copy(goods[1], root / "good" / "zz_twice.png")
    resaved = cv2.imencode(".jpg", cv2.imread(str(bads[1])), [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
    (root / "good" / "zz_defect_resaved.jpg").write_bytes(resaved.tobytes())  # a copy re-saved as JPEG
    mask = cv2.imread(str(masks[-1]), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(masks[-1]), np.zeros_like(mask))
    image = cv2.imread(str(goods[2]))
    cv2.imwrite(str(goods[2]), cv2.GaussianBlur(image, (0, 0), 4))
    return root, {"defect_copy": root / "good" / "zz_defect_copy.png", "twice": root / "good" / "zz_twice.png",
                  "mask": masks[-1], "blurred": goods[2]}


def test_planted_problems_are_found_with_their_actions(planted: tuple[Path, dict[str, Path]]) -> None:
    root, where = planted
    seen: list[str] = []
    report = examine(root, "folder", DoctorConfig(image_size=64, folds=4),
                     lambda done, total, stage: seen.append(stage))
    by_picture = {Path(f.pictures[0]).name: f for f in report.findings}
    copy = by_picture["zz_defect_copy.png"]
    assert copy.kind == "duplicate" and copy.values["across"] == "good_and_defect" and copy.action == "exclude"
    assert by_picture["zz_twice.png"].values["across"] == "split_drawn"
    resaved = by_picture["zz_defect_resaved.jpg"]
    assert resaved.kind == "near_duplicate" and resaved.values["across"] == "good_and_defect"
    assert resaved.values["copy_ratio"] < DoctorConfig().copy_ratio and resaved.action == "exclude"
    assert any(f.kind == "mask_empty" and str(where["mask"]) in f.pictures for f in report.findings)
    assert any(str(where["blurred"]) in f.pictures and f.kind in ("blurred", "unlike_good") for f in report.findings)
    assert {"hashing pictures", "extracting features"} <= set(seen)
    assert report.to_dict()["n_pictures"] == report.n_pictures == 24 + 3 + len(list(root.rglob("bad/*/*")))


def test_cli_doctor_prints_findings_and_writes_json(planted: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    root, _ = planted
    out = tmp_path / "findings.json"
    result = CliRunner().invoke(main, ["doctor", "--dataset-root", str(root.parent), "--category", root.name,
                                       "--no-features", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "zz_defect_copy.png" in result.output and "[exclude] duplicate (high)" in result.output
    assert '"mask_empty"' in out.read_text(encoding="utf-8")


def test_doctor_refuses_file_lists(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder and mvtec"):
        examine(tmp_path, "filelist")
