"""FlexOffers as columns (numpy): the one place where per-interval bounds are computed (pure).

Aggregation and disaggregation of a million offers cannot afford an object per interval, so every bound they
use is computed here, vectorised over all offers at once. The scalar API of :mod:`goflex.flex.aggregation`
builds a table of one offer (or of one group), so a single offer, a group and a million offers go through the
same arithmetic in the same order and give bit-identical sums (the batch == incremental property).

Conventions (reference flexoffer.md sections 1 and 3):

* per-interval expansion: a fixed-duration slice (``minDuration == maxDuration == d``) with bounds ``[l, u]``
  [kWh] gives ``[l/d, u/d]`` to each of its ``d`` intervals; an offer with a variable-duration slice or not
  exactly one energy constraint per slice has no expansion (``fixed`` is false, ``n_intervals`` 0);
* the effective total is the TEC clipped to ``[sum l, sum u]`` (that range without a TEC);
* TEC tightening: interval ``k`` cannot go below ``T_lo - (sum u - u_k)`` nor above ``T_hi - (sum l - l_k)``;
* a TEC *binds* when the tightened bounds still allow totals outside it (beyond :data:`ENERGY_TOLERANCE_KWH`);
* the *inner box* of a binding offer fills every interval's tightened range ``[l_k, u_k]`` between the same two
  fractions ``p <= q`` chosen so that the box's totals are exactly the TEC: any per-interval assignment inside
  the box meets the TEC, and the width of its total range equals the effective energy flexibility.

Sums over an offer's intervals and over a group's members are taken with ``np.bincount`` (a sequential loop in
array order), never with pairwise or compensated summation, so they do not depend on the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from goflex.flex.model import EnergyConstraint, FlexOffer
from goflex.flex.validation import ENERGY_TOLERANCE_KWH

_T = TypeVar("_T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    """The aware UTC datetime ``us`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=us)


def segment_sum(index: Ints, values: Floats, n: int) -> Floats:
    """``out[i] = sum of values[j] with index[j] == i``, added in array order (reproducible bit for bit)."""
    return np.bincount(index, weights=values, minlength=n).astype(np.float64)


_ZERO = EnergyConstraint(0.0, 0.0)


def gather(items: Sequence[_T], rows: Ints) -> list[_T]:
    """``[items[r] for r in rows]`` through a numpy object array (a C loop instead of Python's)."""
    column = np.empty(len(items), dtype=object)
    column[:] = items
    return column[rows].tolist()  # type: ignore[no-any-return]


def starts_of(counts: Ints) -> Ints:
    """Start index of each run of ``counts`` items laid end to end."""
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def ranges(starts: Ints, counts: Ints) -> Ints:
    """``concat(arange(s, s + c) for s, c in zip(starts, counts))``, vectorised."""
    total = int(counts.sum())
    return np.repeat(starts - starts_of(counts), counts) + np.arange(total, dtype=np.int64)


def _anchors(offers: Sequence[FlexOffer], est: Ints, lst: Ints, step: Ints) -> Ints:
    """The default schedule's start where it is a possible start (on the grid in [EST, LST]), else EST."""
    defaults = [o.default_schedule for o in offers]
    if all(d is None for d in defaults):
        return est
    start = np.array([e if d is None else to_us(d.start_time) for d, e in zip(defaults, est.tolist(), strict=True)])
    possible = (est <= start) & (start <= lst) & ((start - est) % step == 0)
    return np.where(possible, start, est).astype(np.int64)


@dataclass(slots=True)
class _Scan:
    """The Python side of :meth:`OfferTable.from_offers`: plain lists filled in one pass."""

    ids: list[str] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)
    est: list[int] = field(default_factory=list)
    lst: list[int] = field(default_factory=list)
    deadlines: list[tuple[int, int, int]] = field(default_factory=list)
    has_tec: list[bool] = field(default_factory=list)
    tec_lo: list[float] = field(default_factory=list)
    tec_hi: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    mins: list[int] = field(default_factory=list)
    maxs: list[int] = field(default_factory=list)
    n_constraints: list[int] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)

    def read(self, offers: Sequence[FlexOffer]) -> None:
        """Append every offer's fields and every slice's (one fused loop: one cache miss per object)."""
        # Bound methods in locals: this loop runs once per offer and slice (millions of times).
        seconds, est, lst, deadlines = self.seconds.append, self.est.append, self.lst.append, self.deadlines.append
        ids = self.ids.append
        has_tec, tec_lo, tec_hi, counts = (
            self.has_tec.append,
            self.tec_lo.append,
            self.tec_hi.append,
            self.counts.append,
        )
        mins, maxs, n_constraints = self.mins.append, self.maxs.append, self.n_constraints.append
        lows, highs = self.lows.append, self.highs.append
        for offer in offers:
            ids(offer.id)
            seconds(offer.num_seconds_per_interval)
            est((offer.start_after_time - EPOCH) // ONE_US)
            lst((offer.start_before_time - EPOCH) // ONE_US)
            deadlines(
                (
                    (offer.creation_time - EPOCH) // ONE_US,
                    (offer.accept_before_time - EPOCH) // ONE_US,
                    (offer.assignment_before_time - EPOCH) // ONE_US,
                )
            )
            tec = offer.total_energy_constraint
            has_tec(tec is not None)
            tec = _ZERO if tec is None else tec
            tec_lo(tec.lower)
            tec_hi(tec.upper)
            profile = offer.profile
            counts(len(profile))
            for item in profile:
                constraints = item.energy_constraints
                mins(item.min_duration)
                maxs(item.max_duration)
                n_constraints(len(constraints))
                bounds = constraints[0] if constraints else _ZERO
                lows(bounds.lower)
                highs(bounds.upper)


@dataclass(frozen=True, slots=True, eq=False)
class OfferTable:
    """Offers in columns; per-offer arrays have one row per offer, flat arrays one row per interval.

    Attributes:
        offers: the offers, in row order.
        ids: their ids, in row order.
        fixed: the offer has a per-interval expansion.
        step_us: interval length [us].
        est_us, lst_us: earliest and latest start [us since the epoch].
        deadlines_us: creation, acceptBefore and assignmentBefore times, one row of 3 per offer [us].
        anchor_us: default-schedule start if it is a possible start, else EST [us since the epoch].
        has_tec, tec_lo, tec_hi: the TEC (0 where absent) [kWh].
        first: index of the offer's first interval in the flat arrays.
        n_intervals: number of intervals of the expansion (0 when not fixed).
        lower, upper: flat per-interval bounds ``[l/d, u/d]`` before tightening [kWh].
        slice_first, slice_count: the offer's slices in the flat slice arrays.
        slice_lower, slice_upper, slice_duration: flat per-slice bounds [kWh] and durations [intervals].
    """

    offers: Sequence[FlexOffer]
    ids: list[str]
    fixed: Bools
    step_us: Ints
    est_us: Ints
    lst_us: Ints
    deadlines_us: Ints
    anchor_us: Ints
    has_tec: Bools
    tec_lo: Floats
    tec_hi: Floats
    first: Ints
    n_intervals: Ints
    lower: Floats
    upper: Floats
    slice_first: Ints
    slice_count: Ints
    slice_lower: Floats
    slice_upper: Floats
    slice_duration: Ints

    @classmethod
    def from_offers(cls, offers: Sequence[FlexOffer]) -> OfferTable:
        """Read the columns of ``offers``: one pass of Python over offers and slices, the rest in numpy.

        One fused loop rather than a comprehension per field: with a million offers the objects no longer fit
        in the CPU caches, and each extra pass over them costs a cache miss per object.
        """
        n = len(offers)
        scan = _Scan()
        scan.read(offers)
        seconds, est_list, lst_list = scan.seconds, scan.est, scan.lst
        has_tec_list, tec_lo_list, tec_hi_list = scan.has_tec, scan.tec_lo, scan.tec_hi
        counts, mins, maxs, n_constraints, lows, highs = (
            scan.counts,
            scan.mins,
            scan.maxs,
            scan.n_constraints,
            scan.lows,
            scan.highs,
        )
        step = np.array(seconds, dtype=np.int64) * 1_000_000
        est, lst = np.array(est_list, dtype=np.int64), np.array(lst_list, dtype=np.int64)
        has_tec = np.array(has_tec_list, dtype=np.bool_)
        tec_lo, tec_hi = np.array(tec_lo_list, dtype=np.float64), np.array(tec_hi_list, dtype=np.float64)
        all_count = np.array(counts, dtype=np.int64)
        durations = np.array(mins, dtype=np.int64)
        good = (durations == np.array(maxs, dtype=np.int64)) & (durations >= 1)
        good &= np.array(n_constraints, dtype=np.int64) == 1
        all_offer = np.repeat(np.arange(n, dtype=np.int64), all_count)
        fixed = np.bincount(all_offer, weights=~good, minlength=n) == 0
        keep = fixed[all_offer]
        slice_lower = np.array(lows, dtype=np.float64)[keep]
        slice_upper = np.array(highs, dtype=np.float64)[keep]
        slice_duration = durations[keep]
        slice_count = np.where(fixed, all_count, 0)
        slice_first = np.zeros(n, dtype=np.int64)
        np.cumsum(slice_count[:-1], out=slice_first[1:])
        slice_offer = np.repeat(np.arange(n, dtype=np.int64), slice_count)
        n_intervals = np.bincount(slice_offer, weights=slice_duration, minlength=n).astype(np.int64)
        first = np.zeros(n, dtype=np.int64)
        np.cumsum(n_intervals[:-1], out=first[1:])
        return cls(
            offers=offers,
            ids=scan.ids,
            fixed=fixed,
            step_us=step,
            est_us=est,
            lst_us=lst,
            deadlines_us=np.array(scan.deadlines, dtype=np.int64).reshape(n, 3),
            anchor_us=_anchors(offers, est, lst, step),
            has_tec=has_tec,
            tec_lo=tec_lo,
            tec_hi=tec_hi,
            first=first,
            n_intervals=n_intervals,
            lower=np.repeat(slice_lower / slice_duration, slice_duration),
            upper=np.repeat(slice_upper / slice_duration, slice_duration),
            slice_first=slice_first,
            slice_count=slice_count,
            slice_lower=slice_lower,
            slice_upper=slice_upper,
            slice_duration=slice_duration,
        )

    def __len__(self) -> int:
        return len(self.offers)

    def take(self, rows: Ints, offers: Sequence[FlexOffer] | None = None) -> OfferTable:
        """The table of the given rows, in that order (``offers``: the same offers, if the caller has them)."""
        intervals = ranges(self.first[rows], self.n_intervals[rows])
        slices = ranges(self.slice_first[rows], self.slice_count[rows])
        return OfferTable(
            offers=gather(self.offers, rows) if offers is None else offers,
            ids=gather(self.ids, rows),
            fixed=self.fixed[rows],
            step_us=self.step_us[rows],
            est_us=self.est_us[rows],
            lst_us=self.lst_us[rows],
            deadlines_us=self.deadlines_us[rows],
            anchor_us=self.anchor_us[rows],
            has_tec=self.has_tec[rows],
            tec_lo=self.tec_lo[rows],
            tec_hi=self.tec_hi[rows],
            first=starts_of(self.n_intervals[rows]),
            n_intervals=self.n_intervals[rows],
            lower=self.lower[intervals],
            upper=self.upper[intervals],
            slice_first=starts_of(self.slice_count[rows]),
            slice_count=self.slice_count[rows],
            slice_lower=self.slice_lower[slices],
            slice_upper=self.slice_upper[slices],
            slice_duration=self.slice_duration[slices],
        )

    @property
    def interval_offer(self) -> Ints:
        """Row of the offer each flat interval belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.n_intervals)

    @property
    def slice_offer(self) -> Ints:
        """Row of the offer each flat slice belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.slice_count)

    @property
    def tf_intervals(self) -> Ints:
        """Time flexibility ``(LST - EST) // step`` [intervals]."""
        return (self.lst_us - self.est_us) // self.step_us


@dataclass(frozen=True, slots=True, eq=False)
class Bounds:
    """Per-offer totals and per-interval bounds derived from an :class:`OfferTable` (see module docstring).

    Attributes:
        total_lo, total_hi: effective total per offer [kWh].
        tight_lo, tight_hi: TEC-tightened per-interval bounds, flat [kWh].
        binding: per offer, its TEC binds beyond the tightened bounds.
        box_lo, box_hi: the inner box, flat [kWh] (the tightened bounds where the TEC does not bind).
        negative_lower, positive_upper: per offer, some raw lower bound < 0 / some raw upper bound > 0.
    """

    total_lo: Floats
    total_hi: Floats
    tight_lo: Floats
    tight_hi: Floats
    binding: Bools
    box_lo: Floats
    box_hi: Floats
    negative_lower: Bools
    positive_upper: Bools


def take_bounds(bounds: Bounds, table: OfferTable, rows: Ints) -> Bounds:
    """The bounds of the given rows of ``table`` (which ``bounds`` were derived from), in that order."""
    intervals = ranges(table.first[rows], table.n_intervals[rows])
    return Bounds(
        total_lo=bounds.total_lo[rows],
        total_hi=bounds.total_hi[rows],
        tight_lo=bounds.tight_lo[intervals],
        tight_hi=bounds.tight_hi[intervals],
        binding=bounds.binding[rows],
        box_lo=bounds.box_lo[intervals],
        box_hi=bounds.box_hi[intervals],
        negative_lower=bounds.negative_lower[rows],
        positive_upper=bounds.positive_upper[rows],
    )


def derive_bounds(table: OfferTable) -> Bounds:
    """Effective totals, TEC-tightened bounds, binding flags and inner boxes of every offer in ``table``."""
    n, idx = len(table), table.interval_offer
    low, high = table.lower, table.upper
    sum_lo, sum_hi = segment_sum(idx, low, n), segment_sum(idx, high, n)
    total_lo = np.where(table.has_tec, np.maximum(sum_lo, table.tec_lo), sum_lo)
    total_hi = np.where(table.has_tec, np.minimum(sum_hi, table.tec_hi), sum_hi)
    crossed = total_lo > total_hi  # a TEC touching the slice range within the validation slack; float rounding
    middle = (total_lo + total_hi) / 2
    total_lo, total_hi = np.where(crossed, middle, total_lo), np.where(crossed, middle, total_hi)
    tight_lo = np.minimum(high, np.maximum(low, total_lo[idx] - (sum_hi[idx] - high)))
    # max(tight_lo, ...): float rounding of the sums must not cross the bounds.
    tight_hi = np.maximum(tight_lo, np.minimum(high, total_hi[idx] - (sum_lo[idx] - low)))
    t_lo, t_hi = segment_sum(idx, tight_lo, n), segment_sum(idx, tight_hi, n)
    below = t_lo < total_lo - ENERGY_TOLERANCE_KWH
    above = t_hi > total_hi + ENERGY_TOLERANCE_KWH
    binding = table.has_tec & (below | above)
    width = np.where(binding, t_hi - t_lo, 1.0)  # binding implies t_hi > t_lo
    p = np.where(binding & below, (total_lo - t_lo) / width, 0.0).clip(0.0, 1.0)
    q = np.where(binding & above, (total_hi - t_lo) / width, 1.0).clip(0.0, 1.0)
    span = tight_hi - tight_lo
    box_lo = np.where(binding[idx], tight_lo + p[idx] * span, tight_lo)
    box_hi = np.where(binding[idx], np.maximum(box_lo, tight_lo + q[idx] * span), tight_hi)
    return Bounds(
        total_lo=total_lo,
        total_hi=total_hi,
        tight_lo=tight_lo,
        tight_hi=tight_hi,
        binding=binding,
        box_lo=box_lo,
        box_hi=box_hi,
        negative_lower=np.bincount(idx, weights=low < 0, minlength=n) > 0,
        positive_upper=np.bincount(idx, weights=high > 0, minlength=n) > 0,
    )
