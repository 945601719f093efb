"""Synthetic demo dataset: turned metal washers with scratches, spots, cracks and missing pieces.

Nothing is downloaded: every image is drawn with NumPy and OpenCV from a seed, so the same seed always gives
the same files. Each picture shows one brushed, slightly brown-grey steel washer on a dark belt, with small
changes in position, size, brightness and light direction from part to part, as on a real inspection line.

Layout written (the "folder" format)::

    <root>/good/good_000.png
    <root>/bad/<defect type>/<defect type>_000.png
    <root>/mask/<defect type>/<defect type>_000.png     (0 = normal, 255 = defect; same name as the image)

Every mask is exact: a pixel is 255 where the defect changed the picture, and 0 everywhere else.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from hamacho_core.errors import ConfigError
from hamacho_core.imageio import write_image
from hamacho_core.progress import ProgressCallback

__all__ = ["DEFECT_TYPES", "DemoSample", "make_demo_dataset", "render_sample", "write_sample"]

DEFECT_TYPES: tuple[str, ...] = ("scratch", "spot", "crack", "missing_piece")


_REFERENCE_SIZE = 256  # all lengths below are in pixels of a 256 x 256 picture and scale with `size`
_ALPHA_FLOOR = 0.08  # lower defect opacity is dropped: the mask holds every changed pixel and no other
_METAL_RGB = np.array([156.0, 149.0, 137.0], dtype=np.float32)  # brushed steel with a slight warm tint
_BELT_RGB = np.array([46.0, 50.0, 55.0], dtype=np.float32)  # dark conveyor belt


class DemoSample(NamedTuple):
    """One rendered picture.

    Attributes:
        image: (H, W, 3) uint8 RGB picture, with the defect when there is one.
        clean_image: (H, W, 3) uint8 RGB picture of the same part without the defect.
        mask: (H, W) uint8, 255 where the defect changed the picture, 0 elsewhere (all 0 for a good part).
    """

    image: np.ndarray
    clean_image: np.ndarray
    mask: np.ndarray


class _Blend(NamedTuple):
    """A surface defect: the picture is blended towards `clean * gain + offset` with opacity `alpha`.

    Attributes:
        alpha: (H, W) float32 opacity in [0, 1]; its non-zero pixels are the defect mask.
        gain: brightness factor of the defect (above 1 brightens, below 1 darkens).
        offset: (3,) RGB added after the gain.
    """

    alpha: np.ndarray
    gain: float
    offset: np.ndarray


@dataclass(frozen=True)
class _Part:
    """Geometry and layers of one washer picture.

    Attributes:
        center: (x, y) of the washer in pixels.
        radius: outer radius in pixels.
        hole_radius: radius of the central hole in pixels.
        scale: size / 256, the factor applied to every length.
        background: (H, W, 3) float32 RGB belt, shadow included.
        metal: (H, W, 3) float32 RGB metal surface (meaningful where coverage > 0).
        coverage: (H, W) float32 in [0, 1], the share of each pixel covered by the washer.
    """

    center: tuple[float, float]
    radius: float
    hole_radius: float
    scale: float
    background: np.ndarray
    metal: np.ndarray
    coverage: np.ndarray


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-blurred white noise scaled back to unit standard deviation.

    Args:
        rng: random generator.
        shape: (H, W) of the result.
        sigma: blur in pixels.

    Returns:
        (H, W) float32 noise with mean 0 and standard deviation 1.
    """
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return noise / max(float(noise.std()), 1e-6)


def _polar(size: int, center: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Distance and angle of every pixel from a centre.

    Args:
        size: side of the square picture.
        center: (x, y) centre.

    Returns:
        radius (H, W) and angle (H, W) in radians, both float32.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = xx - center[0], yy - center[1]
    return np.hypot(dx, dy), np.arctan2(dy, dx)


def _render_background(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Dark belt with fine grain and a gentle light fall-off.

    Returns:
        (H, W, 3) float32 RGB.
    """
    grain = 3.0 * _smooth_noise(rng, (size, size), 0.8 * scale)
    falloff = np.linspace(1.06, 0.94, size, dtype=np.float32)[None, :] * np.ones((size, 1), np.float32)
    return _BELT_RGB[None, None, :] * falloff[..., None] + grain[..., None]


def _lathe_rings(rng: np.random.Generator, radius: np.ndarray, outer: float) -> np.ndarray:
    """Concentric turning marks: a random 1-D profile along the radius, read at every pixel's radius.

    Args:
        rng: random generator.
        radius: (H, W) distance of each pixel from the washer centre.
        outer: outer radius of the washer.

    Returns:
        (H, W) float32 brightness offsets in grey levels.
    """
    step = 0.5  # profile resolution in pixels
    n_points = int(outer / step) + 16
    fine = cv2.GaussianBlur(rng.standard_normal((1, n_points)).astype(np.float32), (0, 0), 0.8)[0]
    coarse = cv2.GaussianBlur(rng.standard_normal((1, n_points)).astype(np.float32), (0, 0), 12.0)[0]
    profile = 5.0 * fine / fine.std() + 6.0 * coarse / max(coarse.std(), 1e-6)
    return np.interp(radius, np.arange(n_points) * step, profile).astype(np.float32)


def _render_part(rng: np.random.Generator, size: int) -> _Part:
    """Draw one washer on the belt, with the small variations of a real line.

    Args:
        rng: random generator; the same state gives the same part.
        size: side of the square picture in pixels.

    Returns:
        The part's geometry and layers.
    """
    scale = size / _REFERENCE_SIZE
    jitter = 7.0 * scale
    center = (size / 2 + rng.uniform(-jitter, jitter), size / 2 + rng.uniform(-jitter, jitter))
    outer = size * 0.37 * rng.uniform(0.985, 1.015)
    hole = outer * 0.32
    radius, angle = _polar(size, center)
    light = rng.uniform(-0.35, 0.35) - np.pi * 0.75  # light from the upper left, give or take 20 degrees

    # Anisotropic highlight of a turned surface: two bright and two dark sectors, slightly tilted per part.
    highlight = 1.0 + 0.13 * np.cos(2.0 * (angle - light - rng.uniform(-0.3, 0.3)))
    gradient = 1.0 + 0.05 * (radius / outer) * np.cos(angle - light)
    mottling = 1.0 + 0.025 * _smooth_noise(rng, (size, size), 18.0 * scale)
    shade = highlight * gradient * mottling * rng.uniform(0.96, 1.04)

    # Bevels: the outer edge catches the light on the lit side, the hole's edge on the opposite side.
    bevel = 3.0 * scale
    outer_band = np.clip((radius - (outer - bevel)) / bevel, 0.0, 1.0)
    hole_band = np.clip(((hole + bevel) - radius) / bevel, 0.0, 1.0)
    shade = shade * (1.0 + 0.35 * (outer_band - hole_band) * np.cos(angle - light))

    texture = _lathe_rings(rng, radius, outer) + 2.5 * _smooth_noise(rng, (size, size), 0.6 * scale)
    metal = _METAL_RGB[None, None, :] * shade[..., None] + texture[..., None] * np.float32([1.0, 0.97, 0.92])

    coverage = np.clip(outer - radius + 0.5, 0.0, 1.0) * np.clip(radius - hole + 0.5, 0.0, 1.0)
    shift = np.float32([[1, 0, 3.0 * scale], [0, 1, 4.0 * scale]])  # shadow cast down and to the right
    shadow = cv2.GaussianBlur(cv2.warpAffine(coverage, shift, (size, size)), (0, 0), 3.0 * scale)
    background = _render_background(rng, size, scale) * (1.0 - 0.45 * shadow[..., None])
    metal, coverage = metal.astype(np.float32), coverage.astype(np.float32)
    return _Part(center, outer, hole, scale, background, metal, coverage)


def _composite(background: np.ndarray, metal: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Lay the metal over the background.

    Returns:
        (H, W, 3) float32 RGB.
    """
    return background * (1.0 - coverage[..., None]) + metal * coverage[..., None]


def _soft_alpha(hard: np.ndarray, sigma: float, peak: float = 1.0) -> np.ndarray:
    """Soften a drawn shape into an opacity map whose support is exactly the defect mask.

    Args:
        hard: (H, W) float32 shape in [0, 1].
        sigma: edge softness in pixels.
        peak: opacity at the shape's core.

    Returns:
        (H, W) float32 opacity, 0 wherever it would be below the floor.
    """
    alpha = np.clip(cv2.GaussianBlur(hard, (0, 0), sigma) * peak, 0.0, 1.0)
    alpha[alpha < _ALPHA_FLOOR] = 0.0
    return alpha


def _point_on_ring(rng: np.random.Generator, part: _Part, margin: float) -> np.ndarray:
    """A random point on the washer face, at least `margin` pixels from both edges.

    Returns:
        (2,) float32 (x, y).
    """
    r = rng.uniform(part.hole_radius + margin, part.radius - margin)
    a = rng.uniform(0.0, 2.0 * np.pi)
    return np.float32([part.center[0] + r * np.cos(a), part.center[1] + r * np.sin(a)])


def _inside_face(part: _Part, points: np.ndarray, margin: float) -> bool:
    """Whether every (x, y) point lies on the washer face, `margin` pixels from both edges."""
    r = np.hypot(points[:, 0] - part.center[0], points[:, 1] - part.center[1])
    return bool(np.all((r > part.hole_radius + margin) & (r < part.radius - margin)))


def _face_mask(part: _Part, margin: float) -> np.ndarray:
    """(H, W) float32, 1 on the washer face at least `margin` pixels from both edges, else 0."""
    radius, _ = _polar(part.coverage.shape[0], part.center)
    return ((radius > part.hole_radius + margin) & (radius < part.radius - margin)).astype(np.float32)


def _draw_path(canvas: np.ndarray, points: np.ndarray, values: np.ndarray, thickness: np.ndarray) -> None:
    """Draw a polyline whose segments have their own value and thickness, anti-aliased, keeping the maximum.

    Args:
        canvas: (H, W) float32 canvas, changed in place.
        points: (N, 2) float (x, y) vertices.
        values: (N - 1,) value of each segment.
        thickness: (N - 1,) integer thickness of each segment.
    """
    shift = 4  # sub-pixel precision of cv2 drawing
    fixed = np.round(points * (1 << shift)).astype(np.int32)
    for k in range(len(points) - 1):
        layer = np.zeros_like(canvas)
        cv2.line(
            layer,
            tuple(fixed[k]),
            tuple(fixed[k + 1]),
            float(values[k]),
            int(thickness[k]),
            cv2.LINE_AA,
            shift,
        )
        np.maximum(canvas, layer, out=canvas)


def _scratch(rng: np.random.Generator, part: _Part) -> _Blend:
    """A thin, slightly curved bright groove that fades at both ends."""
    s = part.scale
    for _ in range(100):
        start = _point_on_ring(rng, part, 6.0 * s)
        heading = rng.uniform(0.0, 2.0 * np.pi)
        length = rng.uniform(0.30, 0.55) * part.radius
        bend = rng.uniform(-0.25, 0.25) * length
        t = np.linspace(0.0, 1.0, 24, dtype=np.float32)[:, None]
        direction = np.float32([np.cos(heading), np.sin(heading)])
        normal = np.float32([-direction[1], direction[0]])
        points = start + t * length * direction + (4.0 * t * (1.0 - t)) * bend * normal
        if _inside_face(part, points, 4.0 * s):
            break
    middle = np.linspace(0.0, 1.0, len(points) - 1)
    values = 0.35 + 0.65 * np.sin(np.pi * (middle * 0.9 + 0.05)) ** 0.5
    thickness = np.full(len(values), max(1, round(s)), dtype=np.int32)
    hard = np.zeros(part.coverage.shape, np.float32)
    _draw_path(hard, points, values, thickness)
    return _Blend(_soft_alpha(hard * _face_mask(part, 2.0 * s), 0.5 * s), 1.45, np.float32([30.0] * 3))


def _crack(rng: np.random.Generator, part: _Part) -> _Blend:
    """A jagged dark fissure that starts at the outer rim and runs inwards, sometimes with a branch."""
    s = part.scale
    hard = np.zeros(part.coverage.shape, np.float32)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    start = np.float32(part.center) + (part.radius - 1.0 * s) * np.float32([np.cos(angle), np.sin(angle)])
    trunk = _random_walk(rng, start, angle + np.pi, rng.uniform(0.35, 0.6) * part.radius, s)
    thickness = np.where(np.arange(len(trunk) - 1) < len(trunk) // 3, max(2, round(2 * s)), max(1, round(s)))
    _draw_path(hard, trunk, np.ones(len(trunk) - 1), thickness)
    if rng.random() < 0.6:
        fork = trunk[rng.integers(len(trunk) // 3, max(len(trunk) // 3 + 1, len(trunk) - 2))]
        branch_heading = angle + np.pi + rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0)
        branch = _random_walk(rng, fork, branch_heading, rng.uniform(0.10, 0.2) * part.radius, s)
        _draw_path(hard, branch, np.full(len(branch) - 1, 0.8), np.ones(len(branch) - 1, np.int32))
    alpha = _soft_alpha(hard, 0.55 * s) * (part.coverage >= 1.0)  # on the metal only, never over the belt
    return _Blend(alpha, 0.25, np.float32([8.0] * 3))


def _random_walk(
    rng: np.random.Generator, start: np.ndarray, heading: float, length: float, scale: float
) -> np.ndarray:
    """A zig-zag path: small steps whose direction wanders around a mean heading.

    Args:
        rng: random generator.
        start: (2,) start point (x, y).
        heading: mean direction in radians.
        length: total length in pixels.
        scale: size / 256.

    Returns:
        (N, 2) float32 vertices.
    """
    step = 2.0 * scale
    n_steps = max(3, int(length / step))
    turns = np.cumsum(rng.normal(0.0, 0.35, n_steps))
    turns -= np.linspace(0.0, 1.0, n_steps) * turns[-1]  # stay near the mean heading
    directions = heading + turns + rng.normal(0.0, 0.25, n_steps)
    offsets = np.stack([np.cos(directions), np.sin(directions)], axis=1) * step
    return np.vstack([start, start + np.cumsum(offsets, axis=0)]).astype(np.float32)


def _irregular_blob(
    rng: np.random.Generator,
    center: np.ndarray,
    radius: float,
    roughness: float,
    shape: tuple[int, int],
    n_vertices: int = 28,
) -> np.ndarray:
    """Fill a polygon whose radius wanders around `radius`.

    Args:
        rng: random generator.
        center: (2,) centre (x, y).
        radius: mean radius in pixels.
        roughness: relative amplitude of the radius changes.
        shape: (H, W) of the canvas.
        n_vertices: many vertices give a rounded outline, few an angular, broken one.

    Returns:
        (H, W) float32 anti-aliased shape in [0, 1].
    """
    radii = radius * np.clip(1.0 + roughness * rng.standard_normal(n_vertices), 0.4, 1.8)
    angles = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False) + rng.uniform(0.0, 2.0 * np.pi)
    vertices = center + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]
    shift = 4
    canvas = np.zeros(shape, np.float32)
    cv2.fillPoly(canvas, [np.round(vertices * (1 << shift)).astype(np.int32)], 1.0, cv2.LINE_AA, shift)
    return canvas


def _spot(rng: np.random.Generator, part: _Part) -> _Blend:
    """A small rust or oil stain with a soft edge."""
    s = part.scale
    blob_radius = rng.uniform(3.5, 7.0) * s
    center = _point_on_ring(rng, part, blob_radius + 5.0 * s)
    hard = _irregular_blob(rng, center, blob_radius, 0.12, part.coverage.shape)
    alpha = _soft_alpha(hard, 1.2 * s, peak=rng.uniform(0.75, 0.9))
    stain = np.float32([92.0, 62.0, 40.0]) if rng.random() < 0.5 else np.float32([58.0, 54.0, 50.0])
    return _Blend(alpha, 0.3, stain * 0.7)


def _missing_piece(rng: np.random.Generator, part: _Part) -> tuple[np.ndarray, np.ndarray]:
    """A chip broken out of the outer rim, with a dark fracture edge.

    Returns:
        The defective picture (H, W, 3) float32 RGB and the mask (H, W) bool.
    """
    s = part.scale
    chip_radius = rng.uniform(8.0, 13.0) * s
    angle = rng.uniform(0.0, 2.0 * np.pi)
    reach = part.radius + rng.uniform(-0.1, 0.3) * chip_radius
    center = np.float32(part.center) + reach * np.float32([np.cos(angle), np.sin(angle)])
    outline = _irregular_blob(rng, center, chip_radius, 0.22, part.coverage.shape, n_vertices=11)
    chip = _soft_alpha(outline, 0.4 * s)
    coverage = part.coverage * (1.0 - chip)
    edge_zone = cv2.dilate((chip > 0).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    edge = _soft_alpha((edge_zone & (chip == 0) & (coverage > 0)).astype(np.float32), 0.5 * s, peak=0.6)
    edge *= (coverage > 0).astype(np.float32)
    metal = part.metal * (1.0 - 0.4 * edge[..., None])
    image = _composite(part.background, metal, coverage)
    mask = ((chip > 0) & (part.coverage > 0)) | (edge > 0)
    return image, mask


_BLENDED_DEFECTS = {"scratch": _scratch, "spot": _spot, "crack": _crack}


def render_sample(defect_type: str | None, index: int, seed: int = 0, size: int = 256) -> DemoSample:
    """Render one demo picture, reproducibly.

    Args:
        defect_type: one of DEFECT_TYPES, or None for a good part.
        index: number of the picture within its type; each (seed, type, index) gives a different part.
        seed: dataset seed.
        size: side of the square picture in pixels (at least 64).

    Returns:
        The picture, the same part without the defect, and the defect mask.

    Raises:
        ConfigError: unknown defect type or size below 64.
    """
    if defect_type is not None and defect_type not in DEFECT_TYPES:
        raise ConfigError(f"Unknown defect type {defect_type!r}; choose one of {', '.join(DEFECT_TYPES)}.")
    if size < 64:
        raise ConfigError(f"Image size {size} is too small for the demo; use 64 pixels or more.")
    type_code = 0 if defect_type is None else 1 + DEFECT_TYPES.index(defect_type)
    rng = np.random.default_rng([seed, type_code, index])
    part = _render_part(rng, size)
    clean = _composite(part.background, part.metal, part.coverage)
    if defect_type is None:
        image, mask = clean, np.zeros(clean.shape[:2], bool)
    elif defect_type == "missing_piece":
        image, mask = _missing_piece(rng, part)
    else:
        blend = _BLENDED_DEFECTS[defect_type](rng, part)
        alpha = blend.alpha[..., None]
        image = clean * (1.0 - alpha) + (clean * blend.gain + blend.offset) * alpha
        mask = blend.alpha > 0
    return DemoSample(_to_uint8(image), _to_uint8(clean), mask.astype(np.uint8) * 255)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clip a float picture to uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_demo_dataset(
    root: str | Path,
    n_good: int = 60,
    n_bad_per_type: int = 6,
    size: int = 256,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the demo dataset in the folder layout (good/, bad/<type>/, mask/<type>/).

    When `root` is missing or empty, the files are first written to a sibling folder that is renamed to
    `root` at the end, so an interrupted run never leaves a half-made dataset behind. When `root` already
    holds files, the demo files are (re)written in place and other files are left alone.

    Args:
        root: folder to create (its name is the dataset's category, e.g. ``workspace/demo``).
        n_good: number of good pictures.
        n_bad_per_type: number of defective pictures of each kind in DEFECT_TYPES.
        size: side of the square pictures in pixels (at least 64).
        seed: the same seed always gives the same files.
        progress: optional callable (done, total, stage) called after each picture; an exception it raises
            stops the work.

    Returns:
        The dataset folder, `root`.

    Raises:
        ConfigError: a count is negative, n_good is 0, or size is below 64.
        DataError: a picture could not be encoded.
    """
    if n_good < 1 or n_bad_per_type < 0:
        raise ConfigError("The demo needs at least one good picture and a non-negative number of bad ones: "
                          "give n_good >= 1 and n_bad_per_type >= 0.")
    if size < 64:
        raise ConfigError(f"Image size {size} is too small for the demo; use 64 pixels or more.")
    root = Path(root)
    fresh = not root.exists() or not any(root.iterdir())
    target = root.with_name(f".{root.name}.partial-{os.getpid()}") if fresh else root
    jobs = [(None, i) for i in range(n_good)]
    jobs += [(kind, i) for kind in DEFECT_TYPES for i in range(n_bad_per_type)]
    try:
        for done, (kind, index) in enumerate(jobs, start=1):
            write_sample(target, kind, index, render_sample(kind, index, seed, size))
            if progress is not None:
                progress(done, len(jobs), "demo")
        if fresh:
            if root.exists():
                root.rmdir()
            target.replace(root)
    finally:
        if fresh and target.exists():
            shutil.rmtree(target, ignore_errors=True)
    return root


def write_sample(root: Path, defect_type: str | None, index: int, sample: DemoSample) -> None:
    """Write one rendered picture (and its mask for a defect) under `root` in the folder layout."""
    if defect_type is None:
        folder = root / "good"
        folder.mkdir(parents=True, exist_ok=True)
        write_image(folder / f"good_{index:03d}.png", sample.image)
        return
    name = f"{defect_type}_{index:03d}.png"
    for kind, picture in (("bad", sample.image), ("mask", sample.mask)):
        folder = root / kind / defect_type
        folder.mkdir(parents=True, exist_ok=True)
        write_image(folder / name, picture)
