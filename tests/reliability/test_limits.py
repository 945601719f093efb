"""Limits at the door: picture headers checked before decoding, ZIP and project caps, settings from the environment."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hostile_inputs import huge_header_png, picture_corpus, png_bytes, zip_bytes

from hamacho_core.cli import main
from hamacho_core.data import load_dataset, picture_problem
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.imageio import read_image
from hamacho_core.limits import LimitError, Limits, check_picture_bytes, human_count, picture_header_size
from hamacho_core.uploads import UnsafeArchiveError, import_zip, save_uploads

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
@pytest.mark.parametrize("channels", [1, 3])
def test_header_sizes_match_the_decoded_size(suffix: str, channels: int) -> None:
    shape = (37, 53) if channels == 1 else (37, 53, 3)
    array = np.random.default_rng(0).integers(0, 255, shape, endpoint=True).astype(np.uint8)
    data = cv2.imencode(suffix, array)[1].tobytes()
    assert picture_header_size(data) == (37, 53)


def test_limits_come_from_the_environment_with_clear_errors() -> None:
    assert Limits.from_env({}) == Limits()
    limits = Limits.from_env({"HAMACHO_MAX_IMAGE_PIXELS": "400M", "HAMACHO_MAX_ZIP_MEMBERS": "1_000"})
    assert (limits.max_image_pixels, limits.max_zip_members) == (400_000_000, 1000)
    with pytest.raises(ConfigError, match="HAMACHO_MAX_UPLOAD_BYTES"):
        Limits.from_env({"HAMACHO_MAX_UPLOAD_BYTES": "lots"})
    assert human_count(1.6e9) == "1.6 G" and human_count(250e6) == "250 M"
    assert Limits().describe()["HAMACHO_MAX_ZIP_BYTES"] == "4 GiB"


def test_huge_header_is_refused_before_any_decode() -> None:
    data = huge_header_png()
    with pytest.raises(LimitError, match=r"too many pixels: 1.6 G \(40000 x 40000\), limit 250 M"):
        check_picture_bytes(data, "huge.png")
    problem = picture_problem(data, "huge.png")
    assert problem is not None and problem.reason.startswith("too many pixels: 1.6 G")
    assert picture_problem(png_bytes(8, 8), "fine.png") is None
    raised = Limits(max_image_pixels=2_000_000_000)
    assert picture_problem(data, "huge.png", raised) is not None  # OpenCV's guard or the decoder still refuses


def test_every_corpus_file_is_read_or_a_problem(tmp_path: Path) -> None:
    for item in picture_corpus():
        path = tmp_path / item.name
        path.write_bytes(item.data)
        try:
            image = read_image(path)
        except DataError as error:
            assert item.expected != "ok", (item.name, str(error))
            continue
        assert item.expected != "problem", item.name
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


def test_dataset_with_a_hostile_picture_keeps_the_good_ones(demo_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "set"
    (root / "good").mkdir(parents=True)
    for path in sorted((demo_root / "good").glob("*.png"))[:6]:
        (root / "good" / path.name).write_bytes(path.read_bytes())
    (root / "good" / "huge.png").write_bytes(huge_header_png())
    dataset = load_dataset(root, "folder", no_bad=True)
    assert len(dataset.train) + len(dataset.test) == 6
    [problem] = dataset.problems
    assert problem.path.endswith("huge.png") and "too many pixels: 1.6 G" in problem.reason
    os.environ["HAMACHO_MAX_PROJECT_IMAGES"] = "5"
    try:
        with pytest.raises(LimitError, match="HAMACHO_MAX_PROJECT_IMAGES"):
            load_dataset(root, "folder", no_bad=True)
    finally:
        del os.environ["HAMACHO_MAX_PROJECT_IMAGES"]


def test_zip_member_cap_and_pictures_checked_at_import(tmp_path: Path) -> None:
    many = zip_bytes({f"good/{i}.png": b"x" for i in range(60)})
    with pytest.raises(UnsafeArchiveError, match=r"60 files, above the limit of 50 \(HAMACHO_MAX_ZIP_MEMBERS\)"):
        import_zip(tmp_path / "a", io.BytesIO(many), len(many), limits=Limits(max_zip_members=50))
    assert not (tmp_path / "a").exists()
    mixed = zip_bytes({"good/1.png": png_bytes(16, 16, seed=1), "good/huge.png": huge_header_png(),
                       "good/zero.png": b"", "good/text.png": b"hello", "good/2.png": png_bytes(16, 16, seed=2)})
    report = import_zip(tmp_path / "b", io.BytesIO(mixed), len(mixed))
    assert sorted(p.name for p in report.written) == ["1.png", "2.png"]
    reasons = {Path(p.path).name: p.reason for p in report.problems}
    assert set(reasons) == {"huge.png", "zero.png", "text.png"}
    assert reasons["huge.png"].startswith("too many pixels") and "0 bytes" in reasons["zero.png"]
    assert sorted(p.name for p in (tmp_path / "b" / "good").iterdir()) == ["1.png", "2.png"]
    with pytest.raises(LimitError, match="HAMACHO_MAX_UPLOAD_BYTES"):
        import_zip(tmp_path / "c", io.BytesIO(mixed), len(mixed), limits=Limits(max_upload_bytes=100))


def test_uploads_stop_at_the_project_picture_cap(tmp_path: Path) -> None:
    files = [(f"good/{i}.png", png_bytes(8, 8, seed=i)) for i in range(5)]
    report = save_uploads(tmp_path, "good", files, Limits(max_project_images=3))
    assert len(report.written) == 3 and len(report.problems) == 2
    assert all("HAMACHO_MAX_PROJECT_IMAGES" in p.reason for p in report.problems)


def test_cli_train_and_inference_skip_a_hostile_picture(demo_root: Path, tmp_path: Path) -> None:
    """A reported failure: one 40,000 x 40,000 px PNG among good pictures lost the whole CLI run."""
    root = tmp_path / "data" / "set"
    for kind in ("good", "bad", "mask"):
        for path in sorted((demo_root / kind).rglob("*.png"))[:8]:
            target = root / path.relative_to(demo_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (root / "good" / "huge.png").write_bytes(huge_header_png())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    hamacho = [sys.executable, "-m", "hamacho_core"]
    done = subprocess.run([*hamacho, "train", "--dataset-root", str(root.parent), "--category", "set",
                           "--result-path", str(tmp_path / "results"), "--image-size", "64", "--no-csv"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "huge.png: too many pixels: 1.6 G (40000 x 40000), limit 250 M" in done.stderr
    images = tmp_path / "new"
    images.mkdir()
    (images / "huge.png").write_bytes(huge_header_png())
    (images / "ok.png").write_bytes(next((root / "good").glob("*.png")).read_bytes())
    done = CliRunner().invoke(main, ["inference", "--image-path", str(images), "--config-path",  # in-process:
                                     str(tmp_path / "results" / "set" / "patchcore" / "config.yaml"),  # the CLI's
                                     "--no-csv", "--save-path", str(tmp_path / "out")])  # process path is above
    assert done.exit_code == 0, done.output[-2000:]
    assert "too many pixels" in done.stderr and "1 image(s)" in done.stdout
