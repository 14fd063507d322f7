"""The database side of ingest: one batch of received messages -> history, process database, dead letters.

Synchronous (SQLAlchemy Core through :mod:`goflex.store`); the service runs :meth:`Writer.commit` in a worker
thread so the MQTT loop keeps reading. A batch either commits completely or raises
:class:`goflex.store.StoreUnavailable` and is retried as a whole, so every step is idempotent:

* history rows: ``write_batch`` is idempotent on (endpoint, sequence, item);
* last values, models, online/offline: the store keeps the newest by time;
* dead letters are not idempotent in the store, so the writer remembers which entries it already wrote and skips
  them on a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from goflex.cloudio.errors import RejectReason
from goflex.cloudio.messages import encode_endpoint
from goflex.ingest.ledger import Range
from goflex.ingest.validation import Presence, Rejection, Verdict
from goflex.store import (
    DeadLetterRepository,
    HistoryRepository,
    HistoryRow,
    LastValue,
    ProcessRepository,
    Quality,
    StoreError,
    StoreUnavailable,
    ValueType,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One received MQTT message with its verdict.

    Attributes:
        number: a counter unique within the service (identifies the entry across retries).
        topic: the MQTT topic.
        payload: the raw payload (kept for dead letters).
        verdict: what validation made of it.
        seq: the goflex sequence number (user property), None for plain cloud.iO endpoints.
        retained: delivered as a retained message (an old ``@online``: its model counts, not its presence).
        at: when it was received [epoch s].
    """

    number: int
    topic: str
    payload: bytes
    verdict: Verdict
    seq: int | None
    retained: bool
    at: float

    @property
    def rows(self) -> int:
        """Weight in the pending buffer: its values, at least 1 (models, presence and dead letters cost too)."""
        return max(1, len(self.verdict.items))


@dataclass(frozen=True)
class Seed:
    """What the database knows of an endpoint's sequence numbers (to start the ledger after a restart)."""

    highest: int | None
    missing: tuple[Range, ...]


@dataclass(frozen=True)
class Committed:
    """Result of a committed batch.

    Attributes:
        stored: history rows newly written.
        duplicates: history rows that were already stored.
        seqs: per endpoint, the sequence numbers now safely in the database (to acknowledge).
        seeds: ledger seeds read for endpoints the caller asked about.
        refused: messages whose values the store refused (dead-lettered instead).
    """

    stored: int
    duplicates: int
    seqs: dict[str, list[int]] = field(default_factory=dict)
    seeds: dict[str, Seed] = field(default_factory=dict)
    refused: int = 0


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class Writer:
    """Writes batches of :class:`Received` entries (one call at a time, from a worker thread).

    Args:
        history: the history repository.
        process: the process repository.
        dead_letters: the dead-letter repository.
        lookback: how far below the highest stored sequence number a seed looks for gaps.
    """

    def __init__(
        self,
        history: HistoryRepository,
        process: ProcessRepository,
        dead_letters: DeadLetterRepository,
        *,
        lookback: int = 100_000,
    ) -> None:
        self._history = history
        self._process = process
        self._dead = dead_letters
        self._lookback = lookback
        self._dead_lettered: set[int] = set()

    def commit(self, batch: Sequence[Received], *, seed: Iterable[str] = ()) -> Committed:
        """Write one batch; on :class:`StoreUnavailable` nothing needs undoing, call again with the same batch.

        Args:
            batch: the entries, in arrival order.
            seed: endpoints whose ledger the caller has not loaded yet.

        Raises:
            StoreUnavailable: the database is down; retry later.
        """
        # Seeds read the ledger as it was before this batch: for an endpoint seen for the first time that is
        # usually nothing, and costs one query for all of them (read after the write, every new endpoint had
        # rows and needed a gap query of its own: 18 % of ingest's time with 3,000 gateways).
        seeds = self.seeds(seed)
        self._write_dead_letters(batch)
        self._write_models(batch)
        rows: list[HistoryRow] = []
        last: list[LastValue] = []
        seqs: dict[str, list[int]] = {}
        for entry in batch:
            verdict = entry.verdict
            if entry.seq is not None and verdict.endpoint is not None and verdict.action is not None:
                seqs.setdefault(verdict.endpoint, []).append(entry.seq)
            for item in verdict.items:
                when = _utc(item.timestamp)
                kind = ValueType(item.type.value)
                path = str(item.path)  # the history key: endpoint/node/object.../attribute (short form)
                rows.append(
                    HistoryRow(item.path.endpoint, path, when, item.value, Quality.GOOD, entry.seq, item.index, kind)
                )
                # The process database keys last values below the endpoint.
                last.append(LastValue(item.path.endpoint, path.split("/", 1)[1], when, item.value, kind))
        result = self._history.write_batch(rows)
        if last:
            self._process.update_last_values(last)
        self._dead_lettered.difference_update(e.number for e in batch)
        return Committed(result.stored, result.duplicates, seqs, seeds)

    def commit_isolating(self, batch: Sequence[Received], *, seed: Iterable[str] = ()) -> Committed:
        """Like :meth:`commit`; if the store refuses the batch for a reason other than unavailability (a value
        the cloud.iO checks let through but the database cannot keep), write the messages one by one and
        dead-letter the refused ones (they are acknowledged: re-sending would fail the same way).

        Raises:
            StoreUnavailable: the database is down; retry later.
        """
        names = list(seed)
        try:
            return self.commit(batch, seed=names)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("ingest: the store refused a batch (%s); writing its messages one by one", exc)
        parts: list[Committed] = []
        refused = 0
        for entry in batch:
            try:
                parts.append(self.commit([entry], seed=names))
            except StoreUnavailable:
                raise
            except StoreError as exc:
                rejection = Rejection(RejectReason.CONSTRAINT, f"the store refused it: {exc}")
                verdict = replace(entry.verdict, items=(), rejections=(*entry.verdict.rejections, rejection))
                parts.append(self.commit([replace(entry, verdict=verdict)], seed=names))
                refused += 1
            names = []
        seqs: dict[str, list[int]] = {}
        for part in parts:
            for name, numbers in part.seqs.items():
                seqs.setdefault(name, []).extend(numbers)
        seeds = {name: found for part in parts for name, found in part.seeds.items()}
        return Committed(sum(p.stored for p in parts), sum(p.duplicates for p in parts), seqs, seeds, refused)

    def seeds(self, endpoints: Iterable[str]) -> dict[str, Seed]:
        """:meth:`seed` for many endpoints: one query for all highest numbers, gap queries only where needed."""
        names = list(endpoints)
        highest = self._history.ledger_max_many(names)
        out: dict[str, Seed] = {}
        for name in names:
            top = highest.get(name)
            if top is None:
                out[name] = Seed(None, ())
            else:
                lo = max(1, top - self._lookback)
                out[name] = Seed(top, tuple(self._history.missing_ranges(name, lo, top)))
        return out

    def seed(self, endpoint: str) -> Seed:
        """Read the stored ledger of ``endpoint`` (highest number and gaps within the lookback)."""
        highest = self._history.ledger_max(endpoint)
        if highest is None:
            return Seed(None, ())
        lo = max(1, highest - self._lookback)
        return Seed(highest, tuple(self._history.missing_ranges(endpoint, lo, highest)))

    def missing(self, endpoint: str, ranges: Sequence[Range]) -> tuple[Range, ...]:
        """Which of ``ranges`` are still missing in the database (another worker may have stored them)."""
        out: list[Range] = []
        for lo, hi in ranges:
            out.extend(self._history.missing_ranges(endpoint, lo, hi))
        return tuple(out)

    def _write_dead_letters(self, batch: Sequence[Received]) -> None:
        for entry in batch:
            if not entry.verdict.rejections or entry.number in self._dead_lettered:
                continue
            for rejection in entry.verdict.rejections:
                where = "" if rejection.index is None else f"item {rejection.index}: "
                seq = "" if entry.seq is None else f" (seq {entry.seq})"
                self._dead.add(
                    entry.verdict.endpoint,
                    entry.topic,
                    entry.payload,
                    rejection.reason.value,
                    f"{where}{rejection.detail}{seq}",
                    _utc(entry.at),
                )
            # Remembered per entry: a retry after a later step failed must not add the same dead letters twice.
            self._dead_lettered.add(entry.number)

    def _write_models(self, batch: Sequence[Received]) -> None:
        models: list[tuple[str, str, datetime]] = []
        presence: list[tuple[str, datetime, bool]] = []
        for entry in batch:
            verdict = entry.verdict
            if verdict.endpoint is None:
                continue
            at = _utc(entry.at)
            if verdict.model is not None:
                models.append((verdict.endpoint, encode_endpoint(verdict.model).decode(), at))
            # A retained @online is an old event (delivered at subscribe time): the endpoint may have gone offline
            # since, so only its model is taken.
            if verdict.presence is Presence.ONLINE and not entry.retained:
                presence.append((verdict.endpoint, at, True))
            elif verdict.presence is Presence.OFFLINE:
                presence.append((verdict.endpoint, at, False))
        self._process.record_events(models, presence)
