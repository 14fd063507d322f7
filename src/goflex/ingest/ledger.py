"""Per-endpoint sequence ledger: which sequence numbers are stored, which are missing, when to ask for them.

Pure (no I/O): the ingest service feeds it the sequence numbers of *committed* messages and asks it which gaps
are due for a resend request. It implements the goflex reliability protocol (docs/dev/interfaces.md): every data
message of a goflex endpoint carries a per-endpoint sequence number; a number below the highest stored one that is
still absent after a grace period is a gap, and the endpoint's outbox is asked to re-send it (reliability.md R2:
a broker's PUBACK is not storage, a crashed broker loses its queue).

Representation: for each endpoint a ``floor`` (every number ``<= floor`` is settled: stored, or out of the
bounded lookback), the ``highest`` stored number, and the sorted, disjoint list of missing ranges in
``(floor, highest]``. The stored set is the complement of the gaps, so memory grows with the number of gaps,
not with the number of messages. Both the number of gaps and the lookback are bounded: beyond them the oldest
gaps are abandoned (and counted), because the gateway's outbox also re-sends what stays unacknowledged.

Several ingest workers share an MQTT 5 subscription, so one worker sees only part of an endpoint's messages:
a gap in one worker's ledger may have been stored by another. The service therefore checks due gaps against
the database before asking (:meth:`Ledger.confirm`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

Range = tuple[int, int]
"""An inclusive range of sequence numbers ``(lo, hi)``, ``lo <= hi``."""


def to_ranges(seqs: Iterable[int]) -> tuple[Range, ...]:
    """Compress sequence numbers into sorted, disjoint, inclusive ranges (duplicates collapse).

    >>> to_ranges([5, 1, 2, 3, 3, 7])
    ((1, 3), (5, 5), (7, 7))
    """
    ranges: list[Range] = []
    for seq in sorted(set(seqs)):
        if ranges and ranges[-1][1] + 1 == seq:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return tuple(ranges)


def range_count(ranges: Iterable[Range]) -> int:
    """Number of sequence numbers in ``ranges``."""
    return sum(hi - lo + 1 for lo, hi in ranges)


def subtract(ranges: Sequence[Range], remove: Sequence[Range]) -> tuple[Range, ...]:
    """``ranges`` minus ``remove``; both sorted and disjoint."""
    out: list[Range] = []
    j = 0
    for lo, hi in ranges:
        cur = lo
        while j < len(remove) and remove[j][1] < cur:
            j += 1
        k = j
        while k < len(remove) and remove[k][0] <= hi and cur <= hi:
            rlo, rhi = remove[k]
            if rlo > cur:
                out.append((cur, rlo - 1))
            cur = max(cur, rhi + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


@dataclass(frozen=True)
class Gap:
    """Missing sequence numbers ``lo..hi`` (inclusive), noticed at ``since`` [epoch s].

    ``requested`` is when a resend was last asked for [epoch s], ``None`` before the first request;
    ``requests`` how many times it was asked for.
    """

    lo: int
    hi: int
    since: float
    requested: float | None = None
    requests: int = 0


@dataclass
class EndpointLedger:
    """The ledger of one endpoint (mutable; owned by :class:`Ledger`)."""

    floor: int
    highest: int
    gaps: list[Gap] = field(default_factory=list)

    def missing(self) -> tuple[Range, ...]:
        return tuple((g.lo, g.hi) for g in self.gaps)

    def stored(self) -> tuple[Range, ...]:
        """Stored ranges in ``(floor, highest]``."""
        if self.highest <= self.floor:
            return ()
        return subtract(((self.floor + 1, self.highest),), self.missing())

    def _find(self, seq: int) -> int:
        """Index of the gap containing ``seq``, or -1."""
        i = bisect.bisect_right([g.lo for g in self.gaps], seq) - 1
        if i >= 0 and self.gaps[i].hi >= seq:
            return i
        return -1

    def record(self, seq: int, now: float) -> bool:
        """Mark ``seq`` stored; return False if it was already known as stored (a duplicate)."""
        if seq <= self.floor:
            return False
        if seq > self.highest:
            if seq > self.highest + 1:
                self.gaps.append(Gap(self.highest + 1, seq - 1, now))
            self.highest = seq
            return True
        i = self._find(seq)
        if i < 0:
            return False
        gap = self.gaps.pop(i)
        parts = [replace(gap, hi=seq - 1)] if gap.lo < seq else []
        if seq < gap.hi:
            parts.append(replace(gap, lo=seq + 1))
        self.gaps[i:i] = parts
        return True

    def settle(self, ranges: Sequence[Range]) -> int:
        """Remove ``ranges`` (sorted, disjoint) from the gaps; return how many missing numbers that settled."""
        before = range_count(self.missing())
        out: list[Gap] = []
        for gap in self.gaps:
            out.extend(replace(gap, lo=lo, hi=hi) for lo, hi in subtract(((gap.lo, gap.hi),), ranges))
        self.gaps = out
        return before - range_count(self.missing())

    def raise_floor(self, floor: int) -> int:
        """Settle everything ``<= floor``; return how many missing numbers were abandoned."""
        if floor <= self.floor:
            return 0
        abandoned = 0
        kept: list[Gap] = []
        for gap in self.gaps:
            if gap.hi <= floor:
                abandoned += gap.hi - gap.lo + 1
            elif gap.lo <= floor:
                abandoned += floor - gap.lo + 1
                kept.append(replace(gap, lo=floor + 1))
            else:
                kept.append(gap)
        self.gaps = kept
        self.floor = floor
        self.highest = max(self.highest, floor)
        return abandoned


@dataclass(frozen=True)
class Recorded:
    """What :meth:`Ledger.record` learnt: new numbers, numbers already stored, numbers abandoned by the bounds."""

    new: int
    duplicates: int
    abandoned: int


class Ledger:
    """Sequence ledgers of all endpoints one ingest worker has seen.

    Args:
        grace_s: a missing number is asked for once it has been missing this long [s].
        retry_s: interval between repeated requests for the same gap [s].
        max_gaps: gaps kept per endpoint; beyond it the oldest are abandoned.
        lookback: how far below the highest stored number gaps are tracked [sequence numbers].
        max_request: most sequence numbers asked for per endpoint in one request (the outbox re-sends at a
            capped rate anyway; asking for more only floods it).
        max_requests: how often one gap is asked for before it is abandoned.
    """

    def __init__(
        self,
        *,
        grace_s: float = 10.0,
        retry_s: float | None = None,
        max_gaps: int = 1000,
        lookback: int = 1_000_000,
        max_request: int = 10_000,
        max_requests: int = 10,
    ) -> None:
        self.grace_s = grace_s
        self.retry_s = retry_s if retry_s is not None else max(grace_s, 1.0) * 3
        self.max_gaps = max_gaps
        self.lookback = lookback
        self.max_request = max_request
        self.max_requests = max_requests
        self._endpoints: dict[str, EndpointLedger] = {}
        self.abandoned_total = 0

    def __contains__(self, endpoint: str) -> bool:
        return endpoint in self._endpoints

    def __iter__(self) -> Iterator[str]:
        return iter(self._endpoints)

    def get(self, endpoint: str) -> EndpointLedger | None:
        return self._endpoints.get(endpoint)

    def seed(self, endpoint: str, *, highest: int | None, missing: Sequence[Range], now: float) -> None:
        """Start an endpoint's ledger from what the database knows (first sight after a restart).

        Args:
            endpoint: endpoint name.
            highest: highest stored sequence number, ``None`` if the database has none for it.
            missing: missing ranges below ``highest`` within the lookback (sorted, disjoint).
            now: current time [epoch s]; the seeded gaps count their grace from it.
        """
        top = highest if highest is not None else 0
        floor = max(0, top - self.lookback)
        state = EndpointLedger(floor=floor, highest=max(top, floor))
        for first, last in missing:
            lo, hi = max(first, floor + 1), min(last, state.highest)
            if lo <= hi:
                state.gaps.append(Gap(lo, hi, now))
        self._endpoints[endpoint] = state
        self._bound(state)

    def forget(self, endpoint: str) -> None:
        self._endpoints.pop(endpoint, None)

    def record(self, endpoint: str, seqs: Iterable[int], now: float) -> Recorded:
        """Mark committed sequence numbers of ``endpoint`` stored (an unseeded endpoint starts at floor 0)."""
        state = self._endpoints.get(endpoint)
        if state is None:
            state = self._endpoints[endpoint] = EndpointLedger(floor=0, highest=0)
        new = duplicates = 0
        for seq in sorted(seqs):
            if state.record(seq, now):
                new += 1
            else:
                duplicates += 1
        abandoned = self._bound(state)
        return Recorded(new, duplicates, abandoned)

    def _bound(self, state: EndpointLedger) -> int:
        abandoned = 0
        if state.highest - state.floor > self.lookback:
            abandoned += state.raise_floor(state.highest - self.lookback)
        if len(state.gaps) > self.max_gaps:
            abandoned += state.raise_floor(state.gaps[len(state.gaps) - self.max_gaps - 1].hi)
        self.abandoned_total += abandoned
        return abandoned

    def due(self, endpoint: str, now: float) -> tuple[Range, ...]:
        """Gaps of ``endpoint`` missing for at least the grace period and not asked for recently."""
        state = self._endpoints.get(endpoint)
        if state is None:
            return ()
        out: list[Range] = []
        budget = self.max_request
        for gap in state.gaps:
            if budget <= 0:
                break
            if now - gap.since < self.grace_s:
                continue
            if gap.requested is not None and now - gap.requested < self.retry_s:
                continue
            hi = min(gap.hi, gap.lo + budget - 1)
            out.append((gap.lo, hi))
            budget -= hi - gap.lo + 1
        return tuple(out)

    def endpoints_with_gaps(self) -> list[str]:
        return [name for name, state in self._endpoints.items() if state.gaps]

    def open_gaps(self) -> int:
        """Number of missing sequence numbers over all endpoints."""
        return sum(range_count(state.missing()) for state in self._endpoints.values())

    def confirm(self, endpoint: str, checked: Sequence[Range], missing: Sequence[Range], now: float) -> None:
        """Apply a database check of ``checked`` ranges: ``missing`` are still absent, the rest are stored.

        The still-missing numbers are marked requested at ``now`` (the caller asks for them); the others were
        stored by another worker and leave the ledger.
        """
        state = self._endpoints.get(endpoint)
        if state is None:
            return
        state.settle(subtract(to_ranges_sorted(checked), to_ranges_sorted(missing)))
        self.mark_requested(endpoint, missing, now)

    def mark_requested(self, endpoint: str, ranges: Sequence[Range], now: float) -> None:
        """Remember that a resend of ``ranges`` was asked for at ``now`` (splitting gaps where needed)."""
        state = self._endpoints.get(endpoint)
        if state is None or not ranges:
            return
        asked = to_ranges_sorted(ranges)
        out: list[Gap] = []
        for gap in state.gaps:
            inside = [(max(lo, gap.lo), min(hi, gap.hi)) for lo, hi in asked if lo <= gap.hi and hi >= gap.lo]
            if not inside:
                out.append(gap)
                continue
            outside = subtract(((gap.lo, gap.hi),), inside)
            pieces = [replace(gap, lo=lo, hi=hi) for lo, hi in outside]
            pieces += [replace(gap, lo=lo, hi=hi, requested=now, requests=gap.requests + 1) for lo, hi in inside]
            out.extend(sorted(pieces, key=lambda g: g.lo))
        # A gap asked for max_requests times without an answer is not in the outbox any more (dropped at its cap,
        # or the gateway was replaced): stop asking, count it abandoned.
        kept = [g for g in out if g.requests < self.max_requests]
        self.abandoned_total += range_count((g.lo, g.hi) for g in out if g.requests >= self.max_requests)
        state.gaps = kept


def to_ranges_sorted(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Normalise ranges: sorted, merged where they overlap or touch."""
    out: list[Range] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)
