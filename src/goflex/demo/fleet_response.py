"""The demo houses' response in the balance group's load: their flexible load's departure from its own mean.

Why: the demo's grid meter replays a scenario's load (:mod:`goflex.demo.grid_meter`), which already holds the
houses' *usual* consumption. Without the houses' real behaviour in it, the live DOMS could never see what its
purchases did (an open loop: it would buy against an imbalance its sheds had already reduced). The TG8000 of the
real pilot measures the real group, sheds and rebounds included (seed 3.3). This core closes the loop in the
twin: the meter publishes ``replayed load + (the houses' flexible power - its trailing mean)``.

The power of an interval comes from the houses' energy registers (the controlled clamps' kWh, seed 3.2.5.11):
the difference of two cumulative readings is the interval's exact energy, whatever the sampling period, and a
late message is caught up in the next interval rather than lost. A register that appears late (a gateway still
starting) or goes backwards (a replaced clamp, a reset) is left out of that interval, and the others are scaled up
to the whole fleet, so a register's arrival is not taken for a jump in consumption. The whole fleet is the count
given, or the registers seen so far if more have been (a count that was too small must not make a new register
look like extra consumption forever). An interval that compares less than half of the fleet (gateways still
starting) is not used at all: scaling a few registers up would set the mean from noise.

The mean is the average of the intervals so far until ``window_s`` has passed, then an exponential moving average
with that time constant: a day, so that a shed and its rebound (hours) show against it and the daily cycle is
averaged out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class FleetResponse:
    """Turns cumulative register readings into the fleet's departure from its mean power [MW].

    Args:
        registers: how many registers the whole fleet has (> 0): the others are scaled up to it.
        window_s: the mean's time constant [s] (> 0).

    Raises:
        ValueError: a non-positive ``registers`` or ``window_s``.
    """

    registers: int
    window_s: float = 86_400.0
    resets: int = 0
    intervals: int = 0
    _last: dict[str, float] = field(default_factory=dict, repr=False)
    _last_t: float | None = field(default=None, repr=False)
    _mean_kw: float | None = field(default=None, repr=False)
    _elapsed_s: float = field(default=0.0, repr=False)
    _seen: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.registers <= 0:
            raise ValueError(f"registers must be > 0, got {self.registers}")
        if not self.window_s > 0:
            raise ValueError(f"window_s must be > 0, got {self.window_s}")

    @property
    def mean_kw(self) -> float | None:
        """The fleet's mean flexible power so far [kW] (None before a first interval)."""
        return self._mean_kw

    def step(self, time_s: float, readings: Mapping[str, float]) -> float:
        """The departure of the interval that ends at ``time_s`` [MW] (0 while nothing can be compared).

        Args:
            time_s: when ``readings`` were taken [s]; a time not after the previous one only replaces the readings.
            readings: each register's cumulative energy [kWh], by register.
        """
        previous, last_t = self._last, self._last_t
        self._seen.update(readings)
        self._last, self._last_t = dict(readings), time_s
        if last_t is None or time_s <= last_t:
            return 0.0
        dt = time_s - last_t
        energy, counted = 0.0, 0
        for register, kwh in readings.items():
            before = previous.get(register)
            if before is None:
                continue
            if kwh < before:
                self.resets += 1
                continue
            energy += kwh - before
            counted += 1
        fleet = max(self.registers, len(self._seen))
        if 2 * counted < fleet:
            return 0.0
        power_kw = energy * 3600.0 / dt * fleet / counted
        self.intervals += 1
        self._elapsed_s += dt
        if self._mean_kw is None:
            self._mean_kw = power_kw
            return 0.0
        departure = power_kw - self._mean_kw
        self._mean_kw += departure * min(1.0, dt / min(self._elapsed_s, self.window_s))
        return departure / 1000.0


__all__ = ["FleetResponse"]
