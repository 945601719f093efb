import numpy as np
import pytest

from hamacho_core.errors import ConfigError
from hamacho_core.preprocess import batches, choose_input_shape


def test_square_keeps_old_meaning() -> None:
    shape = choose_input_shape([(300, 900)], 224, "square")
    assert (shape.height, shape.width) == (224, 224)


def test_keep_aspect_long_side_stride_multiple_and_no_upsampling() -> None:
    wide = choose_input_shape([(500, 1250)] * 3, None, "keep-aspect")
    assert wide.width == 512 and wide.height % 32 == 0 and abs(wide.height - 512 * 0.4) <= 16
    small = choose_input_shape([(100, 200)] * 3, None, "keep-aspect")
    assert small.width <= 200 and small.width % 32 == 0
    tall = choose_input_shape([(800, 400)], 384, "keep-aspect")
    assert (tall.height, tall.width) == (384, 192)
    assert "aspect" in tall.reason


def test_invalid_settings_raise() -> None:
    with pytest.raises(ConfigError):
        choose_input_shape([(10, 10)], 32, "square")
    with pytest.raises(ConfigError):
        choose_input_shape([(10, 10)], None, "stretch")


def test_batches_normalize_and_keep_original_sizes() -> None:
    images = [np.full((40, 60, 3), 255, np.uint8), np.zeros((20, 20, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)]
    shape = choose_input_shape([(64, 64)], 64, "square")
    out = list(batches(images, shape, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), batch_size=2))
    assert [b.shape[0] for b, _ in out] == [2, 1]
    assert out[0][1] == [(40, 60), (20, 20)]
    assert float(out[0][0][0].mean()) == pytest.approx(1.0) and float(out[0][0][1].mean()) == pytest.approx(-1.0)


def test_mixed_aspect_ratios_get_a_square_of_the_same_pixel_count() -> None:
    mixed = [(300, 150)] * 6 + [(300, 300)] + [(150, 300)] * 5  # portrait and landscape pictures
    shape = choose_input_shape(mixed, None, "keep-aspect")
    assert shape.height == shape.width == 224  # sqrt(288 x 192) rounded to 32 (median aspect 1.5)
    assert "mixed aspect ratios" in shape.reason
    alike = [(300, 150)] * 9 + [(150, 300)]  # one odd picture out: keep the common aspect
    assert choose_input_shape(alike, None, "keep-aspect").as_tuple() == (288, 128)
