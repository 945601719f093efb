import shutil
from pathlib import Path

import numpy as np
import pytest

from hamacho_core.data import load_dataset, split_good
from hamacho_core.errors import DataError
from hamacho_core.imageio import write_image


def _image(path: Path, size: tuple[int, int] = (32, 48), value: int = 100) -> Path:
    write_image(path, np.full((*size, 3), value, np.uint8))
    return path


def _folder_dataset(root: Path) -> Path:
    for i in range(6):
        _image(root / "good" / f"良品_{i}.png", value=100 + i)
    _image(root / "bad" / "scratch" / "傷_0.jpg")
    _image(root / "bad" / "scratch" / "傷_1.png")
    _image(root / "bad" / "spot" / "s0.png")
    _image(root / "mask" / "scratch" / "傷_0.png")  # .png mask for a .jpg image
    _image(root / "mask" / "scratch" / "傷_1.png", size=(10, 10))  # wrong size
    _image(root / "mask" / "scratch" / "orphan.png")
    (root / "bad" / "spot" / "notes.txt").write_text("hello")
    (root / "good" / "broken.png").write_bytes(b"garbage")
    return root


def test_folder_layout_returns_usable_items_and_every_problem(tmp_path: Path) -> None:
    dataset = load_dataset(_folder_dataset(tmp_path / "cat"), "folder", split=0.2, seed=420)
    reasons = {Path(p.path).name: p.reason for p in dataset.problems}
    assert "not an image" in reasons["notes.txt"]
    assert "decode" in reasons["broken.png"]
    assert "no matching defect image" in reasons["orphan.png"]
    assert "mask is 10x10" in reasons["傷_1.png"]
    assert "no mask" in reasons["s0.png"]
    assert len(dataset.train) + sum(s.label == 0 for s in dataset.test) == 6
    defects = {s.path.name: s for s in dataset.test if s.label == 1}
    assert set(defects) == {"傷_0.jpg", "傷_1.png", "s0.png"}
    assert defects["傷_0.jpg"].mask_path.name == "傷_0.png"
    assert defects["傷_1.png"].mask_path is None  # dropped: size mismatch
    assert defects["s0.png"].defect_type == "spot"
    assert not dataset.has_masks


def test_missing_or_empty_good_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="good"):
        load_dataset(tmp_path / "nothing", "folder")
    (tmp_path / "empty" / "good").mkdir(parents=True)
    with pytest.raises(DataError, match="empty.good|good"):
        load_dataset(tmp_path / "empty", "folder")


def test_mvtec_layout_with_and_without_mask_suffix(tmp_path: Path) -> None:
    root = tmp_path / "part"
    for i in range(4):
        _image(root / "train" / "good" / f"{i}.png")
    _image(root / "test" / "good" / "g.png")
    _image(root / "test" / "crack" / "a.png")
    _image(root / "test" / "crack" / "b.png")
    _image(root / "ground_truth" / "crack" / "a_mask.png")
    _image(root / "ground_truth" / "crack" / "b.png")
    dataset = load_dataset(root, "mvtec")
    assert len(dataset.train) == 4
    assert dataset.counts() == {"train/good": 4, "test/good": 1, "test/crack": 2}
    assert dataset.has_masks and not dataset.problems


def test_filelist_pairs_masks_by_stem(tmp_path: Path) -> None:
    goods = [str(_image(tmp_path / f"g{i}.png")) for i in range(3)]
    bad = _image(tmp_path / "b.png")
    mask = _image(tmp_path / "masks" / "b_mask.png")
    dataset = load_dataset(tmp_path, "filelist", good_files=",".join(goods), bad_files=str(bad), mask_files=str(mask))
    assert [s.mask_path for s in dataset.test if s.label == 1] == [mask]


def test_split_is_deterministic_and_holds_out_the_share() -> None:
    items = list(range(50))
    train, test = split_good(items, 0.2, 420)
    assert len(test) == 10 and len(train) == 40 and not set(train) & set(test)
    assert split_good(items, 0.2, 420) == (train, test)
    assert split_good(items, 0.2, 1)[1] != test


def test_no_bad_mode_ignores_defects(tmp_path: Path) -> None:
    root = _folder_dataset(tmp_path / "cat")
    shutil.rmtree(root / "mask")
    dataset = load_dataset(root, "folder", no_bad=True)
    assert not dataset.has_defects
