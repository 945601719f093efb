"""The Train page's sealed hold-out control: the share, what it sets aside, what it costs (hamacho_core.holdout)."""

from __future__ import annotations

from typing import Any

from hamacho_core.choices import HOLDOUT_RANGE
from hamacho_core.data import Dataset
from hamacho_core.errors import DataError
from hamacho_core.holdout import MIN_PER_CLASS, SUGGEST_FROM_DEFECTS, split_holdout, suggested_holdout
from ui.i18n import t

__all__ = ["holdout_control"]


def holdout_control(dataset: Dataset | None, container: Any, seed: int, good_only: bool) -> float:
    """The ``--holdout-split`` input, suggested when the project has enough defect pictures; returns the share."""
    n_defects = 0 if dataset is None else sum(s.label for s in dataset.test)
    share = container.number_input(t("opt_holdout"), 0.0, HOLDOUT_RANGE[1], suggested_holdout(n_defects), 0.05,
                                   format="%.2f", help=t("help_holdout"), key="opt_holdout", disabled=good_only)
    if dataset is None or good_only:
        return 0.0
    if share == 0:
        key = "holdout_suggest" if n_defects >= SUGGEST_FROM_DEFECTS else "holdout_few"
        container.caption(t(key, n=n_defects, need=SUGGEST_FROM_DEFECTS))
        return 0.0
    if share < HOLDOUT_RANGE[0]:
        container.warning(t("holdout_range", low=HOLDOUT_RANGE[0], high=HOLDOUT_RANGE[1]))
        return float(share)
    try:
        kept, held = split_holdout(dataset.test, float(share), seed)
    except DataError:
        container.warning(t("holdout_too_few", n=MIN_PER_CLASS))
        return float(share)
    held_defects, kept_defects = sum(s.label for s in held), sum(s.label for s in kept)
    container.caption(t("holdout_on", good=len(held) - held_defects, defect=held_defects,
                        left_good=len(kept) - kept_defects, left_defect=kept_defects))
    return float(share)
