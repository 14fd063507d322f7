"""Checks of the live 5-minute load before DOMS acts on it (seed 3.3.2 safety rules) (pure).

Seed 3.3.2: "The validity of the TG8000 data should be checked. The data need to be coherent, holes in the data
might occur. The control of flexibility should automatically stop when out of tolerances." Each point is
checked against four rules, each with a reason an operator can read:

* ``gap``: the value is missing (empty or unparsable in ``grid.csv``, NaN here);
* ``stuck``: the value has not changed for :attr:`ValidationRules.stuck_points` points (a frozen feed);
* ``spike``: the value's departure from the day-ahead forecast (the imbalance, not the load: the load's scheduled
  steps, such as ripple control switching the night tariff on at 22:00, are in the forecast) moves away from the
  median of the last three good ones by more than the spike threshold:
  :attr:`ValidationRules.spike_mw`, or :attr:`ValidationRules.spike_sigmas` times the feed's own noise (a robust
  standard deviation of its last day of 5-minute changes) when that is larger. If the next point confirms the new
  level (within the threshold of the jump) it is a real step and is accepted. The threshold follows the feed:
  a fixed 8 MW on a load whose 5-minute changes have a standard deviation of ~3 MW (ESR's TG8000-like noise)
  flagged 120-130 "spikes" in 28 days for ~1.5 real ones and kept DOMS stopped 7 % of the time, mostly at the
  large steps of the load, where acting matters most;
* ``incoherent``: the value departs from the day-ahead forecast by more than ``incoherent_mw`` or
  ``incoherent_share`` of it (a wrong scaling or a meter swapped: 2016's errors stay within ~25 MW, seed 3.3.1).

:class:`LoadValidator` is fed one point at a time (the live service and the evaluation share it). It stops
activations at the first bad point and resumes after :attr:`ValidationRules.resume_points` good points in a row.
:func:`clean_series` applies the same rules to a whole series afterwards (for settlement, where the official
65 kV metering of the next day has no holes: bad points are interpolated).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


class Problem(StrEnum):
    """Why a point is not used."""

    GAP = "gap"
    STUCK = "stuck"
    SPIKE = "spike"
    INCOHERENT = "incoherent"


@dataclass(frozen=True)
class ValidationRules:
    """Tolerances of the live load checks.

    Attributes:
        stuck_points: identical values in a row that make a feed ``stuck`` (>= 2; 4 = 20 minutes).
        stuck_tolerance_mw: values closer than this count as identical [MW].
        spike_mw: smallest spike threshold [MW] (> 0): a departure from the recent level larger than this may be
            a spike.
        spike_sigmas: the threshold in standard deviations of the feed's 5-minute changes, when larger (>= 0;
            0 = the fixed ``spike_mw`` only).
        noise_window: good 5-minute changes kept to estimate that standard deviation (default one day).
        incoherent_mw: largest credible distance from the day-ahead forecast [MW] (> 0).
        incoherent_share: the same as a share of the forecast [-]; the larger of the two applies.
        resume_points: good points in a row before activations resume (>= 1).
    """

    stuck_points: int = 4
    stuck_tolerance_mw: float = 1e-6
    spike_mw: float = 8.0
    spike_sigmas: float = 4.0
    noise_window: int = 288
    incoherent_mw: float = 30.0
    incoherent_share: float = 0.4
    resume_points: int = 3

    def __post_init__(self) -> None:
        if self.stuck_points < 2 or self.resume_points < 1:
            raise ValueError("stuck_points must be >= 2 and resume_points >= 1")
        if self.spike_mw <= 0 or self.incoherent_mw <= 0 or self.incoherent_share < 0:
            raise ValueError("spike_mw and incoherent_mw must be > 0, incoherent_share >= 0")
        if self.spike_sigmas < 0 or self.noise_window < 12:
            raise ValueError("spike_sigmas must be >= 0 and noise_window >= 12")


@dataclass(frozen=True)
class Verdict:
    """The checks of one point.

    Attributes:
        usable: the point may be used for the estimate (no problem found).
        problems: what is wrong with this point (empty when usable).
        stopped: activations are stopped after this point.
        reason: why activations are stopped (the problems that stopped them), empty when running.
    """

    usable: bool
    problems: tuple[Problem, ...]
    stopped: bool
    reason: str


@dataclass
class LoadValidator:
    """Stateful checks of a live load feed, one point at a time (see the module docstring).

    Args:
        rules: the tolerances.
    """

    rules: ValidationRules = field(default_factory=ValidationRules)
    _last_good: float = math.nan
    _recent_good: deque[float] = field(default_factory=lambda: deque(maxlen=3))
    _changes: deque[float] = field(init=False)
    _previous: float = math.nan
    _same_run: int = 0
    _pending_jump: float = math.nan
    _good_run: int = 0
    _stopped: bool = False
    _reason: str = ""

    def __post_init__(self) -> None:
        self._changes = deque(maxlen=self.rules.noise_window)

    def check(self, load_mw: float, dayahead_mw: float) -> Verdict:
        """Check the next point.

        Args:
            load_mw: live load of the interval [MW] (NaN = missing).
            dayahead_mw: day-ahead forecast of the interval [MW].

        Returns:
            The verdict (usable or not, and whether activations are stopped, with the reason).
        """
        problems = self._problems(load_mw, dayahead_mw)
        if problems:
            self._good_run = 0
            if not self._stopped:
                self._stopped = True
                self._reason = "+".join(problems)
        else:
            self._good_run += 1
            error = load_mw - dayahead_mw
            if math.isfinite(self._last_good):
                self._changes.append(error - self._last_good)
            self._last_good = error
            self._recent_good.append(error)
            if self._stopped and self._good_run >= self.rules.resume_points:
                self._stopped, self._reason = False, ""
        return Verdict(not problems, problems, self._stopped, self._reason)

    def _problems(self, x: float, forecast: float) -> tuple[Problem, ...]:
        r = self.rules
        if not math.isfinite(x):
            self._same_run = 0
            self._previous = math.nan
            return (Problem.GAP,)
        found: list[Problem] = []
        self._same_run = self._same_run + 1 if abs(x - self._previous) <= r.stuck_tolerance_mw else 1
        self._previous = x
        if self._same_run >= r.stuck_points:
            found.append(Problem.STUCK)
        if abs(x - forecast) > max(r.incoherent_mw, r.incoherent_share * abs(forecast)):
            found.append(Problem.INCOHERENT)
        threshold = self.spike_threshold_mw
        error = x - forecast
        if self._recent_good and abs(error - float(np.median(self._recent_good))) > threshold:
            # a jump confirmed by the next point is a real step of the load, not a spike
            confirmed = math.isfinite(self._pending_jump) and abs(error - self._pending_jump) <= threshold
            self._pending_jump = error
            if not confirmed:
                found.append(Problem.SPIKE)
        else:
            self._pending_jump = math.nan
        return tuple(found)

    @property
    def spike_threshold_mw(self) -> float:
        """The spike threshold now [MW]: ``spike_mw``, or ``spike_sigmas`` x the robust standard deviation of the
        recent 5-minute changes (1.4826 x their median absolute deviation) when larger and known (a few hours)."""
        r = self.rules
        if r.spike_sigmas == 0 or len(self._changes) < 36:
            return r.spike_mw
        changes = np.fromiter(self._changes, dtype=np.float64)
        sd = 1.4826 * float(np.median(np.abs(changes - np.median(changes))))
        return max(r.spike_mw, r.spike_sigmas * sd)

    @property
    def stopped(self) -> bool:
        """Whether activations are stopped now."""
        return self._stopped


def clean_series(load_mw: F64, dayahead_mw: F64, rules: ValidationRules | None = None) -> tuple[F64, NDArray[np.bool_]]:
    """The series with its bad points replaced by linear interpolation between good neighbours.

    Args:
        load_mw: live load per 5 minutes [MW] (NaN = missing).
        dayahead_mw: day-ahead forecast of the same intervals [MW].
        rules: the tolerances (defaults as for the live checks).

    Returns:
        The cleaned load [MW] (the forecast where no good point exists at all) and the mask of good points.
    """
    validator = LoadValidator(rules or ValidationRules())
    good = np.array([validator.check(float(x), float(f)).usable for x, f in zip(load_mw, dayahead_mw, strict=True)])
    good = good.astype(np.bool_)
    if not good.any():
        return np.asarray(dayahead_mw, dtype=np.float64).copy(), good
    idx = np.arange(load_mw.size)
    clean = np.interp(idx, idx[good], load_mw[good])
    return np.asarray(clean, dtype=np.float64), good
