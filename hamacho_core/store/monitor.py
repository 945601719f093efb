"""The line monitor: per run and per day (or shift), how many pictures were scored, the defect-verdict rate with its
exact 95 % interval, the score distribution beside the training-time test pictures', and a drift alarm.

Drift is the population stability index (PSI) of the recorded raw scores against the raw scores of the run's
training-time test *good* pictures (``Evaluation``: what "normal" looked like when the run was made)::

    PSI = sum over bins (live share - reference share) * ln(live share / reference share)

The bins are the reference's quantiles (up to 10, open at both ends, so scores beyond anything seen at training
fall in the outer bins); each share gets half a picture added so that an empty bin stays finite. The usual reading
(credit-scoring practice, where PSI comes from): below 0.10 no change, 0.10-0.25 watch, above 0.25 a real shift.
With fewer than :data:`MIN_PICTURES` pictures in a period, or fewer than :data:`MIN_REFERENCE` reference pictures,
no level is given (``unknown``): too few to tell.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from hamacho_core.decisions import CONFIDENCE, proportion
from hamacho_core.errors import ConfigError, HamachoError
from hamacho_core.store.store import ResultFilter, ResultStore

__all__ = ["DRIFT_LEVELS", "GROUPS", "MIN_PICTURES", "MIN_REFERENCE", "PSI_ALARM", "PSI_WATCH", "MonitorReport",
           "PeriodSummary", "Reference", "RunMonitor", "drift_level", "drift_message", "monitor", "period_filter",
           "psi", "reference_from_run", "ReferenceCache", "store_report"]

PSI_WATCH = 0.10  # at or above: the scores have moved a little (watch)
PSI_ALARM = 0.25  # above: the scores have clearly moved (alarm)
MIN_PICTURES = 20  # pictures in a period below which no drift level is given
MIN_REFERENCE = 3  # training-time good test pictures below which no drift level is given
MAX_BINS = 10
HISTOGRAM_BINS = 20  # of the normalized score, for the distribution chart
GROUPS = ("day", "shift")
DRIFT_LEVELS = ("ok", "watch", "alarm", "unknown")


@dataclass
class Reference:
    """A run's training-time test pictures: raw scores of the good ones (the drift reference) and the normalized
    scores of the good and the defective ones (for the distribution chart)."""

    good_raw: np.ndarray  # (G,)
    good_normalized: np.ndarray  # (G,)
    defect_normalized: np.ndarray  # (D,)


@dataclass
class PeriodSummary:
    """One run's pictures of one day or shift."""

    period: str  # "2026-12-07" (day, in the report's time zone) or the shift's name ("-" when none was given)
    pictures: int
    defects: int
    defect_rate: float
    defect_rate_low: float  # exact (Clopper-Pearson) 95 % interval
    defect_rate_high: float
    mean_norm_score: float
    psi: float | None  # None: no reference
    drift: str  # one of DRIFT_LEVELS
    histogram: list[int]  # counts of normalized scores in the report's bins
    first: datetime
    last: datetime


@dataclass
class RunMonitor:
    run_id: str
    reference_pictures: int  # training-time good test pictures (0: the run's evaluation is unavailable)
    reference_histogram: list[float]  # share of the good test pictures per bin
    reference_defect_histogram: list[float]  # share of the defective test pictures per bin
    periods: list[PeriodSummary] = field(default_factory=list)


@dataclass
class MonitorReport:
    group_by: str
    timezone: str
    bins: list[float]  # edges of the normalized-score histogram (HISTOGRAM_BINS + 1)
    runs: list[RunMonitor]
    psi_watch: float = PSI_WATCH
    psi_alarm: float = PSI_ALARM
    confidence: float = CONFIDENCE


def psi(reference: np.ndarray, live: np.ndarray, max_bins: int = MAX_BINS) -> float:
    """Population stability index of ``live`` against ``reference`` (both 1-D raw scores) on the reference's
    quantile bins (see the module's docstring). 0 = the same distribution; larger = further apart."""
    reference, live = np.asarray(reference, float), np.asarray(live, float)
    if len(reference) == 0 or len(live) == 0:
        raise ConfigError("PSI needs scores on both sides")
    n_bins = int(np.clip(len(reference) // 2, 2, max_bins))
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(inner, reference, side="right"), minlength=len(inner) + 1) + 0.5
    actual = np.bincount(np.searchsorted(inner, live, side="right"), minlength=len(inner) + 1) + 0.5
    expected, actual = expected / expected.sum(), actual / actual.sum()
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift_level(value: float | None, pictures: int, reference_pictures: int) -> str:
    if value is None or pictures < MIN_PICTURES or reference_pictures < MIN_REFERENCE:
        return "unknown"
    return "alarm" if value > PSI_ALARM else "watch" if value >= PSI_WATCH else "ok"


def drift_message(level: str, value: float | None, pictures: int, reference_pictures: int) -> str:
    """The drift level in plain English (the app words it in its own languages from the same figures)."""
    basis = (f"{pictures} pictures compared with the {reference_pictures} good test pictures of training; "
             f"drift index PSI {value:.2f}" if value is not None else "")
    return {
        "ok": f"Scores look like training time ({basis}; below {PSI_WATCH:.2f} = no change).",
        "watch": (f"Scores have moved a little since training ({basis}; {PSI_WATCH:.2f}-{PSI_ALARM:.2f} = watch): "
                  "keep an eye on the camera, the lighting and the parts."),
        "alarm": (f"Scores have clearly moved since training ({basis}; above {PSI_ALARM:.2f} = alarm): check the "
                  "camera, the lighting and the parts before trusting the verdicts; retrain if the change is "
                  "intended."),
        "unknown": (f"Too few pictures to judge drift ({pictures} scored, {reference_pictures} good test pictures of "
                    f"training; at least {MIN_PICTURES} and {MIN_REFERENCE} are needed)."),
    }[level]


def _histogram(normalized: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.histogram(np.clip(normalized, 0.0, 1.0), edges)[0]


def _shares(normalized: np.ndarray, edges: np.ndarray) -> list[float]:
    counts = _histogram(normalized, edges)
    return [float(c) for c in counts / max(1, counts.sum())]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"unknown time zone {name!r}: use an IANA name such as UTC or Asia/Tokyo") from error


def monitor(frame: object, reference_of: Callable[[str], Reference | None], group_by: str = "day",
            timezone: str = "UTC") -> MonitorReport:
    """The monitor's figures from recorded results.

    Args:
        frame: pandas DataFrame with columns run_id, taken_at (aware datetimes), shift, raw_score, norm_score,
            verdict (``ResultStore.frame``).
        reference_of: a run id -> its training-time test scores, or None when unavailable (then no drift level).
        group_by: "day" (calendar day in ``timezone``) or "shift" (the shift given with each picture).
        timezone: IANA time zone of the days.
    """
    import pandas as pd

    if group_by not in GROUPS:
        raise ConfigError(f"group_by must be one of {', '.join(GROUPS)}, got {group_by!r}")
    zone = _zone(timezone)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    frame = pd.DataFrame(frame)
    runs = []
    for run_id, rows in frame.groupby("run_id", sort=True):
        reference = reference_of(str(run_id))
        n_reference = 0 if reference is None else len(reference.good_raw)
        run = RunMonitor(str(run_id), n_reference,
                         _shares(reference.good_normalized, edges) if reference is not None else [],
                         _shares(reference.defect_normalized, edges) if reference is not None else [])
        taken = pd.to_datetime(rows["taken_at"], utc=True).dt.tz_convert(zone)
        keys = taken.dt.strftime("%Y-%m-%d") if group_by == "day" else rows["shift"].fillna("-").astype(str)
        for period, part in rows.groupby(keys.to_numpy(), sort=True):
            run.periods.append(_period(str(period), part, taken.loc[part.index], reference, n_reference, edges))
        runs.append(run)
    return MonitorReport(group_by, timezone, [float(e) for e in edges], runs)


def _period(period: str, rows: object, taken: object, reference: Reference | None, n_reference: int,
            edges: np.ndarray) -> PeriodSummary:
    raw, normalized = rows["raw_score"].to_numpy(float), rows["norm_score"].to_numpy(float)
    defects = int((rows["verdict"] == "defect").sum())
    rate = proportion(defects, len(rows))
    value = psi(reference.good_raw, raw) if reference is not None and n_reference else None
    return PeriodSummary(period, len(rows), defects, rate.value, rate.low, rate.high, float(normalized.mean()), value,
                         drift_level(value, len(rows), n_reference), [int(c) for c in _histogram(normalized, edges)],
                         taken.min().to_pydatetime(), taken.max().to_pydatetime())


def reference_from_run(run_dir: object) -> Reference:
    """A run's drift reference from its saved evaluation (``Evaluation.load``; thresholds from config.yaml).

    Raises:
        ModelFileError: the run's test results are missing or damaged.
    """
    from hamacho_core.evaluation import Evaluation

    evaluation = Evaluation.load(run_dir)  # type: ignore[arg-type]
    normalized = evaluation.normalized_scores
    good = evaluation.labels == 0
    return Reference(evaluation.raw_scores[good], normalized[good], normalized[~good])


def period_filter(run_id: str, period: str, group_by: str = "day", timezone: str = "UTC") -> ResultFilter:
    """The results behind one period of the report (to open them in a gallery)."""
    if group_by == "shift":
        return ResultFilter(run_id=run_id, shift=None if period == "-" else period)
    try:
        day = datetime.strptime(period, "%Y-%m-%d").replace(tzinfo=_zone(timezone))
    except ValueError as error:
        raise ConfigError(f"a day looks like 2026-12-07, got {period!r}") from error
    return ResultFilter(run_id=run_id, since=day, until=day + timedelta(days=1))


class ReferenceCache:
    """Drift references of runs (their saved evaluation), reloaded when a run's config.yaml changes; None for a run
    that is gone or damaged (then the figures come without a drift level). Thread-safe.

    Args:
        resolve: a run id -> its folder (None when unknown); default: runs of the workspace ``workspace``.
    """

    def __init__(self, workspace: str | Path | None = None, resolve: Callable[[str], Path | None] | None = None):
        from hamacho_core.store.record import run_dir_for

        self.resolve = resolve or (lambda run_id: run_dir_for(Path(workspace or "."), run_id))
        self._items: dict[str, tuple[float, Reference]] = {}
        self._lock = threading.Lock()

    def __call__(self, run_id: str) -> Reference | None:
        try:
            run_dir = self.resolve(run_id)
            if run_dir is None:
                return None
            stamp = (run_dir / "config.yaml").stat().st_mtime
            with self._lock:
                cached = self._items.get(run_id)
            if cached is None or cached[0] != stamp:
                cached = (stamp, reference_from_run(run_dir))
                with self._lock:
                    self._items[run_id] = cached
            return cached[1]
        except (HamachoError, OSError):
            return None


def store_report(store: ResultStore, references: ReferenceCache, where: ResultFilter | None = None,
                 group_by: str = "day", timezone: str = "UTC") -> MonitorReport:
    """:func:`monitor` over a store's matching results (the API's GET /v1/monitor and the Monitor page)."""
    columns = ["run_id", "taken_at", "shift", "raw_score", "norm_score", "verdict"]
    return monitor(store.frame(where or ResultFilter(), columns), references, group_by, timezone)
