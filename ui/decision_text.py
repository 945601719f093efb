"""The decision tools' sentences in the UI's language, worded from the core's reason codes and numbers (no
streamlit: the page and the report both use them)."""

from __future__ import annotations

from hamacho_core.decisions import CostChoice, Costs, Estimate, Reason
from hamacho_core.threshold_table import cost_fields, reason_fields
from ui.i18n import translate

__all__ = ["cost_sentence", "costs_given", "interval", "reason_sentence", "source", "span"]


def interval(estimate: Estimate, digits: int = 2) -> str:
    """``0.86–0.99``."""
    return f"{estimate.low:.{digits}f}–{estimate.high:.{digits}f}"


def span(estimate: Estimate, digits: int = 2) -> str:
    """``0.95 (0.86–0.99)``."""
    return f"{estimate.value:.{digits}f} ({interval(estimate, digits)})"


def source(language: str, provenance: str | None) -> str:
    """The provenance's short name ("cross-fitted", "クロスフィット", ...)."""
    return translate(language, f"d_source_{(provenance or 'fitted').replace('-', '_')}")


def reason_sentence(language: str, reason: Reason) -> str:
    """One statement of a :class:`~hamacho_core.decisions.ThresholdAnswer` (the codes and their numbers as the CLI
    words them: ``threshold_table.reason_fields``)."""
    key, fields = reason_fields(reason)
    return translate(language, f"d_{key}", **fields)


def cost_sentence(language: str, choice: CostChoice) -> str:
    """"At 0.47: per 1,000 parts, about 12 false alarms (8–17) and 0.3 escapes (0.1–0.9); expected cost ..."."""
    return (translate(language, "d_cost_sentence", **cost_fields(choice))
            + f" ({source(language, choice.cost.provenance)})")


def costs_given(language: str, costs: Costs) -> str:
    """The costs the statement rests on."""
    return translate(language, "d_costs_given", miss=f"{costs.cost_miss:g}", fa=f"{costs.cost_false_alarm:g}",
                     rate=f"{costs.defect_rate * 1000:g}")
