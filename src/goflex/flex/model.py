"""The FlexOffer and its schedules as immutable values (FlexOffer User Group JSON model).

Sign convention: inside goflex, energy is **consumption-positive** (the GOFLEX aggregator's convention; the
specification contradicts itself and the GOFLEX market used production-positive). Adapters that talk to a
production-positive party negate at their boundary; nothing in this package converts.

Energies are in kWh per slice (``unit`` absent means kWh), durations in intervals of ``num_seconds_per_interval``
seconds (default 900), tariffs in currency per kWh. All datetimes are aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

DEFAULT_SECONDS_PER_INTERVAL = 900
"""Default interval length [s] of a FlexOffer (15 minutes)."""


class FlexOfferState(StrEnum):
    """Lifecycle state of a FlexOffer; values are the wire strings of the reference."""

    INITIAL = "initial"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    EXECUTED = "executed"
    INVALID = "invalid"
    CANCELED = "canceled"
    IN_ADAPTATION = "in adaptation"


@dataclass(frozen=True, slots=True)
class EnergyConstraint:
    """Bounds ``[lower, upper]`` on an energy amount [kWh], consumption-positive."""

    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class TariffConstraint:
    """Tariff bounds [currency/kWh]: ``min_tariff`` for going below baseline, ``max_tariff`` for going above."""

    min_tariff: float
    max_tariff: float


@dataclass(frozen=True, slots=True)
class ProfileSlice:
    """One slice of the offer's profile.

    Attributes:
        min_duration: shortest length of the slice [intervals], >= 1.
        max_duration: longest length of the slice [intervals], >= ``min_duration``.
        energy_constraints: ``energyConstraintList``; one entry bounds the slice's energy [kWh]. More entries
            (dependency FlexOffers) are carried but not yet validated.
        tariff_constraint: optional tariff bounds for this slice.
    """

    min_duration: int
    max_duration: int
    energy_constraints: tuple[EnergyConstraint, ...]
    tariff_constraint: TariffConstraint | None = None


@dataclass(frozen=True, slots=True)
class ScheduleSlice:
    """One slice of a schedule: its length [intervals], energy [kWh] and optional tariff [currency/kWh]."""

    duration: int
    energy_amount: float
    tariff: float | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A schedule (``defaultSchedule`` or ``flexOfferSchedule``): a start time and one slice per profile slice."""

    start_time: datetime
    slices: tuple[ScheduleSlice, ...]


@dataclass(frozen=True, slots=True)
class FlexOffer:
    """A FlexOffer: flexibility in energy over equal intervals, with its time window and deadlines.

    Attributes:
        id: the offer's identifier.
        state: lifecycle state.
        offered_by_id: owner (prosumer or aggregator) id.
        creation_time: when the offer was created (UTC).
        accept_before_time: the receiver must accept or reject before this (UTC).
        assignment_before_time: a schedule may be sent until this (UTC).
        start_after_time: earliest start EST of the whole profile (UTC).
        start_before_time: latest start LST of the whole profile (UTC).
        profile: ``flexOfferProfileConstraints``, the slices in time order.
        num_seconds_per_interval: interval length [s], default 900.
        total_energy_constraint: optional bounds on the sum of all slice energies [kWh].
        default_schedule: the baseline run when nothing is assigned.
        schedule: ``flexOfferSchedule``, the assignment, if any.
        location_id: optional grid location.
        unit: energy unit as written on the wire; ``None`` (absent) means kWh.
    """

    id: str
    state: FlexOfferState
    offered_by_id: str
    creation_time: datetime
    accept_before_time: datetime
    assignment_before_time: datetime
    start_after_time: datetime
    start_before_time: datetime
    profile: tuple[ProfileSlice, ...]
    num_seconds_per_interval: int = DEFAULT_SECONDS_PER_INTERVAL
    total_energy_constraint: EnergyConstraint | None = None
    default_schedule: Schedule | None = None
    schedule: Schedule | None = None
    location_id: str | None = None
    unit: str | None = None
