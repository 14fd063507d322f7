"""R1 and R2 (reliability.md): the broker restarts, or is killed with ``kill -9``, while several gateways publish.

What a user (the DSO) notices: every value every gateway measured is in the history exactly once, the gateways
reconnect by themselves, and their outboxes empty. Real Mosquitto (rendered production configuration, TLS client
certificates), the endpoint SDK with its durable SQLite outbox, the ingest service on PostgreSQL and SQLite.

"Ledger exact": for each endpoint the sequence numbers in ``ingest_ledger`` are exactly ``1..N`` where ``N`` is
the last sequence number its outbox issued (every message it created), the stored values are the published ones,
and no value is stored twice (history rows = distinct ``(attribute, seq, item)``).

Each test prints its figures (messages, time to reconnect, time to back-fill); run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from goflex.cloudio.endpoint_client import Endpoint
from goflex.common import RealClock
from goflex.ingest.service import HealthStatus, IngestService
from goflex.store import Database, HistoryRepository, open_database
from goflex.store.schema import attribute, history
from tests.integration.mosquitto import MosquittoBroker
from tests.integration.test_ingest import FAR_FUTURE, FAR_PAST, eventually, model_for, power, unique

pytestmark = [pytest.mark.fault, pytest.mark.mosquitto, pytest.mark.slow]

ENDPOINTS = 4
RATE_PER_ENDPOINT_HZ = 75.0  # 4 x 75 = 300 messages/s in total
LOAD_S = 6.0  # how long the gateways publish [s]
FAULT_AT_S = 2.0  # when the broker is restarted or killed, after the load started [s]
KILLED_FOR_S = 1.5  # R2: how long the broker stays dead [s]
RESEND_AFTER_S = 2.0  # outbox: re-send what stays unconfirmed this long [s]
GAP_GRACE_S = 1.0  # ingest: ask for a missing sequence number after this [s]
RECONNECT_LIMIT_S = 30.0  # R1
BACKFILL_LIMIT_S = 60.0  # R2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'goflex.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    database = open_database(url)
    database.migrate()
    yield database
    database.close()


@dataclass
class Gateway:
    """One endpoint under load and what it published: sequence number -> value."""

    endpoint: Endpoint
    published: dict[int, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.endpoint.name

    def reconnected(self) -> bool:
        return self.endpoint.connected and self.endpoint.stats().reconnects >= 1

    async def publish(self, rate_hz: float, duration_s: float) -> None:
        """Publish ``rate_hz`` updates per second for ``duration_s``, whether the broker is up or not."""
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < duration_s:
            while len(self.published) < int(elapsed * rate_hz) + 1:
                value = float(len(self.published))
                seq = self.endpoint.update(power(self.name), value)
                self.published[seq] = value
            await asyncio.sleep(0.01)


@dataclass
class Fleet:
    gateways: list[Gateway]
    ingest: IngestService

    @property
    def messages(self) -> int:
        return sum(len(g.published) for g in self.gateways)

    def outboxes_empty(self) -> bool:
        return all(g.endpoint.outbox.pending_count == 0 for g in self.gateways)

    def all_reconnected(self) -> bool:
        return all(g.reconnected() for g in self.gateways)

    def requested(self) -> float:
        """Sequence numbers ingest asked the gateways to re-send (gap back-fill)."""
        return self.ingest.metrics.registry.get_sample_value("goflex_ingest_resend_requested_total") or 0.0

    def resent(self) -> int:
        return sum(g.endpoint.stats().resent for g in self.gateways)


def make_ingest(broker: MosquittoBroker, db: Database) -> IngestService:
    ca = broker.ca
    return IngestService(
        db=db,
        broker=f"mqtts://{broker.host}:{broker.port}",
        ca_file=ca.ca_cert_path,
        cert_file=ca.cert_path("ingest"),
        key_file=ca.key_path("ingest"),
        clock=RealClock(),
        flush_interval_s=0.05,
        gap_grace_s=GAP_GRACE_S,
    )


def make_endpoint(broker: MosquittoBroker, name: str, outbox: Path) -> Endpoint:
    broker.issue(name)
    return Endpoint(
        model_for(name),
        broker=f"mqtts://{broker.host}:{broker.port}",
        ca_file=broker.ca.ca_cert_path,
        cert_file=broker.ca.cert_path(name),
        key_file=broker.ca.key_path(name),
        outbox_path=outbox,
        clock=RealClock(),
        resend_after_s=RESEND_AFTER_S,
        # Production reconnect backoff (1 s base, 60 s cap, full jitter) and back-fill rate (50 messages/s).
    )


@contextlib.asynccontextmanager
async def fleet(broker: MosquittoBroker, db: Database, tmp_path: Path) -> AsyncIterator[Fleet]:
    async with contextlib.AsyncExitStack() as stack:
        ingest = await stack.enter_async_context(make_ingest(broker, db))
        gateways = []
        for _ in range(ENDPOINTS):
            name = unique("goflex-dc")
            endpoint = await stack.enter_async_context(make_endpoint(broker, name, tmp_path / f"{name}.outbox"))
            gateways.append(Gateway(endpoint))
        for gateway in gateways:
            await gateway.endpoint.wait_connected(10)
        yield Fleet(gateways, ingest)


@dataclass
class Timeline:
    """When things happened, ``time.monotonic()`` [s]; filled in while the test runs."""

    fault: float | None = None  # the broker restart or kill began
    up: float | None = None  # the broker listens again
    load_end: float | None = None  # the gateways stopped measuring
    drained: float | None = None  # every outbox is empty: ingest confirmed every message
    reconnected: float | None = None  # every gateway is connected again (and has re-sent @online)
    first_request: float | None = None  # ingest first asked a gateway to re-send a gap
    peak_gaps: int = 0  # most missing sequence numbers ingest tracked at once

    @property
    def outage_s(self) -> float:
        """From the restart or kill until the broker listened again [s]."""
        assert self.fault is not None
        return self.since_up(self.fault) * -1

    @property
    def drain_after_load_s(self) -> float:
        """From the end of the load until every outbox was empty [s]."""
        assert self.load_end is not None
        assert self.drained is not None
        return self.drained - self.load_end

    def since_up(self, at: float | None) -> float:
        assert self.up is not None
        assert at is not None
        return at - self.up


async def watch(fleet: Fleet, timeline: Timeline) -> None:
    while True:
        now = time.monotonic()
        timeline.peak_gaps = max(timeline.peak_gaps, fleet.ingest.ledger.open_gaps())
        if timeline.up is not None and timeline.reconnected is None and fleet.all_reconnected():
            timeline.reconnected = now
        if timeline.first_request is None and fleet.requested() > 0:
            timeline.first_request = now
        await asyncio.sleep(0.02)


async def under_load(fleet: Fleet, fault: Callable[[Timeline], Awaitable[None]]) -> Timeline:
    """Run the load on every gateway, inject ``fault`` ``FAULT_AT_S`` into it, wait until every outbox is empty."""
    timeline = Timeline()

    async def inject() -> None:
        await asyncio.sleep(FAULT_AT_S)
        timeline.fault = time.monotonic()
        await fault(timeline)
        timeline.up = time.monotonic()

    watcher = asyncio.create_task(watch(fleet, timeline))
    try:
        await asyncio.gather(*(g.publish(RATE_PER_ENDPOINT_HZ, LOAD_S) for g in fleet.gateways), inject())
        timeline.load_end = time.monotonic()
        await eventually(
            lambda: timeline.reconnected is not None, timeout_s=RECONNECT_LIMIT_S, what="every gateway reconnected"
        )
        await eventually(fleet.outboxes_empty, timeout_s=BACKFILL_LIMIT_S, what="every outbox confirmed (@ack)")
        timeline.drained = time.monotonic()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    await eventually(lambda: fleet.ingest.health().status is HealthStatus.OK, what="ingest healthy")
    for gateway in fleet.gateways:
        assert gateway.endpoint.stats().dropped == 0, "the outbox dropped messages at a cap"
    return timeline


def assert_ledger_exact(db: Database, fleet: Fleet) -> None:
    history_repo = HistoryRepository(db)
    for gateway in fleet.gateways:
        last = max(gateway.published)
        assert sorted(gateway.published) == list(range(1, last + 1)), "the outbox numbers every message"
        stored = history_repo.ledger_seqs(gateway.name, 1, last + 1_000)
        missing = sorted(set(gateway.published) - set(stored))
        assert stored == list(range(1, last + 1)), f"{gateway.name}: missing {missing[:20]}, or extra"
        points = history_repo.query(gateway.name, str(power(gateway.name)), FAR_PAST, FAR_FUTURE)
        assert sorted(float(p.value) for p in points) == sorted(gateway.published.values())
    names = [g.name for g in fleet.gateways]
    rows, distinct = stored_rows(db, names)
    assert rows == distinct == fleet.messages, "a value stored twice, or one missing"


def stored_rows(db: Database, names: list[str]) -> tuple[int, int]:
    """History rows of these endpoints, and distinct (attribute, seq, item) among them."""
    joined = history.join(attribute, history.c.attribute_id == attribute.c.id)
    mine = attribute.c.endpoint.in_(names)
    keys = sa.select(history.c.attribute_id, history.c.seq, history.c.item).select_from(joined).where(mine)
    with db.transaction() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(joined).where(mine))
        distinct = conn.scalar(sa.select(sa.func.count()).select_from(keys.distinct().subquery()))
    return int(rows or 0), int(distinct or 0)


# ------------------------------------------------------------------------------------------------------- R1
async def test_r1_graceful_restart_under_load_ledger_exact(
    private_mosquitto: MosquittoBroker, db: Database, tmp_path: Path
) -> None:
    broker = private_mosquitto

    async def restart(_: Timeline) -> None:
        await asyncio.to_thread(broker.restart)  # SIGTERM (Mosquitto saves its state), then start again

    async with fleet(broker, db, tmp_path) as f:
        t = await under_load(f, restart)
        resent, requested = f.resent(), f.requested()
    assert t.fault is not None
    assert t.reconnected is not None
    assert t.reconnected - t.fault <= RECONNECT_LIMIT_S
    assert_ledger_exact(db, f)
    print(
        f"\nR1 {db.engine.dialect.name}: {f.messages} messages from {ENDPOINTS} endpoints in {LOAD_S:.0f} s;"
        f" restart took {t.outage_s:.2f} s; all reconnected {t.since_up(t.reconnected):.2f} s after it;"
        f" outboxes empty {t.since_up(t.drained):.2f} s after it ({t.drain_after_load_s:.2f} s after the load"
        f" ended); gaps peak {t.peak_gaps}, re-sent {resent}, asked for by ingest {requested:.0f}"
    )


# ------------------------------------------------------------------------------------------------------- R2
async def test_r2_kill9_under_load_gaps_backfilled_ledger_exact(
    private_mosquitto: MosquittoBroker, db: Database, tmp_path: Path
) -> None:
    broker = private_mosquitto

    async def kill_and_start(_: Timeline) -> None:
        await asyncio.to_thread(broker.kill9)  # its queues and in-flight messages are gone (reliability.md)
        await asyncio.sleep(KILLED_FOR_S)  # the gateways keep measuring into their outboxes
        await asyncio.to_thread(broker.start)

    async with fleet(broker, db, tmp_path) as f:
        t = await under_load(f, kill_and_start)
        resent, requested = f.resent(), f.requested()
    # Gaps: messages the dead broker had confirmed (PUBACK) but never delivered, and those published before
    # ingest had subscribed again. Ingest saw them, asked for them, and the outboxes re-sent them.
    assert t.peak_gaps > 0
    assert requested > 0
    assert t.first_request is not None
    assert t.since_up(t.first_request) <= BACKFILL_LIMIT_S
    assert t.since_up(t.drained) <= BACKFILL_LIMIT_S
    assert_ledger_exact(db, f)
    print(
        f"\nR2 {db.engine.dialect.name}: {f.messages} messages from {ENDPOINTS} endpoints in {LOAD_S:.0f} s;"
        f" broker dead {t.outage_s:.2f} s; all reconnected {t.since_up(t.reconnected):.2f} s after;"
        f" first gap request {t.since_up(t.first_request):.2f} s after; back-filled (outboxes empty)"
        f" {t.since_up(t.drained):.2f} s after ({t.drain_after_load_s:.2f} s after the load ended);"
        f" gaps peak {t.peak_gaps}, re-sent {resent}, asked for by ingest {requested:.0f}"
    )
