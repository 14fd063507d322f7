"""Ingest end to end: a real Mosquitto (rendered production config, TLS client certificates), SQLite and PostgreSQL.

What a user notices: values published by an endpoint are in the history and the process database, the gateway's
outbox is released only by ingest's confirmation, duplicates are stored once (R8), a gap is asked for (R2),
malformed messages are dead-lettered with a reason and never block the next good one (Q1).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.messages import SEQ_PROPERTY, Ack, decode_ack, encode_endpoint
from goflex.cloudio.model import AttributePath, EndpointModel, attr, endpoint, node, obj
from goflex.cloudio.model import AttributeType as T
from goflex.cloudio.model import Constraint as C  # noqa: N817
from goflex.cloudio.transport import publish_properties
from goflex.common import RealClock
from goflex.ingest.service import HealthStatus, IngestService
from goflex.store import Database, DeadLetterRepository, HistoryRepository, ProcessRepository, open_database
from tests.integration.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.mosquitto]

FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def model_for(name: str) -> EndpointModel:
    return endpoint(
        name,
        {
            "powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER))}),
            "gateway": node({"relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN))}),
        },
    )


def power(name: str) -> AttributePath:
    return AttributePath(name, "powerMeter-1", ("wattsTotal",), "datapoint")


def update_payload(value: object, ts: float | None = None, type_: str = "Number") -> bytes:
    doc = {"constraint": "Measure", "type": type_, "timestamp": time.time() if ts is None else ts, "value": value}
    return json.dumps(doc).encode()


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout_s} s")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'goflex.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    database = open_database(url)
    database.migrate()
    yield database
    database.close()


def make_ingest(broker: MosquittoBroker, db: Database, **kwargs: object) -> IngestService:
    ca = broker.ca
    options: dict[str, object] = {"flush_interval_s": 0.05, "gap_grace_s": 1.0, "share_group": "ingest"}
    options.update(kwargs)
    return IngestService(
        db=db,
        broker=f"mqtts://{broker.host}:{broker.port}",
        ca_file=ca.ca_cert_path,
        cert_file=ca.cert_path("ingest"),
        key_file=ca.key_path("ingest"),
        clock=RealClock(),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def ingest(mosquitto: MosquittoBroker, db: Database) -> AsyncIterator[IngestService]:
    async with make_ingest(mosquitto, db) as service:
        yield service


class RawEndpoint:
    """An endpoint speaking MQTT 5 by hand, to send exactly what a test needs (sequence numbers, garbage)."""

    def __init__(self, broker: MosquittoBroker, name: str) -> None:
        self.name = name
        broker.issue(name)
        self.client = aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=name,
            protocol=aiomqtt.ProtocolVersion.V5,
            tls_context=broker.ssl_context(name),
        )
        self.acks: list[Ack] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawEndpoint:
        await self.client.__aenter__()
        await self.client.subscribe(f"@ack/{self.name}", qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            self.acks.append(decode_ack(message.payload))

    async def online(self) -> None:
        await self.client.publish(f"@online/{self.name}", encode_endpoint(model_for(self.name)), qos=1, retain=True)

    async def publish(self, topic: str, payload: bytes, seq: int | None = None) -> None:
        props = publish_properties({SEQ_PROPERTY: str(seq)}) if seq is not None else None
        await self.client.publish(topic, payload, qos=1, properties=props)

    async def update(self, value: float, seq: int | None = None, ts: float | None = None) -> None:
        await self.publish(f"@update/{power(self.name).long()}", update_payload(value, ts), seq)

    def acked(self) -> set[int]:
        return {s for ack in self.acks for lo, hi in ack.acked for s in range(lo, hi + 1)}

    def resend(self) -> set[int]:
        return {s for ack in self.acks for lo, hi in ack.resend for s in range(lo, hi + 1)}


def unique(prefix: str = "ep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def values(db: Database, name: str) -> list[float]:
    points = HistoryRepository(db).query(name, str(power(name)), FAR_PAST, FAR_FUTURE)
    return [float(p.value) for p in points]


# ---------------------------------------------------------------------------------------------------- the SDK
async def test_sdk_endpoint_updates_are_stored_and_release_the_outbox(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService, tmp_path: Path
) -> None:
    name = unique("goflex-dc")
    mosquitto.issue(name)
    ep = Endpoint(
        model_for(name),
        broker=f"mqtts://{mosquitto.host}:{mosquitto.port}",
        ca_file=mosquitto.ca.ca_cert_path,
        cert_file=mosquitto.ca.cert_path(name),
        key_file=mosquitto.ca.key_path(name),
        outbox_path=tmp_path / "outbox.db",
        clock=RealClock(),
    )
    relay = AttributePath(name, "gateway", ("relay1State",), "datapoint")
    async with ep:
        await ep.wait_connected(10)
        for i in range(5):
            ep.update(power(name), 100.0 + i)
        ep.transaction([(power(name), 200.0), (relay, True)])
        await eventually(lambda: ep.outbox.pending_count == 0, what="outbox released by @ack")
    assert values(db, name) == [100.0, 101.0, 102.0, 103.0, 104.0, 200.0]
    last = {lv.path: lv.value for lv in ProcessRepository(db).last_values(name)}
    assert last == {"powerMeter-1/wattsTotal/datapoint": 200.0, "gateway/relay1State/datapoint": True}
    record = ProcessRepository(db).get_endpoint(name)
    assert record is not None
    assert record.model_json is not None
    assert ingest.health().status is HealthStatus.OK
    assert b"goflex_ingest_rows_stored_total 7.0" in ingest.metrics_text()


# --------------------------------------------------------------------------------------- reliability protocol
async def test_duplicates_are_stored_once_and_acked_again(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService
) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        await ep.update(1.0, seq=1)
        await ep.update(1.0, seq=1)  # a QoS 1 redelivery or an outbox re-send
        await ep.update(2.0, seq=2)
        await eventually(lambda: ep.acked() == {1, 2}, what="acks for 1 and 2")
        await ep.update(99.0, seq=2)  # even with another value: the message was stored already
        await eventually(lambda: sum(1 for a in ep.acks if a.covers(2)) >= 2, what="second ack for 2")
    assert values(db, ep.name) == [1.0, 2.0]


async def test_gap_is_asked_for_after_the_grace_period_and_filled(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService
) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        for seq in (1, 2, 4):
            await ep.update(float(seq), seq=seq)
        await eventually(lambda: ep.acked() == {1, 2, 4}, what="acks")
        assert ep.resend() == set()  # not before the grace period
        await eventually(lambda: ep.resend() == {3}, timeout_s=5, what="resend request for 3")
        await ep.update(3.0, seq=3)
        await eventually(lambda: ep.acked() == {1, 2, 3, 4}, what="ack for 3")
    assert sorted(values(db, ep.name)) == [1.0, 2.0, 3.0, 4.0]
    assert ingest.ledger.open_gaps() == 0


async def test_restarted_worker_asks_only_for_what_the_database_misses(
    mosquitto: MosquittoBroker, db: Database
) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        async with make_ingest(mosquitto, db, gap_grace_s=30.0):
            await ep.online()
            for seq in (1, 2, 4, 5):
                await ep.update(float(seq), seq=seq)
            await eventually(lambda: ep.acked() == {1, 2, 4, 5}, what="acks")
        async with make_ingest(mosquitto, db, gap_grace_s=0.5):
            await ep.update(6.0, seq=6)
            await eventually(lambda: 3 in ep.resend(), what="resend request for 3")
            await asyncio.sleep(1.0)
        assert ep.resend() == {3}


async def test_plain_cloudio_endpoint_without_sequence_is_stored_without_acks(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService
) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        await ep.update(5.5)
        await ep.update(6.5)
        await eventually(lambda: len(values(db, ep.name)) == 2, what="two stored values")
        await asyncio.sleep(0.3)
        assert ep.acks == []


# ---------------------------------------------------------------------------------------------- Q1 and R10
async def test_malformed_payloads_are_dead_lettered_and_the_next_good_one_is_stored(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService
) -> None:
    topic = None
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        topic = f"@update/{power(ep.name).long()}"
        now = time.time()
        bad = {
            "malformed": b'{"constraint": "Measure", "type": "Number", "timest',
            "not_utf8": b'{"constraint": "Measure", "type": "Number", "timestamp": 1, "value": "\xff\xfe"}',
            "wrong_type": update_payload("a lot"),
            "not_finite": b'{"constraint": "Measure", "type": "Number", "timestamp": 1.7e9, "value": NaN}',
            "too_large": b" " * (1024 * 1024) + update_payload(1.0),
            "too_deep": b'{"a":' * 200 + b"1" + b"}" * 200,
            "timestamp_future": update_payload(1.0, now + 3600),
            "timestamp_too_old": update_payload(1.0, now - 60 * 86400),
        }
        for seq, payload in enumerate(bad.values(), start=1):
            await ep.publish(topic, payload, seq=seq)
        await ep.publish(f"@update/{ep.name}/nowhere/x/y", update_payload(1.0), seq=len(bad) + 1)
        await ep.update(42.0, seq=len(bad) + 2)
        await eventually(lambda: values(db, ep.name) == [42.0], what="the good value stored")
        # Rejected messages are acknowledged too: they are dealt with (dead-lettered), re-sending cannot help.
        await eventually(lambda: ep.acked() == set(range(1, len(bad) + 3)), what="acks")
    letters = [d for d in DeadLetterRepository(db).recent(100) if d.endpoint == ep.name]
    reasons = sorted(d.reason for d in letters)
    assert reasons == sorted(["unknown_attribute", *bad])
    big = next(d for d in letters if d.reason == "too_large")
    assert big.payload_size > 1024 * 1024
    assert len(big.payload) < big.payload_size  # truncated in the table
    text = ingest.metrics_text()
    for reason in bad:
        assert f'goflex_ingest_rejected_total{{reason="{reason}"}} 1.0'.encode() in text


async def test_bad_item_in_a_transaction_is_rejected_alone(
    mosquitto: MosquittoBroker, db: Database, ingest: IngestService
) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        attrs = {
            str(power(ep.name)): json.loads(update_payload(7.0)),
            f"{ep.name}/gateway/relay1State/datapoint": {
                **json.loads(update_payload(1.0)),
                "constraint": "Status",
                "type": "Boolean",  # but the value is a Number
            },
        }
        await ep.publish(f"@transaction/{ep.name}", json.dumps({"attributes": attrs}).encode(), seq=1)
        await eventually(lambda: ep.acked() == {1}, what="ack")
    assert values(db, ep.name) == [7.0]
    letters = [d for d in DeadLetterRepository(db).recent(10) if d.endpoint == ep.name]
    assert [d.reason for d in letters] == ["wrong_type"]
    assert letters[0].detail.startswith("item 1:")


async def test_offline_and_online_are_recorded(mosquitto: MosquittoBroker, db: Database, ingest: IngestService) -> None:
    async with RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        await eventually(lambda: bool((r := ProcessRepository(db).get_endpoint(ep.name)) and r.online), what="online")
        await ep.publish(f"@offline/{ep.name}", b"")
        await eventually(lambda: not (r := ProcessRepository(db).get_endpoint(ep.name)) or not r.online, what="offline")
    assert ProcessRepository(db).get_endpoint(ep.name) is not None
    assert datetime.now(UTC) - timedelta(minutes=1) < (ProcessRepository(db).get_endpoint(ep.name).since or FAR_PAST)  # type: ignore[union-attr]
