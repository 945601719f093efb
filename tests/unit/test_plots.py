"""Static plots (hamacho_core.plots): real PNG files whose pixels show what was asked."""

from pathlib import Path

import numpy as np

from hamacho_core.imageio import read_image
from hamacho_core.plots import plot_confusion_matrix, plot_curve, plot_histogram


def test_plots_are_readable_pictures_that_change_with_their_data(tmp_path: Path) -> None:
    plot_confusion_matrix(tmp_path / "a.png", 5, 1, 9, 0)
    plot_confusion_matrix(tmp_path / "b.png", 0, 9, 1, 5)
    first, second = read_image(tmp_path / "a.png"), read_image(tmp_path / "b.png")
    assert first.shape == second.shape and first.shape[0] > 300 and not np.array_equal(first, second)
    labels = np.array([0] * 20 + [1] * 20)
    scores = np.r_[np.linspace(0, 0.4, 20), np.linspace(0.6, 1, 20)]
    plot_histogram(tmp_path / "h.png", labels, scores, 0.5)
    plot_curve(tmp_path / "c.png", [0, 0.1, 1], [0, 0.9, 1], "ROC", "fpr", "tpr", (0.1, 0.9), diagonal=True)
    for name in ("h.png", "c.png"):
        picture = read_image(tmp_path / name)
        assert picture.std() > 10  # not a blank canvas
