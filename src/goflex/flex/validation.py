"""Rules of a FlexOffer and of a schedule against its offer (pure).

API: :func:`validate_offer` and :func:`validate_schedule` **return** every problem found, as a list of
:class:`Problem` (empty = valid), so a caller can report all of them at once; :func:`require_valid` turns the
first problem into an :class:`InvalidFlexOffer`. Field paths use wire names relative to the offer
(``flexOfferProfileConstraints[1].energyConstraintList[0]``); pass ``prefix`` (e.g. ``flexOffer[0]``) to place
them in a document.

Rules (reference flexoffer.md section 1):

* deadlines in order: creation <= acceptBefore <= assignmentBefore <= EST (a schedule has to be assigned
  before the earliest moment it could start) and EST <= LST;
* LST - EST is a whole number of intervals (a schedule start is EST + k intervals);
* ``numSecondsPerInterval`` >= 1 and ``unit`` absent or ``kWh``; at least one slice;
* per slice: 1 <= minDuration <= maxDuration; exactly one energy constraint (dependency FlexOffers with
  several entries are not supported yet); lower <= upper; minTariff <= maxTariff;
* the total-energy constraint has lower <= upper and intersects [sum of slice lowers, sum of slice uppers];
* a schedule starts in [EST, LST] on the interval grid, has one slice per profile slice, each duration in
  [minDuration, maxDuration], each amount in its slice's bounds, each tariff in the slice's tariff bounds,
  and a total within the total-energy constraint.

The ``defaultSchedule`` is the prosumer's baseline and is not held to these rules (the reference example's
baseline lies below its total-energy constraint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.model import EnergyConstraint, FlexOffer, ProfileSlice, Schedule

ENERGY_TOLERANCE_KWH = 1e-9
"""Slack [kWh] when comparing sums of floats to bounds, so 0.1 + 0.2 fits within 0.3."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: ``field`` is the wire path, ``rule`` says what is required."""

    field: str
    rule: str

    def error(self) -> InvalidFlexOffer:
        """This problem as an exception to raise."""
        return InvalidFlexOffer(self.field, self.rule)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _deadline_problems(offer: FlexOffer, prefix: str) -> list[Problem]:
    chain: list[tuple[str, datetime]] = [
        ("creationTime", offer.creation_time),
        ("acceptBeforeTime", offer.accept_before_time),
        ("assignmentBeforeTime", offer.assignment_before_time),
        ("startAfterTime", offer.start_after_time),
        ("startBeforeTime", offer.start_before_time),
    ]
    problems = []
    for (before_name, before), (after_name, after) in pairwise(chain):
        if before > after:
            problems.append(Problem(_join(prefix, after_name), f"must not be before {before_name}"))
    window = (offer.start_before_time - offer.start_after_time).total_seconds()
    if offer.num_seconds_per_interval >= 1 and window >= 0 and window % offer.num_seconds_per_interval:
        problems.append(
            Problem(_join(prefix, "startBeforeTime"), "startBeforeTime - startAfterTime must be whole intervals")
        )
    return problems


def _bounds(slice_: ProfileSlice) -> EnergyConstraint | None:
    return slice_.energy_constraints[0] if len(slice_.energy_constraints) == 1 else None


def _slice_problems(slice_: ProfileSlice, path: str) -> list[Problem]:
    problems = []
    if slice_.min_duration < 1:
        problems.append(Problem(_join(path, "minDuration"), "must be >= 1 interval"))
    if slice_.min_duration > slice_.max_duration:
        problems.append(Problem(_join(path, "maxDuration"), "must be >= minDuration"))
    if len(slice_.energy_constraints) != 1:
        problems.append(
            Problem(_join(path, "energyConstraintList"), "must hold exactly one constraint (no dependency offers)")
        )
    for i, c in enumerate(slice_.energy_constraints):
        if c.lower > c.upper:
            problems.append(Problem(f"{path}.energyConstraintList[{i}]", "lower must be <= upper"))
    tc = slice_.tariff_constraint
    if tc is not None and tc.min_tariff > tc.max_tariff:
        problems.append(Problem(_join(path, "tariffConstraint"), "minTariff must be <= maxTariff"))
    return problems


def _total_problems(offer: FlexOffer, prefix: str) -> list[Problem]:
    tec = offer.total_energy_constraint
    bounds = [_bounds(s) for s in offer.profile]
    if tec is None:
        return []
    path = _join(prefix, "totalEnergyConstraint")
    if tec.lower > tec.upper:
        return [Problem(path, "lower must be <= upper")]
    if any(b is None for b in bounds):
        return []  # already reported per slice
    low = sum(b.lower for b in bounds if b is not None)
    high = sum(b.upper for b in bounds if b is not None)
    if tec.lower > high + ENERGY_TOLERANCE_KWH or tec.upper < low - ENERGY_TOLERANCE_KWH:
        return [Problem(path, f"infeasible: slice bounds allow only [{low}, {high}] kWh in total")]
    return []


def validate_offer(offer: FlexOffer, prefix: str = "") -> list[Problem]:
    """Check an offer's own rules (see the module docstring).

    Args:
        offer: the offer to check.
        prefix: path prefix for the problems' fields, e.g. ``flexOffer[0]``.

    Returns:
        Every problem found; empty when the offer is valid.
    """
    problems = _deadline_problems(offer, prefix)
    if offer.num_seconds_per_interval < 1:
        problems.append(Problem(_join(prefix, "numSecondsPerInterval"), "must be >= 1 s"))
    if offer.unit not in (None, "kWh"):
        problems.append(Problem(_join(prefix, "unit"), "must be 'kWh'"))
    if not offer.profile:
        problems.append(Problem(_join(prefix, "flexOfferProfileConstraints"), "must hold at least one slice"))
    for i, slice_ in enumerate(offer.profile):
        problems += _slice_problems(slice_, f"{_join(prefix, 'flexOfferProfileConstraints')}[{i}]")
    problems += _total_problems(offer, prefix)
    return problems


def _start_problems(offer: FlexOffer, schedule: Schedule, path: str) -> list[Problem]:
    start = schedule.start_time
    if not offer.start_after_time <= start <= offer.start_before_time:
        return [Problem(_join(path, "startTime"), "must lie in [startAfterTime, startBeforeTime]")]
    offset = (start - offer.start_after_time).total_seconds()
    if offer.num_seconds_per_interval >= 1 and offset % offer.num_seconds_per_interval:
        return [Problem(_join(path, "startTime"), "must be startAfterTime + a whole number of intervals")]
    return []


def validate_schedule(offer: FlexOffer, schedule: Schedule, prefix: str = "flexOfferSchedule") -> list[Problem]:
    """Check a schedule against its offer (see the module docstring).

    Args:
        offer: the offer the schedule assigns; its own problems are not repeated here.
        schedule: the assignment.
        prefix: path of the schedule for the problems' fields.

    Returns:
        Every problem found; empty when the schedule is valid for the offer.
    """
    problems = _start_problems(offer, schedule, prefix)
    slices_path = _join(prefix, "scheduleSlices")
    if len(schedule.slices) != len(offer.profile):
        problems.append(Problem(slices_path, f"must hold one slice per profile slice ({len(offer.profile)})"))
    for i, (item, slice_) in enumerate(zip(schedule.slices, offer.profile, strict=False)):
        path = f"{slices_path}[{i}]"
        if not slice_.min_duration <= item.duration <= slice_.max_duration:
            problems.append(Problem(_join(path, "duration"), "must lie in [minDuration, maxDuration]"))
        bounds = _bounds(slice_)
        if bounds is not None and not bounds.lower <= item.energy_amount <= bounds.upper:
            problems.append(Problem(_join(path, "energyAmount"), "must lie in the slice's [lower, upper]"))
        tc = slice_.tariff_constraint
        if item.tariff is not None and tc is not None and not tc.min_tariff <= item.tariff <= tc.max_tariff:
            problems.append(Problem(_join(path, "tariff"), "must lie in [minTariff, maxTariff]"))
    tec = offer.total_energy_constraint
    total = sum(item.energy_amount for item in schedule.slices)
    if tec is not None and not tec.lower - ENERGY_TOLERANCE_KWH <= total <= tec.upper + ENERGY_TOLERANCE_KWH:
        problems.append(Problem(slices_path, "total energyAmount must lie in totalEnergyConstraint"))
    return problems


def require_valid(problems: Sequence[Problem]) -> None:
    """Raise the first problem, if any.

    Raises:
        InvalidFlexOffer: naming the first problem's field and rule.
    """
    if problems:
        raise problems[0].error()
