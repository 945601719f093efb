"""What every detector shares: configuration, input geometry, feature extraction in batches, map smoothing.

Detectors follow scikit-learn's habits: ``__init__`` stores the config, ``fit`` learns from good images and
returns ``self``, learned state ends in ``_``, ``predict`` returns a :class:`Prediction`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F

from hamacho_core.backbone import DEFAULT_BACKBONE, FeatureExtractor, create_feature_extractor, resolve_device
from hamacho_core.choices import DEFAULT_SCORE_TOP_SHARE
from hamacho_core.cpu_kernels import fast_kernels_enabled, separable_filter
from hamacho_core.detectors.supervised import SupervisedHead
from hamacho_core.errors import ConfigError, NotFittedError
from hamacho_core.imageio import image_size
from hamacho_core.preprocess import ImageSource, InputShape, ShapeReason, batches, choose_input_shape
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.tiling import DEFAULT_MAX_TILES, DEFAULT_TILE_OVERLAP, TileGrid, split_tiles, stitch_tiles

__all__ = ["BatchCallback", "Detector", "DetectorConfig", "Prediction", "gaussian_blur", "top_mean"]

# (index of the batch's first image, scores (b,), maps (b, H, W), decoded RGB pictures) -> None
BatchCallback = Callable[[int, np.ndarray, np.ndarray, list[np.ndarray]], None]


CPU_FORWARD_BATCH = 8


@dataclass
class DetectorConfig:
    """Settings shared by all detectors."""

    backbone: str = DEFAULT_BACKBONE  # timm model name
    backbone_weights: str | None = None  # optional local weights file for the backbone
    image_size: int | None = None  # square side, or long side for keep-aspect; None = automatic
    resize: str = "keep-aspect"  # "keep-aspect" or "square"
    input_shape: tuple[int, int] | None = None  # (height, width); None = chosen from the training images
    tiling: str = "auto"  # "auto" | "on" | "off": cut images far larger than the model input into tiles
    max_tiles: int = DEFAULT_MAX_TILES  # most tiles per image
    tile_overlap: float = DEFAULT_TILE_OVERLAP  # least share of a tile overlapping its neighbour
    tile_grid: dict[str, Any] | None = None  # TileGrid.to_dict() given with input_shape; None = no tiles
    batch_size: int = 8  # images per forward pass
    device: str = "auto"  # "cpu", "gpu"/"cuda" or "auto"
    n_threads: int = 2  # image decoding threads
    seed: int = 0  # random seed (coreset, feature subset)
    blur_sigma: float = 8.0  # Gaussian smoothing of anomaly maps, in input pixels (one stride-8 patch)
    # Image score from a map: the mean of its highest share of values (0 = the maximum); see top_mean.
    score_top_share: float = DEFAULT_SCORE_TOP_SHARE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["input_shape"] is not None:
            data["input_shape"] = list(data["input_shape"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("input_shape") is not None:
            values["input_shape"] = tuple(values["input_shape"])
        return cls(**values)


@dataclass
class Prediction:
    """Detector output for N images.

    Attributes:
        scores: (N,) image anomaly scores (higher = more anomalous).
        maps: (N, H, W) float32 pixel anomaly maps at the input shape (the canvas when tiled).
    """

    scores: np.ndarray
    maps: np.ndarray
    original_sizes: list[tuple[int, int]] = field(default_factory=list)  # (height, width) of each input image
    patch_inputs: list[torch.Tensor] | None = None  # per image (T, D + 1, h, w) float16, when asked for


def top_mean(values: torch.Tensor, share: float) -> torch.Tensor:
    """Image scores (B,) from flattened maps (B, P): the mean of each row's highest ``share`` of values (at least one).

    ``share = 0`` is the maximum. A mean over the top 1 % is steadier than the single highest pixel: one bright
    speck of texture no longer decides the picture, a defect that covers a few patches still does.
    """
    if share <= 0:
        return values.amax(dim=1)
    count = max(1, int(share * int(values.shape[1]) + 0.5))  # int(): a constant in a traced graph (fixed input size)
    return values.topk(count, dim=1).values.mean(dim=1)


def gaussian_blur(maps: torch.Tensor, sigma: float, fast_cpu: bool = False) -> torch.Tensor:
    """Separable Gaussian blur. Args: maps (B, 1, H, W). Returns: the same shape.

    ``fast_cpu``: on the CPU, OpenCV filters instead of PyTorch (``cpu_kernels.separable_filter``; not in graphs that
    are traced for export).
    """
    if sigma <= 0:
        return maps
    radius = int(4.0 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=maps.dtype, device=maps.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    pad_h, pad_w = min(radius, maps.shape[-2] - 1), min(radius, maps.shape[-1] - 1)
    out = F.pad(maps, (pad_w, pad_w, pad_h, pad_h), mode="reflect")
    row, column = kernel[radius - pad_w: radius + pad_w + 1], kernel[radius - pad_h: radius + pad_h + 1]
    if fast_cpu and maps.device.type == "cpu" and fast_kernels_enabled():
        return separable_filter(out, row, column)
    out = F.conv2d(out, row.view(1, 1, 1, -1))
    return F.conv2d(out, column.view(1, 1, -1, 1))


class Detector(ABC):
    """A pretrained-feature anomaly detector.

    Subclasses define ``name``, ``config_class``, ``reductions``, ``_fit_features`` and ``_score_patches``.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[DetectorConfig]] = DetectorConfig
    reductions: ClassVar[tuple[int, ...]] = (8, 16)

    def __init__(self, config: DetectorConfig | None = None):
        self.config = config if config is not None else self.config_class()
        self.input_shape_: InputShape | None = None
        self._extractor: FeatureExtractor | None = None
        self.head_: SupervisedHead | None = None  # optional supervised head (see detectors/supervised.py)
        self._head_settings: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------- public API
    def fit(self, images: Sequence[ImageSource], progress: ProgressCallback | None = None,
            input_shape: InputShape | None = None) -> Self:
        """Learn what good looks like.

        Args:
            images: good training images (paths or RGB uint8 arrays).
            progress: callback (done, total, stage).
            input_shape: the shape chosen beforehand (``hamacho_core.planning.plan``, from probed sizes, so no
                image is decoded twice); None = ``config.input_shape``, else chosen from the images.

        Returns:
            self.
        """
        if len(images) == 0:
            raise ConfigError("fit needs at least one good image")
        torch.manual_seed(self.config.seed)
        extractor = self.extractor
        self.input_shape_ = input_shape if input_shape is not None else self._choose_shape(images, extractor.max_stride)
        self._accelerate(len(images))
        features = (extractor(part) for inputs, _ in self._inputs(images, progress, "extracting features")
                    for part in self._forward_parts(inputs))
        self._fit_features(features, len(images), progress)
        return self

    def predict(
        self, images: Sequence[ImageSource], progress: ProgressCallback | None = None,
        on_batch: BatchCallback | None = None, *, keep_patch_inputs: bool = False,
    ) -> Prediction:
        """Score images (with the supervised head when one is attached: ``head_``).

        Args:
            images: paths or RGB uint8 arrays.
            progress: callback (done, total, stage).
            on_batch: called in this thread after each batch with (index of its first image, scores (b,),
                maps (b, H, W), the decoded RGB pictures (H_i, W_i, 3) uint8): the output writer starts on a batch
                while the next one is predicted, and reuses the pictures instead of decoding them again.
            keep_patch_inputs: also return each image's head inputs (T, D + 1, h, w) float16 (for cross-fitting).

        Returns:
            :class:`Prediction` with scores (N,) and maps (N, H, W) at the input shape (tiles stitched together).
        """
        self._check_fitted()
        grid = self.input_shape_.tiles
        with_patches = keep_patch_inputs or self.head_ is not None
        scores, maps, sizes, kept = [], [], [], []
        decoded: list[np.ndarray] | None = [] if on_batch is not None else None
        self._accelerate(len(images))
        with torch.inference_mode():
            for inputs, batch_sizes in self._inputs(images, progress, "predicting", decoded):
                parts = [self._score_patches(self.extractor(part)) if with_patches
                         else (*self._score_features(self.extractor(part)), None)
                         for part in self._forward_parts(inputs)]
                raw = torch.cat([m for _, m, _ in parts])
                if self.head_ is not None:
                    raw = self.head_.raw_map(torch.cat([x for _, _, x in parts]))
                batch_scores, batch_maps = self.finish_maps(raw, len(batch_sizes))
                if self.head_ is None:  # the detector's own image score
                    batch_scores = torch.cat([s for s, _, _ in parts]).float().cpu()
                    if grid is not None:  # tile scores -> image scores
                        batch_scores = batch_scores.view(len(batch_sizes), grid.count).amax(dim=1)
                if keep_patch_inputs:
                    patch_inputs = torch.cat([x for _, _, x in parts]).half().cpu()
                    kept += list(patch_inputs.view(len(batch_sizes), -1, *patch_inputs.shape[1:]).unbind(0))
                scores.append(batch_scores)
                maps.append(batch_maps)
                if on_batch is not None:
                    count = len(batch_sizes)
                    on_batch(len(sizes), scores[-1].numpy(), maps[-1].numpy(), decoded[:count])
                    del decoded[:count]
                sizes += batch_sizes
        if not scores:
            shape = self.input_shape_.as_tuple()
            return Prediction(np.zeros(0, np.float32), np.zeros((0, *shape), np.float32), [])
        return Prediction(torch.cat(scores).numpy(), torch.cat(maps).numpy(), sizes,
                          kept if keep_patch_inputs else None)

    def finish_maps(self, raw: torch.Tensor, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw patch maps -> image maps and their scores (what the supervised head's scores are).

        Args:
            raw: (n_images * T, 1, h, w) raw maps of the images' model inputs (T tiles per image, 1 without tiling).
            n_images: number of images.

        Returns:
            scores (n_images,) float32 = each map's :func:`top_mean` (its maximum at share 0), maps (n_images, H, W)
            float32 on the CPU, tiles stitched.
        """
        grid = self.input_shape_.tiles
        smoothed = self._smooth(raw.float())
        if grid is not None:
            smoothed = stitch_tiles(smoothed[:, 0], grid).unsqueeze(1)
        maps = smoothed[:, 0].float().cpu()
        return top_mean(maps.flatten(1), self.config.score_top_share), maps

    @property
    def extractor(self) -> FeatureExtractor:
        """The backbone, built on first use."""
        if self._extractor is None:
            device = resolve_device(self.config.device)
            self._extractor = create_feature_extractor(
                self.config.backbone, self.reductions, self.config.backbone_weights, device)
        return self._extractor

    @property
    def device(self) -> torch.device:
        return next(self.extractor.parameters()).device

    # --------------------------------------------------------------------------------- persistence hooks
    @abstractmethod
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Learned tensors, for safetensors."""

    @abstractmethod
    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore learned tensors from :meth:`state_tensors`."""

    def state_settings(self) -> dict[str, Any]:
        """Learned non-tensor state (JSON-able)."""
        self._check_fitted()
        shape = self.input_shape_
        settings = {"input_shape": list(shape.as_tuple()), "input_shape_reason": shape.reason,
                    "input_shape_why": shape.why.to_dict() if shape.why else None,
                    "tile_grid": shape.tiles.to_dict() if shape.tiles else None}
        if self.head_ is not None:
            settings["head"] = self.head_.state_settings()
        return settings

    def load_state_settings(self, settings: dict[str, Any]) -> None:
        height, width = settings["input_shape"]
        grid = settings.get("tile_grid")
        why = settings.get("input_shape_why")
        self.input_shape_ = InputShape(int(height), int(width), ShapeReason.from_dict(why) if why else ShapeReason(
            "recorded", {"text": settings.get("input_shape_reason", "")}), TileGrid.from_dict(grid) if grid else None)
        self._head_settings = settings.get("head") or {}

    def head_tensors(self) -> dict[str, torch.Tensor]:
        """The supervised head's tensors (``head.*``), saved beside the detector's; empty without a head."""
        return self.head_.state_tensors() if self.head_ is not None else {}

    def load_head(self, tensors: dict[str, torch.Tensor]) -> None:
        """Attach the saved supervised head when the weights have one (runs without a head load unchanged)."""
        self.head_ = SupervisedHead.from_state(tensors, self._head_settings) if "head.weight" in tensors else None

    # ------------------------------------------------------------------------------- subclass hooks
    @abstractmethod
    def _fit_features(
        self, features: Iterator[list[torch.Tensor]], n_images: int, progress: ProgressCallback | None
    ) -> None:
        """Learn from the feature maps of the training images (an iterator of batches of images or tiles)."""

    def _score_features(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return image scores (B,) and raw anomaly maps (B, 1, h, w) for a batch of model inputs (images or tiles)."""
        scores, maps, _ = self._score_patches(features)
        return scores, maps

    @abstractmethod
    def _score_patches(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like ``_score_features``, plus the supervised head's inputs (B, D + 1, h, w): embedding, then distance."""

    # ------------------------------------------------------------------------------------------ helpers
    def _choose_shape(self, images: Sequence[ImageSource], stride: int) -> InputShape:
        config = self.config
        if config.input_shape is not None:
            height, width = config.input_shape
            grid = TileGrid.from_dict(config.tile_grid) if config.tile_grid else None
            return InputShape(height, width, ShapeReason("given"), grid)
        sizes = [im.shape[:2] if isinstance(im, np.ndarray) else image_size(im) for im in images]
        return choose_input_shape(sizes, config.image_size, config.resize, stride, config.tiling, config.max_tiles,
                                  config.tile_overlap)

    @property
    def _step(self) -> int:
        """Model inputs per forward pass: on a CPU, more than CPU_FORWARD_BATCH are no faster, only bigger."""
        return self.config.batch_size if self.device.type == "cuda" else min(self.config.batch_size, CPU_FORWARD_BATCH)

    def _inputs(
        self, images: Sequence[ImageSource], progress: ProgressCallback | None, stage: str,
        decoded: list[np.ndarray] | None = None,
    ) -> Iterator[tuple[torch.Tensor, list[tuple[int, int]]]]:
        """Model inputs for a few whole images at a time: (images x tiles, 3, h, w) and the images' original sizes."""
        extractor, grid, done = self.extractor, self.input_shape_.tiles, 0
        notify(progress, 0, len(images), stage)
        per_part = self._step if grid is None else max(1, self._step // grid.count)
        for batch, sizes in batches(images, self.input_shape_, extractor.mean, extractor.std,
                                    self.config.batch_size, self.config.n_threads, decoded):
            for start in range(0, len(sizes), per_part):
                part = batch[start:start + per_part]
                yield (part if grid is None else split_tiles(part, grid)), sizes[start:start + per_part]
                done += len(part)
                notify(progress, done, len(images), stage)

    def _accelerate(self, n_images: int) -> None:
        """Let the backbone run on onnxruntime for a CPU job this big (``hamacho_core.cpu_kernels``)."""
        grid = self.input_shape_.tiles
        height, width = self.input_shape_.model_input
        self.extractor.accelerate(height, width, n_images * (grid.count if grid is not None else 1))

    def _forward_parts(self, inputs: torch.Tensor) -> Iterator[torch.Tensor]:
        for start in range(0, len(inputs), self._step):
            yield inputs[start:start + self._step].to(self.device, non_blocking=True)

    def _smooth(self, maps: torch.Tensor) -> torch.Tensor:
        """Upsample raw maps (B, 1, h, w) to the model input (image or tile) and blur them."""
        maps = F.interpolate(maps, size=self.input_shape_.model_input, mode="bilinear", align_corners=False)
        return gaussian_blur(maps, self.config.blur_sigma, fast_cpu=True)

    def _check_fitted(self) -> None:
        if self.input_shape_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() or load a saved run")
