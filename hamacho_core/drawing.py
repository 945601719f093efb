"""Pictures drawn from an anomaly map: heat map, gray levels, outlines, the combined picture of one output, and the
connected defect regions (NumPy and OpenCV only: the API, the app and the output writer draw with them).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["REGION_COLUMNS", "ImageReport", "combined_picture", "defect_regions", "gray_map", "heat_map", "outline"]

GOOD_COLOR, DEFECT_COLOR, OUTLINE_COLOR = (40, 160, 60), (220, 40, 40), (255, 40, 40)
REGION_COLUMNS = ["output_name", "region", "x", "y", "width", "height", "area_px", "peak_score", "peak_x", "peak_y"]


@dataclass
class ImageReport:
    """What one output picture set needs."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, original geometry
    normalized_map: np.ndarray  # (H, W) float32 in [0, 1]
    score: float  # normalized image score
    is_defect: bool  # verdict at the image threshold
    normalized_pixel_threshold: float  # pixels above it are drawn as defect
    ground_truth: np.ndarray | None = None  # (H, W) bool, when known
    label: int | None = None  # 1 defect / 0 good, when known
    normalized_image_threshold: float = 0.5  # the verdict was taken at it


def heat_map(image: np.ndarray, normalized_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """JET colour map of the normalized map blended over the image."""
    colored = cv2.applyColorMap(np.uint8(np.clip(normalized_map, 0, 1) * 255), cv2.COLORMAP_JET)
    colored = cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(colored, alpha, image, 1 - alpha, 0)


def gray_map(normalized_map: np.ndarray) -> np.ndarray:
    """(H, W) uint8 gray levels of the normalized map."""
    return np.uint8(np.clip(normalized_map, 0, 1) * 255)


def outline(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = OUTLINE_COLOR) -> np.ndarray:
    """The image with the contours of ``mask`` drawn on it."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thickness = max(1, round(max(image.shape[:2]) / 300))
    return cv2.drawContours(image.copy(), contours, -1, color, thickness)


def _panel(picture: np.ndarray, title: str, height: int) -> np.ndarray:
    if picture.ndim == 2:
        picture = cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB)
    width = max(1, round(picture.shape[1] * height / picture.shape[0]))
    body = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
    width = max(width, 150)
    canvas = np.full((height + 28, width, 3), 255, np.uint8)
    canvas[28:, : body.shape[1]] = body
    cv2.putText(canvas, title, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (30, 30, 30), 1, cv2.LINE_AA)
    return canvas


def combined_picture(report: ImageReport, height: int = 256) -> np.ndarray:
    """The picture an analyst pastes into a report: panels side by side under a verdict banner."""
    predicted = report.normalized_map > report.normalized_pixel_threshold
    panels = [_panel(report.image, "Input", height)]
    if report.ground_truth is not None:
        panels.append(_panel(outline(report.image, report.ground_truth, (40, 200, 40)), "Ground truth", height))
    panels += [
        _panel(heat_map(report.image, report.normalized_map), "Heat map", height),
        _panel(np.uint8(predicted) * 255, "Predicted mask", height),
        _panel(outline(report.image, predicted), "Segmentation", height),
    ]
    gap = np.full((height + 28, 6, 3), 255, np.uint8)
    row = np.concatenate([piece for panel in panels for piece in (panel, gap)][:-1], axis=1)
    verdict = "DEFECT" if report.is_defect else "GOOD"
    banner = np.full((44, row.shape[1], 3), DEFECT_COLOR if report.is_defect else GOOD_COLOR, np.uint8)
    text = f"{verdict}   score {report.score:.3f} (threshold {report.normalized_image_threshold:.2f})"
    if report.label is not None:
        truth = "defect" if report.label else "good"
        if bool(report.label) != report.is_defect:
            truth += "  <- MISSED" if report.label else "  <- FALSE ALARM"
        text += f"   truth: {truth}"
    cv2.putText(banner, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    return np.concatenate([banner, row], axis=0)


def defect_regions(normalized_map: np.ndarray, normalized_threshold: float, output_name: str = "") -> list[dict]:
    """Connected regions of ``normalized_map > normalized_threshold``, highest peak first, in the map's pixels.

    Returns:
        One dict per region with the keys of :data:`REGION_COLUMNS` (x, y = top-left corner of the bounding box).
    """
    predicted = (normalized_map > normalized_threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(predicted, connectivity=8)
    regions = []
    for label in range(1, count):
        x, y, width, height, area = (int(v) for v in stats[label])
        window = np.where(labels[y:y + height, x:x + width] == label, normalized_map[y:y + height, x:x + width], -1)
        peak_y, peak_x = np.unravel_index(int(np.argmax(window)), window.shape)
        regions.append({"output_name": output_name, "x": x, "y": y, "width": width, "height": height,
                        "area_px": area, "peak_score": round(float(window[peak_y, peak_x]), 5),
                        "peak_x": x + int(peak_x), "peak_y": y + int(peak_y)})
    regions.sort(key=lambda r: -r["peak_score"])
    return [{**r, "region": i + 1} for i, r in enumerate(regions)]
