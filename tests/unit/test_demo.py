"""The synthetic demo dataset: layout, exact masks, variety, reproducibility."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hamacho_core.errors import ConfigError
from hamacho_core.synthetic import DEFECT_TYPES, make_demo_dataset, render_sample

N_GOOD, N_BAD = 5, 2


def _read(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), flags)
    assert image is not None, f"{path} is not a readable image"
    return image


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A Japanese folder name with a space: paths must be unicode-safe.
    root = tmp_path_factory.mktemp("demo") / "デモ データ"
    return make_demo_dataset(root, n_good=N_GOOD, n_bad_per_type=N_BAD, seed=0)


def test_layout_and_counts(dataset: Path) -> None:
    assert sorted(p.name for p in dataset.iterdir()) == ["bad", "good", "mask"]
    assert len(list((dataset / "good").glob("*.png"))) == N_GOOD
    assert sorted(p.name for p in (dataset / "bad").iterdir()) == sorted(DEFECT_TYPES)
    for kind in DEFECT_TYPES:
        bad = sorted(p.name for p in (dataset / "bad" / kind).glob("*.png"))
        assert len(bad) == N_BAD
        assert sorted(p.name for p in (dataset / "mask" / kind).glob("*.png")) == bad
    assert not list(dataset.parent.glob(".*partial*")), "the staging folder was left behind"


def test_images_are_256_rgb_and_masks_binary_nonempty_same_size(dataset: Path) -> None:
    for path in (dataset / "good").glob("*.png"):
        assert _read(path).shape == (256, 256, 3)
    for path in (dataset / "bad").glob("*/*.png"):
        image = _read(path)
        mask = _read(dataset / "mask" / path.parent.name / path.name)
        assert image.shape == (256, 256, 3)
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask)) == {0, 255}
        share = (mask > 0).mean()
        assert 0.0003 < share < 0.03, f"{path.name}: defect covers {share:.2%} of the picture"


def test_good_images_differ_from_each_other(dataset: Path) -> None:
    images = [_read(p).astype(np.int16) for p in sorted((dataset / "good").glob("*.png"))]
    for first, second in zip(images, images[1:], strict=False):
        assert np.abs(first - second).mean() > 2.0


def test_same_seed_same_files_other_seed_other_files(dataset: Path, tmp_path: Path) -> None:
    again = make_demo_dataset(tmp_path / "again", n_good=N_GOOD, n_bad_per_type=N_BAD, seed=0)
    other = make_demo_dataset(tmp_path / "other", n_good=N_GOOD, n_bad_per_type=N_BAD, seed=1)
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*.png"))
    assert files == sorted(p.relative_to(again) for p in again.rglob("*.png"))
    assert all((dataset / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert all((dataset / f).read_bytes() != (other / f).read_bytes() for f in files if f.parts[0] != "mask")


@pytest.mark.parametrize("kind", DEFECT_TYPES)
def test_mask_is_exactly_the_changed_pixels(kind: str) -> None:
    for index in range(3):
        sample = render_sample(kind, index, seed=7)
        changed = np.abs(sample.image.astype(np.int16) - sample.clean_image).max(axis=2) > 0
        defect = sample.mask > 0
        assert defect.any()
        assert not (changed & ~defect).any(), "pixels outside the mask were changed"
        assert changed[defect].mean() > 0.6, "most mask pixels must actually differ from the clean part"


@pytest.mark.parametrize("kind", DEFECT_TYPES)
def test_defect_pixels_stand_out_from_their_surroundings(kind: str) -> None:
    for index in range(3):
        sample = render_sample(kind, index, seed=3)
        gray = cv2.cvtColor(sample.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        clean = cv2.cvtColor(sample.clean_image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        defect = sample.mask > 0
        # The normal metal around the defect (the dark belt, below 100 grey levels, is left out).
        ring = (cv2.dilate(sample.mask, np.ones((9, 9), np.uint8)) > 0) & ~defect & (clean > 100)
        assert np.abs(gray[defect] - clean[defect]).mean() > 15.0, "the defect barely changes the part"
        # Welch's t statistic between the defect pixels and the normal pixels around them.
        t = abs(gray[defect].mean() - gray[ring].mean()) / np.sqrt(
            gray[defect].var() / defect.sum() + gray[ring].var() / ring.sum()
        )
        assert t > 5.0


def test_good_sample_has_empty_mask_and_no_change() -> None:
    sample = render_sample(None, 0)
    assert not sample.mask.any()
    assert np.array_equal(sample.image, sample.clean_image)


def test_progress_reports_every_picture(tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    make_demo_dataset(
        tmp_path / "p", n_good=2, n_bad_per_type=1, size=96, progress=lambda *a: calls.append(a)
    )
    total = 2 + len(DEFECT_TYPES)
    assert [c[:2] for c in calls] == [(i, total) for i in range(1, total + 1)]


def test_interrupted_run_leaves_nothing_behind(tmp_path: Path) -> None:
    def stop(done: int, total: int, stage: str) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_demo_dataset(tmp_path / "demo", n_good=4, n_bad_per_type=1, size=96, progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n_good"):
        make_demo_dataset(tmp_path / "x", n_good=0)
    with pytest.raises(ConfigError, match="scratch"):
        render_sample("dent", 0)
    with pytest.raises(ConfigError, match="64"):
        render_sample(None, 0, size=32)
