"""The gateway when the platform goes away (a broker of the test's own, killed with SIGKILL):

* the fail-safe closes the relays once the link has been lost for the configured delay, not before, and the
  platform's command (still valid) applies again when the link returns (seed 3.2.5.6);
* a one-hour outage leaves no gap: the outbox back-fills the platform's history (ingest into SQLite) with every
  sample of the outage, the ledger exact (reliability.md R2/R3).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goflex.cloudio.backoff import Backoff
from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.model import AttributePath, Value
from goflex.common import SimClock
from goflex.gateway.failsafe import Mode
from goflex.gateway.sampling import SeriesRule
from goflex.serve import Platform
from goflex.store import HistoryRepository
from goflex.twin.emulators import PushSchedule
from tests.integration.mosquitto import MosquittoBroker
from tests.integration.test_gateway import RELAY1, START, running_gateway, until

pytestmark = [pytest.mark.fault, pytest.mark.mosquitto]

LOSS_DELAY_S = 60.0
TECHNICAL = "SmartMeterTechnical/obis_1_0_1_7_0_255_2/datapoint"
_numbers = itertools.count(800)


def fresh_name() -> str:
    return f"goflex-dc-{next(_numbers):03d}"


async def test_failsafe_closes_relays_after_the_loss_delay_and_the_valid_command_returns(
    private_mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    broker = private_mosquitto
    name = fresh_name()
    api = broker.client("api")
    async with running_gateway(broker, tmp_path, name=name, speed=20, loss_delay_s=LOSS_DELAY_S) as rig:
        await until(lambda: rig.gateway.endpoint.connected, "the gateway to connect")
        api.publish(f"@set/{name}/{RELAY1}", json.dumps({"timestamp": rig.clock.time(), "value": 0}).encode())
        await until(lambda: rig.house.snapshot().relay_closed[0] is False, "relay 1 to open")
        api.close()

        broker.kill9()
        lost_at = rig.clock.time()
        await until(lambda: not rig.gateway.endpoint.connected, "the gateway to notice the loss")
        await rig.clock.sleep(LOSS_DELAY_S / 2)
        assert rig.house.snapshot().relay_closed[0] is False  # a short loss keeps the running block
        await until(lambda: rig.house.snapshot().relay_closed[0] is True, "the fail-safe to close relay 1")
        closed_after = rig.clock.time() - lost_at
        assert LOSS_DELAY_S <= closed_after <= LOSS_DELAY_S + 5.0
        assert rig.gateway.failsafe_state.mode is Mode.FAILSAFE
        assert rig.house.tank_state.element_on is True  # heating enabled again

        broker.start()
        await until(lambda: rig.gateway.endpoint.connected, "the gateway to reconnect")
        # The command is minutes old, well within its 2 h validity: it applies again.
        await until(lambda: rig.house.snapshot().relay_closed[0] is False, "the valid command to apply again")
        assert rig.gateway.failsafe_state.mode is Mode.AUTO


async def test_one_hour_outage_is_backfilled_without_a_gap(private_mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    broker = private_mosquitto
    name = fresh_name()
    clock = SimClock(START, speed=400)
    platform = Platform(
        db_url=f"sqlite:///{tmp_path / 'goflex.db'}",
        broker_url=f"mqtts://{broker.host}:{broker.port}",
        pki_dir=broker.pki_dir,
        clock=clock,
        serve_api=False,
        admin_password="fault-test-password",
    )
    await platform.start()
    period_s = 60.0  # the Technical push and sampling period of this test (fewer messages, same mechanism)
    try:
        async with running_gateway(
            broker,
            tmp_path,
            name=name,
            speed=400,
            clock=clock,
            loss_delay_s=7200.0,  # not what this test is about
            # Reconnect attempts in simulated seconds: at x400 a short backoff would be a busy loop of TLS connects.
            backoff=Backoff(5.0, 60.0),
            # Likewise the re-send of unconfirmed messages: the default 30 s is 75 ms of real time at x400, less
            # than ingest's ack round trip on a loaded machine, so every message was re-sent again and again
            # (seen: 19,000 re-sends of 1,900 messages) and ingest, busy with duplicates, fell behind for good.
            resend_after_s=1800.0,
            publish="transaction",
            schedule=PushSchedule(technical_s=period_s, energy_s=300.0, billing_s=86_400.0),
            sampling={"technical": SeriesRule(period_s=period_s, max_hold_s=3 * period_s)},
        ) as rig:
            endpoint = rig.gateway.endpoint
            sampled = record_technical_samples(endpoint)
            await until(lambda: endpoint.connected, "the gateway to connect")
            assert platform.db is not None
            history = HistoryRepository(platform.db)
            await until(lambda: bool(history.ledger_max(name)), "the first values stored")

            broker.kill9()
            outage_start = rig.clock.time()
            await rig.clock.sleep(3600.0)
            outage_end = rig.clock.time()
            assert endpoint.stats().backlog > 60  # an hour of readings waits in the outbox
            broker.start()
            # Wait for everything published until the gateway has sampled past the window compared below, not
            # for an empty outbox: live readings keep arriving every few ms of real time at x400, so the outbox
            # is empty only in the moments the ack round trip beats the next reading, and a loaded machine may
            # never have one (seen: 4-10 entries always in flight, nothing missing).
            window_end = outage_end + 2 * period_s
            await until(lambda: bool(sampled) and sampled[-1][0] >= window_end, "a sample after the outage window")
            target = endpoint.outbox.next_seq - 1

            def complete() -> bool:
                oldest = endpoint.outbox.next_batch(1, older_than=math.inf)  # the oldest unacknowledged entry
                acked = not oldest or oldest[0].seq > target
                return acked and history.ledger_seqs(name, 1, target) == list(range(1, target + 1))

            await until(complete, "the back-fill to complete, ledger exact", timeout_s=60)
            since = datetime.fromtimestamp(outage_start - 2 * period_s, UTC)
            until_ = datetime.fromtimestamp(window_end, UTC)
            points = history.query(name, f"{name}/{TECHNICAL}", since, until_, limit=10_000)
    finally:
        await platform.stop()
    stored = [(round(p.time.timestamp(), 3), p.value) for p in points]
    during = [(round(t, 3), v) for t, v in sampled if outage_start - 2 * period_s <= t < window_end]
    # The gateway kept sampling all hour: samples within one period of both ends of the outage, and no hole in
    # between (checked below). Not a count of hour / period: a series goes out at most once per period
    # (goflex.gateway.sampling, invariant 1), so every ms of real lag on a loaded machine lengthens a period by
    # 0.4 s at x400 and an hour can hold fewer than 60 samples (seen: 60 in 3,840 s).
    assert during[0][0] < outage_start + period_s
    assert during[-1][0] > outage_end - period_s
    # ... and history has every one of those samples, in order: same values, same times to the millisecond the
    # wire carries (a sample at x.4055 s may be stored as x.405 and rounded here to x.406)
    assert [v for _, v in stored] == [v for _, v in during]
    assert max(abs(a[0] - b[0]) for a, b in zip(stored, during, strict=True)) <= 0.0011
    # Loss is ruled out by the equality above (history = what the gateway sampled). What remains to check is that
    # the gateway kept sampling through the outage: a sampler stalled by the lost link would leave a hole of many
    # periods. Not "< 2 periods": the spacing is also the simulation's jitter, and at x400 a loop held up for
    # 0.35 s of real time (an fsync, a collection, Mosquitto's restart) is 141 simulated seconds (seen in CI).
    assert max(b[0] - a[0] for a, b in itertools.pairwise(stored)) < 5 * period_s


def record_technical_samples(endpoint: Endpoint) -> list[tuple[float, float]]:
    """What the gateway hands to its outbox for the Technical +P series: (timestamp, value)."""
    samples: list[tuple[float, float]] = []
    publish = endpoint.transaction

    def recording(items: Sequence[tuple[AttributePath | str, Value]], timestamp: float | None = None) -> int:
        samples.extend((float(timestamp or 0.0), float(v)) for p, v in items if str(p).endswith(TECHNICAL))
        return publish(items, timestamp)

    endpoint.transaction = recording  # type: ignore[method-assign]
    return samples
