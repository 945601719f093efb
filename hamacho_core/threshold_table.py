"""``hamacho threshold``: the decision figures of a run as plain English text (the CLI prints it; no click here).

The numbers come from :mod:`hamacho_core.decisions`; this module only chooses the threshold to suggest and words
the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hamacho_core.decisions import (
    ConstraintChoice,
    CostChoice,
    Costs,
    Decisions,
    Estimate,
    ThresholdIntervals,
    pictures_for_width,
    save_costs,
)
from hamacho_core.errors import ConfigError
from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import update_thresholds

__all__ = ["ThresholdAdvice", "advise", "cost_sentence", "count", "format_advice", "pct", "recall_sentence",
           "save_advice", "span"]


@dataclass
class ThresholdAdvice:
    """What ``hamacho threshold`` found for a run."""

    run_dir: Path
    saved: float  # the run's saved normalized threshold
    current: ThresholdIntervals  # figures at the saved threshold
    decisions: Decisions
    width: float  # the interval width asked for
    cost: CostChoice | None = None
    constraint: ConstraintChoice | None = None
    suggested: float | None = None  # the normalized threshold to use (None: keep the saved one)
    reason: str = "saved"  # "cost", "min_recall", "max_false_alarm_rate", "saved"


def span(estimate: Estimate, digits: int = 2) -> str:
    """``0.95 (0.86-0.99)``."""
    return f"{estimate.value:.{digits}f} ({estimate.low:.{digits}f}-{estimate.high:.{digits}f})"


def count(value: float) -> str:
    """A per-1,000 count readably: ``57``, ``8.4``, ``0.31``, ``0.004``."""
    if abs(value) >= 10:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}" if value else "0"


def pct(value: float) -> str:
    """A share as a rounded percentage, ``14 %``."""
    return f"{100 * value:.0f} %" if value >= 0.01 or value == 0 else f"{100 * value:.1f} %"


def advise(run_dir: str | Path, costs: Costs | None = None, min_recall: float | None = None,
           max_false_alarm_rate: float | None = None, width: float = 0.1, n_resamples: int = 1000,
           seed: int = 420) -> ThresholdAdvice:
    """Figures at the saved threshold and the suggested threshold (cheapest under the constraints, when given).

    Raises:
        ConfigError: both constraints given, or a constraint out of [0, 1].
    """
    if min_recall is not None and max_false_alarm_rate is not None:
        raise ConfigError("give either --min-recall or --max-false-alarm-rate, not both")
    for value in (min_recall, max_false_alarm_rate):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ConfigError(f"constraints are fractions between 0 and 1 (got {value})")
    run_dir = Path(run_dir)
    run_dir = run_dir.parent if run_dir.suffix in (".yaml", ".yml") else run_dir
    evaluation = Evaluation.load(run_dir)
    decisions = Decisions(evaluation, n_resamples=n_resamples, seed=seed)
    saved = float(evaluation.normalization.normalized_image_threshold)
    advice = ThresholdAdvice(run_dir, saved, decisions.at(saved), decisions, width)
    if min_recall is not None:
        advice.constraint = decisions.highest_with_recall(min_recall)
    elif max_false_alarm_rate is not None:
        advice.constraint = decisions.lowest_with_false_alarm_rate(max_false_alarm_rate)
    if costs is not None:
        advice.cost = decisions.cheapest(costs, min_recall, max_false_alarm_rate)
    if advice.cost is not None:
        advice.suggested, advice.reason = advice.cost.threshold, "cost"
    elif advice.constraint is not None and advice.constraint.threshold is not None:
        advice.suggested, advice.reason = advice.constraint.threshold, advice.constraint.kind
    return advice


def save_advice(advice: ThresholdAdvice) -> float:
    """Save the suggested threshold (and the costs) to the run as the Threshold page does; returns what was saved.

    Raises:
        ConfigError: nothing to suggest (no costs and no constraint that can be met).
    """
    if advice.suggested is None:
        raise ConfigError("nothing to save: give costs (--cost-miss, --cost-false-alarm, --defect-rate) or a "
                          "constraint that some threshold meets")
    update_thresholds(advice.run_dir, advice.suggested)
    if advice.cost is not None:
        save_costs(advice.run_dir, advice.cost.costs)
    return advice.suggested


def _figure_lines(figures: ThresholdIntervals) -> list[str]:
    rows = [("precision", figures.precision, "exact"), ("recall", figures.recall, "exact"),
            ("false-alarm rate", figures.false_alarm_rate, "exact"), ("accuracy", figures.accuracy, "exact"),
            ("F1", figures.f1, "bootstrap")]
    if figures.auroc is not None:
        rows.append(("AUROC", figures.auroc, "bootstrap"))
    lines = [f"  {'figure':<18}{'value':>7}   95 % interval   counts"]
    for name, estimate, method in rows:
        counts = f"{estimate.count}/{estimate.total}" if estimate.total is not None else ""
        lines.append(f"  {name:<18}{estimate.value:>7.3f}   {estimate.low:.3f}-{estimate.high:.3f}    "
                     f"{counts:<9} ({method})")
    return lines


def recall_sentence(figures: ThresholdIntervals, width: float) -> str:
    """The plain sentence about recall, and how many defect pictures bring its interval under ``width``."""
    needed = pictures_for_width(figures.recall.value, width)
    text = (f"recall {span(figures.recall)}: with {figures.n_defect} defect pictures, a miss rate up to "
            f"{pct(1 - figures.recall.low)} cannot be ruled out.")
    if figures.recall.width <= width:
        return text + f" The interval is already under {width:.2f} wide."
    if needed is None:
        return text
    return text + f" About {needed} defect pictures would bring it under {width:.2f} wide (at the same recall)."


def cost_sentence(choice: CostChoice) -> str:
    """"at 0.47: per 1,000 parts, about 12 false alarms (8-17) and 0.3 escapes (0.1-0.9)"."""
    fa, esc, cost = choice.false_alarms, choice.escapes, choice.cost
    return (f"at {choice.threshold:g}: per 1,000 parts, about {count(fa.value)} false alarms ({count(fa.low)}-"
            f"{count(fa.high)}) and {count(esc.value)} escapes ({count(esc.low)}-{count(esc.high)}); expected cost "
            f"{count(cost.value)} ({count(cost.low)}-{count(cost.high)}) per 1,000 parts")


def format_advice(advice: ThresholdAdvice, normalized_pixel_threshold: float | None = None) -> str:
    """The whole answer as text: table, sentence, per type, per folder, costs, constraint, suggestion."""
    current, decisions = advice.current, advice.decisions
    lines = [f"run {advice.run_dir}",
             f"{current.n_defect + current.n_good} test pictures ({current.n_good} good, {current.n_defect} defect)",
             f"at the saved threshold {advice.saved:.3f} (normalized; TP {current.tp}, FP {current.fp}, "
             f"TN {current.tn}, FN {current.fn}):", *_figure_lines(current), "",
             recall_sentence(current, advice.width), "", "per defect type:"]
    pixel = decisions.evaluation.masks is not None and normalized_pixel_threshold is not None
    for item in decisions.per_type(advice.saved, normalized_pixel_threshold):
        extra = (f"   pixels: recall {item.pixel_recall:.2f}, precision {item.pixel_precision:.2f}, "
                 f"IoU {item.pixel_iou:.2f}" if pixel and item.pixel_recall is not None else "")
        lines.append(f"  {item.defect_type:<24} caught {item.recall.count}/{item.recall.total}  recall "
                     f"{span(item.recall)}{extra}")
    lines.append("false alarms per good folder:")
    for folder in decisions.false_alarms_by_folder(advice.saved):
        rate = folder.false_alarm_rate
        lines.append(f"  {folder.folder:<24} {rate.count}/{rate.total}  rate {span(rate)}")
    if advice.cost is not None:
        costs = advice.cost.costs
        low, high = advice.cost.threshold_interval
        lines += ["", f"costs: a miss {costs.cost_miss:g}, a false alarm {costs.cost_false_alarm:g}, defect rate "
                  f"{costs.defect_rate * 1000:g} per 1,000 ({costs.defect_rate * 1e6:g} ppm)",
                  f"cheapest threshold {advice.cost.threshold:g} (bootstrap {low:.2f}-{high:.2f}); "
                  + cost_sentence(advice.cost)]
    if advice.constraint is not None:
        kind = advice.constraint
        wanted = (f"the highest threshold with recall >= {kind.target:g}" if kind.kind == "min_recall" else
                  f"the lowest threshold with false-alarm rate <= {kind.target:g}")
        if kind.threshold is None:
            lines += ["", f"{wanted}: none on these test pictures"]
        else:
            found = kind.intervals
            lines += ["", f"{wanted}: {kind.threshold:g} (recall {span(found.recall)}, false-alarm rate "
                      f"{span(found.false_alarm_rate)})"]
    lines.append("")
    if advice.suggested is None:
        lines.append(f"suggested normalized threshold: keep {advice.saved:.3f} (give costs or a constraint)")
    else:
        why = {"cost": "cheapest", "min_recall": "recall constraint",
               "max_false_alarm_rate": "false-alarm constraint"}[advice.reason]
        lines.append(f"suggested normalized threshold: {advice.suggested:g} ({why})")
    return "\n".join(lines)
