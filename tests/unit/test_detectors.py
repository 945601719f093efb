from pathlib import Path

import numpy as np
import pytest

from hamacho_core.detectors import PaDiM, PaDiMConfig, PatchCore, PatchCoreConfig, create_detector
from hamacho_core.errors import ConfigError, NotFittedError
from hamacho_core.persistence import load_run, save_run
from hamacho_core.thresholds import Normalization


def _texture(seed: int, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.tile((np.sin(np.arange(size) / 3.0) * 40 + 128).astype(np.uint8), (size, 1))
    noise = rng.integers(-6, 7, (size, size))
    gray = np.clip(base.astype(int) + noise, 0, 255).astype(np.uint8)
    return np.dstack([gray] * 3)


def _with_defect(seed: int) -> np.ndarray:
    image = _texture(seed).copy()
    image[60:72, 20:32] = 255
    return image


@pytest.fixture(scope="module")
def images():
    train = [_texture(i) for i in range(8)]
    return train, [_texture(100 + i) for i in range(3)], [_with_defect(200 + i) for i in range(3)]


@pytest.mark.parametrize("cls,config", [
    (PatchCore, PatchCoreConfig(input_shape=(96, 96), batch_size=4, device="cpu")),
    (PaDiM, PaDiMConfig(input_shape=(96, 96), batch_size=4, device="cpu")),
])
def test_defects_score_higher_and_maps_peak_on_them(cls, config, images, tmp_path: Path) -> None:
    train, good, bad = images
    detector = cls(config).fit(train)
    prediction = detector.predict(good + bad)
    assert prediction.maps.shape == (6, 96, 96)
    assert prediction.scores[3:].min() > prediction.scores[:3].max()
    peak = np.unravel_index(prediction.maps[3].argmax(), (96, 96))
    assert 50 <= peak[0] <= 82 and 10 <= peak[1] <= 42
    norm = Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0)
    save_run(tmp_path, detector, norm, {"category": "x"})
    again = load_run(tmp_path, accelerator="cpu").detector.predict(good + bad)
    np.testing.assert_allclose(again.scores, prediction.scores, rtol=1e-6)
    np.testing.assert_allclose(again.maps, prediction.maps, rtol=1e-5, atol=1e-5)


def test_patchcore_bank_budget_and_not_fitted(images) -> None:
    train, _, _ = images
    with pytest.raises(NotFittedError):
        PatchCore().predict(train)
    detector = PatchCore(PatchCoreConfig(input_shape=(96, 96), max_bank_size=50, device="cpu")).fit(train)
    assert detector.memory_bank_.shape == (50, 152)
    assert detector.n_candidates_ == 8 * 12 * 12


def test_factory() -> None:
    assert isinstance(create_detector("PaDiM", {"n_features": 10}), PaDiM)
    with pytest.raises(ConfigError, match="unknown model"):
        create_detector("stfpm")


def test_top_mean_is_the_maximum_at_zero_and_the_mean_of_the_highest_share() -> None:
    import torch

    from hamacho_core.detectors.base import top_mean

    values = torch.arange(200, dtype=torch.float32).view(1, 200)
    assert top_mean(values, 0.0).item() == 199.0
    assert top_mean(values, 0.01).item() == pytest.approx((199 + 198) / 2)  # 2 of 200
    assert top_mean(values, 0.001).item() == 199.0  # at least one value


def test_image_score_share_is_saved_and_old_runs_keep_the_maximum(images, tmp_path: Path) -> None:
    import yaml

    train, good, bad = images
    detector = PatchCore(PatchCoreConfig(input_shape=(96, 96), device="cpu", score_top_share=0.01)).fit(train)
    norm = Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0)
    save_run(tmp_path, detector, norm, {"category": "x"})
    assert load_run(tmp_path, accelerator="cpu").detector.config.score_top_share == 0.01
    config_path = next(tmp_path.glob("*.yaml"))
    config = yaml.safe_load(config_path.read_text())
    del config["detector"]["score_top_share"]  # a run saved before the setting existed
    config_path.write_text(yaml.safe_dump(config))
    old = load_run(tmp_path, accelerator="cpu").detector
    assert old.config.score_top_share == 0.0
    legacy = PatchCore(PatchCoreConfig(input_shape=(96, 96), device="cpu", score_top_share=0.0)).fit(train)
    np.testing.assert_allclose(old.predict(good + bad).scores, legacy.predict(good + bad).scores, rtol=1e-5)


def test_train_config_passes_the_image_score_share_to_the_detector() -> None:
    from hamacho_core.config import TrainConfig

    config = TrainConfig(category="x", score_top_share=0.01)
    config.validate()
    detector = create_detector("patchcore", config.detector_settings(None, 2))
    assert detector.config.score_top_share == 0.01
    with pytest.raises(ConfigError, match="score_top_share"):
        TrainConfig(category="x", score_top_share=0.9).validate()
