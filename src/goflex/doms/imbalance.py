"""Live estimate of the running quarter hour's imbalance from 5-minute data (seed 3.3.3) (pure).

Seed 3.3.3: "For the grid load, we have a live data with a 5 minutes sampling time. This allows us to assess if
during the present quarter hour, there is a prediction error and how much must be corrected with the
flexibility." A quarter has three 5-minute points. The estimate of the quarter's mean imbalance [MW] is the mean
of the points seen, with the unseen ones taken equal to the last point seen (the error is strongly persistent
over 15-120 min, physics-and-grid.md 7); before any point of the quarter, a prior (the forecast) stands in.
Points the validator rejected are not used (they count as unseen).

Imbalance = load - day-ahead forecast [MW]; positive = short (physics-and-grid.md 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

POINTS_PER_QUARTER = 3


@dataclass(frozen=True)
class QuarterEstimate:
    """The running quarter's imbalance as known now.

    Attributes:
        quarter: index of the quarter hour.
        imbalance_mw: estimated mean imbalance over the quarter [MW].
        points_seen: usable 5-minute points of the quarter so far (0-3).
    """

    quarter: int
    imbalance_mw: float
    points_seen: int

    @property
    def energy_mwh(self) -> float:
        """Estimated imbalance energy of the quarter [MWh]."""
        return self.imbalance_mw * 0.25


@dataclass
class QuarterEstimator:
    """Accumulates the 5-minute imbalance points of the running quarter."""

    quarter: int = -1
    _values: list[float] = field(default_factory=list)
    _slots: int = 0

    def add(self, quarter: int, imbalance_mw: float) -> None:
        """Record the next 5-minute point of ``quarter`` (NaN = not usable).

        Raises:
            ValueError: a fourth point in one quarter, or a quarter going back in time.
        """
        if quarter < self.quarter:
            raise ValueError(f"quarter {quarter} is before the running quarter {self.quarter}")
        if quarter != self.quarter:
            self.quarter, self._values, self._slots = quarter, [], 0
        if self._slots >= POINTS_PER_QUARTER:
            raise ValueError(f"quarter {quarter} already has {POINTS_PER_QUARTER} points")
        self._slots += 1
        if math.isfinite(imbalance_mw):
            self._values.append(imbalance_mw)

    def estimate(self, prior_mw: float) -> QuarterEstimate:
        """The running quarter's mean imbalance [MW], ``prior_mw`` standing in when no point is usable."""
        if not self._values:
            return QuarterEstimate(self.quarter, prior_mw, 0)
        unseen = POINTS_PER_QUARTER - self._slots + (self._slots - len(self._values))
        total = sum(self._values) + unseen * self._values[-1]
        return QuarterEstimate(self.quarter, total / POINTS_PER_QUARTER, len(self._values))

    @property
    def complete(self) -> bool:
        """All three points of the quarter have arrived (usable or not)."""
        return self._slots == POINTS_PER_QUARTER
