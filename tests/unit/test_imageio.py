from pathlib import Path

import cv2
import numpy as np
import pytest

from hamacho_core.errors import DataError
from hamacho_core.imageio import read_image, read_mask, write_image


def _encode(path: Path, array: np.ndarray) -> None:
    ok, data = cv2.imencode(path.suffix, array)
    assert ok
    path.write_bytes(data.tobytes())


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tiff"])
def test_reads_gray_rgb_rgba_and_16bit_under_a_japanese_name(tmp_path: Path, suffix: str) -> None:
    folder = tmp_path / "良品フォルダ"
    folder.mkdir()
    gray = np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))
    _encode(folder / f"グレー{suffix}", gray)
    image = read_image(folder / f"グレー{suffix}")
    assert image.shape == (32, 64, 3) and image.dtype == np.uint8
    assert abs(int(image[0, 40, 0]) - 160) <= 3
    if suffix in (".png", ".tiff"):
        _encode(folder / f"16bit{suffix}", gray.astype(np.uint16) * 257)
        assert np.array_equal(read_image(folder / f"16bit{suffix}")[:, :, 1], gray)
        rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
        _encode(folder / f"rgba{suffix}", rgba)
        assert read_image(folder / f"rgba{suffix}").shape == (32, 64, 3)


def test_bgr_becomes_rgb(tmp_path: Path) -> None:
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[:, :, 2] = 200  # red in OpenCV order
    _encode(tmp_path / "red.png", bgr)
    assert read_image(tmp_path / "red.png")[0, 0].tolist() == [200, 0, 0]


def test_undecodable_and_missing_files_raise_data_error(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot decode"):
        read_image(tmp_path / "broken.png")
    with pytest.raises(DataError, match="cannot read"):
        read_image(tmp_path / "missing.png")


def test_mask_any_nonzero_is_defect_and_write_roundtrip(tmp_path: Path) -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[2, 3] = 1
    write_image(tmp_path / "マスク" / "m.png", mask)
    assert read_mask(tmp_path / "マスク" / "m.png").sum() == 1
