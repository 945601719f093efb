"""``hamacho threshold``: the decision figures of a run as plain English text (the CLI prints it; no click here).

The numbers come from :mod:`hamacho_core.decisions` (one :class:`~hamacho_core.decisions.ThresholdAnswer` per
threshold); this module only chooses the threshold to suggest and words the answer's reason codes in English (the
app words the same codes in English and Japanese).
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
    Reason,
    ThresholdAnswer,
    ThresholdIntervals,
    save_costs,
)
from hamacho_core.errors import ConfigError
from hamacho_core.persistence import update_thresholds

__all__ = ["ThresholdAdvice", "advise", "cost_fields", "cost_sentence", "count", "format_advice", "pct",
           "reason_fields", "reason_sentence", "save_advice", "span"]

# The CLI's English for each reason code (the app's catalogues word the same codes and fields, see reason_fields).
TEXT = {
    "prov_fitted": "fitted: the threshold was chosen on these same pictures, so these figures are optimistic",
    "prov_cross_fitted": "cross-fitted: each picture judged by a threshold (and supervised head) chosen on the other "
                         "{folds} folds only",
    "prov_hold_out": "hold-out: measured on {n} pictures the model never saw",
    "recall_sentence": "recall {recall} ({low}-{high}): with {n} defect pictures, a miss rate up to {miss} cannot be "
                       "ruled out.",
    "width_done": "The interval is already under {width} wide.",
    "width_needed": "About {n} defect pictures would bring it under {width} wide (at the same recall).",
    "width_never": "No practical number of defect pictures brings it under {width} wide.",
    "cost_sentence": "at {threshold}: per 1,000 parts, about {fa} false alarms ({fa_low}-{fa_high}) and {esc} escapes "
                     "({esc_low}-{esc_high}); expected cost {cost} ({cost_low}-{cost_high}) per 1,000 parts",
}


@dataclass
class ThresholdAdvice:
    """What ``hamacho threshold`` found for a run."""

    run_dir: Path
    saved: float  # the run's saved normalized threshold
    current: ThresholdIntervals  # headline figures at the saved threshold
    decisions: Decisions
    answer: ThresholdAnswer  # everything stated at the saved threshold
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
    decisions = Decisions.for_run(run_dir, n_resamples=n_resamples, seed=seed)
    normalization = decisions.evaluation.normalization
    saved = float(normalization.normalized_image_threshold)
    pixel_norm = float(normalization.normalized_pixel_threshold) if decisions.evaluation.masks is not None else None
    # one question, one answer: the figures at the saved threshold, the cheapest threshold under the constraint
    answer = decisions.answer(saved, costs, width, pixel_norm, min_recall, max_false_alarm_rate,
                              cheapest_meets_constraints=True)
    advice = ThresholdAdvice(run_dir, saved, answer.headline, decisions, answer, width, answer.cheapest,
                             answer.constraints[0] if answer.constraints else None)
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
    lines = [f"  {'figure':<18}{'value':>7}   95 % interval   counts    method      source"]
    for name, estimate, method in rows:
        counts = f"{estimate.count}/{estimate.total}" if estimate.total is not None else ""
        lines.append(f"  {name:<18}{estimate.value:>7.3f}   {estimate.low:.3f}-{estimate.high:.3f}    "
                     f"{counts:<9} {method:<11} {estimate.provenance}")
    return lines


def reason_fields(reason: Reason) -> tuple[str, dict[str, str]]:
    """The message key of one of the answer's statements and its numbers as text, for every front end: the CLI
    words it with :data:`TEXT`, the app with its catalogues (``d_`` + key). See
    :class:`~hamacho_core.decisions.Reason` for the codes."""
    v = reason.values
    if reason.code == "provenance":
        return f"prov_{v['provenance'].replace('-', '_')}", {"n": str(v["n"]), "folds": str(v.get("folds") or "other")}
    if reason.code == "recall":
        return "recall_sentence", {"recall": f"{v['recall']:.2f}", "low": f"{v['low']:.2f}",
                                   "high": f"{v['high']:.2f}", "n": str(v["n"]), "miss": pct(v["miss"])}
    if reason.code in ("width_done", "width_never"):
        return reason.code, {"width": f"{v['width']:g}"}
    if reason.code == "width_needed":
        return reason.code, {"n": f"{v['n']:,}", "width": f"{v['width']:g}"}
    raise ValueError(f"unknown reason code {reason.code!r}")


def cost_fields(choice: CostChoice) -> dict[str, str]:
    """The numbers of the cost statement at a threshold, as text (per 1,000 parts, with their intervals)."""
    fa, esc, cost = choice.false_alarms, choice.escapes, choice.cost
    return {"threshold": f"{choice.threshold:g}", "fa": count(fa.value), "fa_low": count(fa.low),
            "fa_high": count(fa.high), "esc": count(esc.value), "esc_low": count(esc.low), "esc_high": count(esc.high),
            "cost": count(cost.value), "cost_low": count(cost.low), "cost_high": count(cost.high)}


def reason_sentence(reason: Reason) -> str:
    """One of the answer's statements in English."""
    key, fields = reason_fields(reason)
    return TEXT[key].format(**fields)


def recall_sentence(answer: ThresholdAnswer) -> str:
    """The plain sentence about recall, and how many defect pictures bring its interval under the asked width."""
    return " ".join(reason_sentence(r) for r in answer.reasons if r.code != "provenance")


def cost_sentence(choice: CostChoice) -> str:
    """"at 0.47: per 1,000 parts, about 12 false alarms (8-17) and 0.3 escapes (0.1-0.9)"."""
    return TEXT["cost_sentence"].format(**cost_fields(choice))


def format_advice(advice: ThresholdAdvice, normalized_pixel_threshold: float | None = None) -> str:
    """The whole answer as text: table, sentence, per type, per folder, costs, constraint, suggestion."""
    answer = advice.answer
    current, fitted = answer.headline, answer.fitted
    lines = [f"run {advice.run_dir}",
             f"{fitted.n_pictures} test pictures ({fitted.n_good} good, {fitted.n_defect} defect)",
             f"at the saved threshold {advice.saved:.3f} (normalized; {current.provenance} counts TP {current.tp}, "
             f"FP {current.fp}, TN {current.tn}, FN {current.fn} of {current.n_pictures} pictures):",
             f"  headline figures are {reason_sentence(answer.reason('provenance'))}", *_figure_lines(current)]
    if current.provenance != "fitted":
        lines.append(f"  fitted (threshold chosen on these pictures, optimistic): precision {span(fitted.precision)}, "
                     f"recall {span(fitted.recall)}, F1 {span(fitted.f1)}")
    lines += ["", recall_sentence(answer), "", f"per defect type ({current.provenance}):"]
    pixel = normalized_pixel_threshold is not None
    for item in answer.types:
        extra = (f"   pixels: recall {item.pixel_recall:.2f}, precision {item.pixel_precision:.2f}, "
                 f"IoU {item.pixel_iou:.2f}" if pixel and item.pixel_recall is not None else "")
        lines.append(f"  {item.defect_type:<24} caught {item.recall.count}/{item.recall.total}  recall "
                     f"{span(item.recall)}{extra}")
    lines.append(f"false alarms per good folder ({current.provenance}):")
    for folder in answer.folders:
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
