"""The equipment health score (0-100): pure arithmetic, documented in docs/workorders.md.

    penalty = criticality factor x ( corrective points + downtime points
                                     + 3 x open orders + 7 x overdue orders )
    score   = 100 - penalty, rounded (halves up), kept within 0..100

Corrective points: each non-cancelled corrective order adds its priority weight (low 2,
medium 5, high 10, critical 20), halved for every 30 days since it was reported. Downtime
points: each recorded downtime interval adds 1 point per hour, halved every 30 days since the
equipment went down. So an asset is judged on recent trouble: a failure a year ago weighs
1/4096 of one today (the old system's "100 minus 10 per work order, all time" punished old
assets forever).

Exponential decay makes the sums incremental: ``w x 2^-(now - t)/H`` equals
``2^-(now - EPOCH)/H x (w x 2^(t - EPOCH)/H)``, so the rollup keeps ``sum(w x 2^(t - EPOCH)/H)``
per asset (a change adds or removes one term) and multiplies by the common factor when scoring.
Doubles hold 2^1023, i.e. 84 years of 30-day half-lives after EPOCH.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rivet_contracts.assets import Criticality
from rivet_contracts.workorders import Priority

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HALF_LIFE = timedelta(days=30)
PRIORITY_WEIGHTS: dict[Priority, float] = {
    Priority.LOW: 2.0,
    Priority.MEDIUM: 5.0,
    Priority.HIGH: 10.0,
    Priority.CRITICAL: 20.0,
}
DOWNTIME_POINTS_PER_HOUR = 1.0
OPEN_ORDER_POINTS = 3.0
OVERDUE_ORDER_POINTS = 7.0
CRITICALITY_FACTORS: dict[Criticality, float] = {
    Criticality.LOW: 0.75,
    Criticality.MEDIUM: 1.0,
    Criticality.HIGH: 1.25,
    Criticality.CRITICAL: 1.5,
}
GOOD, FAIR = 80, 50
BANDS = {"good": f">= {GOOD}", "fair": f"{FAIR}-{GOOD - 1}", "poor": f"< {FAIR}"}

FORMULA = (
    "score = 100 - criticality_factor x (corrective_points + downtime_points + 3 x open_orders "
    "+ 7 x overdue_orders), rounded, within 0..100. corrective_points: every non-cancelled "
    "corrective order adds its priority weight (low 2, medium 5, high 10, critical 20) halved "
    "for every 30 days since it was reported; downtime_points: 1 per hour of recorded downtime, "
    "halved for every 30 days since the equipment went down. criticality_factor: low 0.75, "
    "medium 1, high 1.25, critical 1.5. Bands: good >= 80, fair 50-79, poor < 50. Scores are "
    "refreshed when the asset's orders change, when an open order falls due, and at least daily."
)


def growth(at: datetime) -> float:
    """``2^((at - EPOCH) / HALF_LIFE)``: the weight a term is stored with."""
    return float(2.0 ** ((at - EPOCH) / HALF_LIFE))


def decay_factor(now: datetime) -> float:
    """``2^-((now - EPOCH) / HALF_LIFE)``: turns stored sums into points at ``now``."""
    return float(2.0 ** (-((now - EPOCH) / HALF_LIFE)))


def band(score: int) -> str:
    return "good" if score >= GOOD else "fair" if score >= FAIR else "poor"


@dataclass(frozen=True)
class Score:
    score: int
    corrective_points: float
    downtime_points: float
    open_orders: int
    overdue_orders: int
    criticality_factor: float

    @property
    def band(self) -> str:
        return band(self.score)

    def explain(self) -> str:
        return (
            f"100 - {self.criticality_factor:g} x ({self.corrective_points:.1f} corrective + "
            f"{self.downtime_points:.1f} downtime + 3 x {self.open_orders} open + "
            f"7 x {self.overdue_orders} overdue) = {self.score}"
        )


def score(
    criticality: Criticality,
    decay_corrective: float,
    decay_downtime: float,
    open_orders: int,
    overdue_orders: int,
    now: datetime,
) -> Score:
    factor = decay_factor(now)
    corrective = max(decay_corrective, 0.0) * factor
    downtime = max(decay_downtime, 0.0) * factor
    weight = CRITICALITY_FACTORS[criticality]
    penalty = weight * (
        corrective
        + downtime
        + OPEN_ORDER_POINTS * open_orders
        + OVERDUE_ORDER_POINTS * overdue_orders
    )
    value = min(100, max(0, math.floor(100.0 - penalty + 0.5)))
    return Score(value, corrective, downtime, open_orders, overdue_orders, weight)
