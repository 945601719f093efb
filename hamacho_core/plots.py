"""Static metric plots (PNG, matplotlib) for the output tree."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_confusion_matrix", "plot_curve", "plot_histogram"]


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.subplots_adjust(left=0.16, right=0.96, bottom=0.14, top=0.9)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_confusion_matrix(path: Path, tp: int, fp: int, tn: int, fn: int) -> None:
    """2x2 confusion matrix (rows: truth, columns: prediction)."""
    matrix = np.array([[tn, fp], [fn, tp]])
    figure, axis = plt.subplots(figsize=(4.2, 3.8))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        color = "white" if value > matrix.max() / 2 else "black"
        axis.text(column, row, str(value), ha="center", va="center", fontsize=16, color=color)
    axis.set_xticks([0, 1], ["good", "defect"])
    axis.set_yticks([0, 1], ["good", "defect"])
    axis.set_xlabel("predicted")
    axis.set_ylabel("truth")
    axis.set_title("Confusion matrix")
    _save(figure, path)


def plot_curve(path: Path, x: np.ndarray, y: np.ndarray, title: str, xlabel: str, ylabel: str,
               point: tuple[float, float] | None = None, diagonal: bool = False) -> None:
    """A ROC or PR curve, with an optional operating point."""
    figure, axis = plt.subplots(figsize=(4.6, 4.2))
    axis.plot(x, y, color="tab:blue", lw=2)
    if diagonal:
        axis.plot([0, 1], [0, 1], color="gray", lw=1, ls="--")
    if point is not None:
        axis.plot(*point, "o", color="tab:red", label="threshold")
        axis.legend(loc="lower right")
    axis.set_xlim(0, 1.01)
    axis.set_ylim(0, 1.01)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    _save(figure, path)


def plot_histogram(path: Path, labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> None:
    """Histogram of normalized image scores, good vs defect, with the threshold line."""
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    bins = np.linspace(0, 1, 41)
    labels = np.asarray(labels)
    axis.hist(scores[labels == 0], bins=bins, alpha=0.6, color="tab:green", label="good", histtype="stepfilled")
    if (labels == 1).any():
        axis.hist(scores[labels == 1], bins=bins, alpha=0.6, color="tab:red", label="defect", histtype="stepfilled")
    axis.axvline(threshold, color="black", ls="--", label=f"threshold {threshold:.2f}")
    axis.set_xlabel("normalized image score")
    axis.set_ylabel("images")
    axis.legend()
    axis.set_title("Image-level scores")
    _save(figure, path)
