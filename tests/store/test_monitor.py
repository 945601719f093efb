"""The monitor's figures: PSI on reference-quantile bins, the drift levels and their thresholds, grouping per day in
a time zone or per shift, and the exact interval of the defect rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from hamacho_core.errors import ConfigError
from hamacho_core.store.monitor import PSI_ALARM, PSI_WATCH, Reference, drift_level, monitor, period_filter, psi


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(1.0, 0.1, 400)
    assert psi(reference, rng.normal(1.0, 0.1, 400)) < PSI_WATCH
    assert psi(reference, rng.normal(1.02, 0.1, 400)) < PSI_ALARM  # a fifth of a standard deviation
    assert psi(reference, rng.normal(1.5, 0.1, 400)) > PSI_ALARM
    assert psi(reference[:4], reference[:4]) == pytest.approx(0.0, abs=1e-12)  # tiny references work too
    with pytest.raises(ConfigError):
        psi(reference, np.array([]))


def test_drift_levels_follow_the_stated_thresholds() -> None:
    assert [drift_level(v, 100, 10) for v in (0.05, 0.10, 0.25, 0.26)] == ["ok", "watch", "watch", "alarm"]
    assert drift_level(0.9, 19, 10) == "unknown" and drift_level(0.9, 100, 2) == "unknown"
    assert drift_level(None, 100, 10) == "unknown"


def _frame(n: int, start: datetime, shift: str | None, raw: np.ndarray, defects: int) -> pd.DataFrame:
    return pd.DataFrame({"run_id": "p:r", "taken_at": [start + timedelta(minutes=i) for i in range(n)],
                         "shift": shift, "raw_score": np.resize(raw, n), "norm_score": 0.3,
                         "verdict": ["defect"] * defects + ["good"] * (n - defects)})


def test_days_in_a_time_zone_shifts_and_the_exact_interval() -> None:
    late = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 01:00 on March 3rd in Tokyo
    good = np.linspace(0.95, 1.05, 10)
    frame = pd.concat([_frame(30, late - timedelta(hours=10), "A", good, 0), _frame(30, late, "B", good + 2, 3)])
    reference = Reference(good, np.full(10, 0.3), np.full(2, 0.8))
    report = monitor(frame, lambda run_id: reference, "day", "Asia/Tokyo")
    one, two = report.runs[0].periods
    assert (one.period, two.period) == ("2026-03-02", "2026-03-03")
    assert (one.drift, two.drift) == ("ok", "alarm") and two.defects == 3
    assert two.defect_rate == pytest.approx(0.1) and 0.02 < two.defect_rate_low < 0.1 < two.defect_rate_high < 0.27
    shifts = monitor(frame, lambda run_id: None, "shift").runs[0]
    assert [p.period for p in shifts.periods] == ["A", "B"] and shifts.periods[0].drift == "unknown"
    with pytest.raises(ConfigError, match="time zone"):
        monitor(frame, lambda run_id: None, "day", "Mars/Olympus")
    with pytest.raises(ConfigError, match="group_by"):
        monitor(frame, lambda run_id: None, "week")


def test_a_period_opens_the_results_behind_it() -> None:
    day = period_filter("p:r", "2026-03-03", "day", "Asia/Tokyo")
    assert day.since == datetime(2026, 3, 3, tzinfo=day.since.tzinfo) and day.until - day.since == timedelta(days=1)
    assert day.since.utcoffset() == timedelta(hours=9)
    assert period_filter("p:r", "早番", "shift").shift == "早番"
    with pytest.raises(ConfigError):
        period_filter("p:r", "yesterday")
