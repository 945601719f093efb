"""The decision tools' sentences in the UI's language, worded from the core's reason codes and numbers (no
streamlit: the page and the report both use them)."""

from __future__ import annotations

from hamacho_core.decisions import CostChoice, Costs, Estimate, Reason
from hamacho_core.threshold_table import count, pct
from ui.i18n import translate

__all__ = ["cost_sentence", "costs_given", "interval", "provenance_sentence", "reason_sentence", "source", "span"]


def interval(estimate: Estimate, digits: int = 2) -> str:
    """``0.86–0.99``."""
    return f"{estimate.low:.{digits}f}–{estimate.high:.{digits}f}"


def span(estimate: Estimate, digits: int = 2) -> str:
    """``0.95 (0.86–0.99)``."""
    return f"{estimate.value:.{digits}f} ({interval(estimate, digits)})"


def source(language: str, provenance: str | None) -> str:
    """The provenance's short name ("cross-fitted", "クロスフィット", ...)."""
    return translate(language, f"d_source_{(provenance or 'fitted').replace('-', '_')}")


def provenance_sentence(language: str, reason: Reason) -> str:
    """Where the headline figures come from, in a sentence."""
    values = reason.values
    return translate(language, f"d_prov_{values['provenance'].replace('-', '_')}", n=values["n"],
                     folds=values.get("folds") or "")


def reason_sentence(language: str, reason: Reason) -> str:
    """One statement of a :class:`~hamacho_core.decisions.ThresholdAnswer` (see ``Reason`` for the codes)."""
    v = reason.values
    if reason.code == "provenance":
        return provenance_sentence(language, reason)
    if reason.code == "recall":
        return translate(language, "d_recall_sentence", recall=f"{v['recall']:.2f}", low=f"{v['low']:.2f}",
                         high=f"{v['high']:.2f}", n=v["n"], miss=pct(v["miss"]))
    if reason.code == "width_done":
        return translate(language, "d_width_done", width=f"{v['width']:g}")
    if reason.code == "width_never":
        return translate(language, "d_width_never", width=f"{v['width']:g}")
    if reason.code == "width_needed":
        return translate(language, "d_width_needed", n=f"{v['n']:,}", width=f"{v['width']:g}")
    raise ValueError(f"unknown reason code {reason.code!r}")


def cost_sentence(language: str, choice: CostChoice) -> str:
    """"At 0.47: per 1,000 parts, about 12 false alarms (8–17) and 0.3 escapes (0.1–0.9); expected cost ..."."""
    fa, esc, cost = choice.false_alarms, choice.escapes, choice.cost
    return translate(language, "d_cost_sentence", threshold=f"{choice.threshold:g}", fa=count(fa.value),
                     fa_low=count(fa.low), fa_high=count(fa.high), esc=count(esc.value), esc_low=count(esc.low),
                     esc_high=count(esc.high), cost=count(cost.value), cost_low=count(cost.low),
                     cost_high=count(cost.high)) + f" ({source(language, cost.provenance)})"


def costs_given(language: str, costs: Costs) -> str:
    """The costs the statement rests on."""
    return translate(language, "d_costs_given", miss=f"{costs.cost_miss:g}", fa=f"{costs.cost_false_alarm:g}",
                     rate=f"{costs.defect_rate * 1000:g}")
