"""What the line pays for a decision: the cost of a miss and of a false alarm, and the defect rate; kept with a run.

Saved as ``costs.json`` in the run folder (the costs the analyst last saved; the report states them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core.atomic import atomic_write_text
from hamacho_core.errors import ConfigError
from hamacho_core.intervals import PER_PARTS

__all__ = ["COSTS_NAME", "Costs", "load_costs", "save_costs"]

COSTS_NAME = "costs.json"


@dataclass
class Costs:
    """What the line pays: a missed defect, a false alarm (re-inspection), and the share of defective parts."""

    cost_miss: float
    cost_false_alarm: float
    defect_rate: float  # fraction of parts that are defective on the line (e.g. 0.002 = 2 per 1,000 = 2,000 ppm)

    def __post_init__(self) -> None:
        if self.cost_miss < 0 or self.cost_false_alarm < 0:
            raise ConfigError("costs must be 0 or more")
        if self.cost_miss + self.cost_false_alarm <= 0:
            raise ConfigError("give a cost for a missed defect or for a false alarm (both are 0)")
        if not 0.0 < self.defect_rate < 1.0:
            raise ConfigError(f"the defect rate must be a fraction between 0 and 1 (got {self.defect_rate}); "
                              "for 3 per 1,000 give 0.003")

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Costs:
        return cls(float(data["cost_miss"]), float(data["cost_false_alarm"]), float(data["defect_rate"]))

    def key(self) -> tuple[float, float, float]:
        """A hashable form (memo keys)."""
        return self.cost_miss, self.cost_false_alarm, self.defect_rate

    def per_parts(self, miss_rate: np.ndarray | float, false_alarm_rate: np.ndarray | float) -> np.ndarray:
        """Expected cost per 1,000 parts for the given miss and false-alarm rates (any shape)."""
        return PER_PARTS * (self.defect_rate * np.asarray(miss_rate) * self.cost_miss
                            + (1 - self.defect_rate) * np.asarray(false_alarm_rate) * self.cost_false_alarm)


def save_costs(run_dir: str | Path, costs: Costs | None) -> None:
    """Keep the analyst's costs with the run (atomically), or forget them with None."""
    path = Path(run_dir) / COSTS_NAME
    if costs is None:
        path.unlink(missing_ok=True)
        return
    atomic_write_text(path, json.dumps(costs.to_dict(), indent=1))


def load_costs(run_dir: str | Path) -> Costs | None:
    """The costs saved with a run, or None (also when the file is unreadable: costs are optional)."""
    path = Path(run_dir) / COSTS_NAME
    try:
        return Costs.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
