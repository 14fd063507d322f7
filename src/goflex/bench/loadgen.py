"""Load generator for ``goflex bench ingest``: N endpoints publishing at R updates/s in total (one process).

Each simulated endpoint is a real MQTT 5 connection over TLS with its own client certificate, speaking raw
packets encoded with the embedded broker's pure codec: paho-mqtt costs about ten times more CPU per message,
and on a two-core machine the generator must leave room for the broker, ingest and the database. Every data
message carries the ``goflex-seq`` user property, like a gateway's outbox would send it, and the generator
subscribes to its own ``@ack/<name>``: end-to-end latency is measured from publication to the storage
confirmation that ingest sends after its database commit, which is what a gateway waits for.

Run as ``python -m goflex.bench.loadgen`` with a JSON configuration on stdin; prints one JSON document.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goflex.broker.embedded.codec import StreamDecoder, encode, encode_publish
from goflex.broker.embedded.packets import (
    MQTT_5,
    ConnAck,
    Connect,
    Packet,
    PacketType,
    PubAck,
    Publish,
    Subscribe,
    Subscription,
)
from goflex.broker.embedded.properties import PropertyId, encode_properties, get_int
from goflex.broker.embedded.wire import encode_utf8
from goflex.cloudio.messages import SEQ_PROPERTY, decode_ack, encode_attribute, encode_endpoint, encode_transaction
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, Constraint, EndpointModel
from goflex.cloudio.topics import Topic, TopicForm, build_topic

_MEASURE = Constraint.MEASURE
_NUMBER = AttributeType.NUMBER


@dataclass
class Connection:
    """One endpoint's connection."""

    name: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    receive_maximum: int = 65535
    next_pid: int = 1
    next_seq: int = 1
    inflight: int = 0
    pubacked: int = 0
    pending: dict[int, float] = field(default_factory=dict)  # seq -> publish time, until acked by ingest
    latencies: list[float] = field(default_factory=list)
    decoder: StreamDecoder = field(default_factory=lambda: StreamDecoder(protocol_level=MQTT_5))

    def pid(self) -> int:
        pid = self.next_pid
        self.next_pid = pid % 65535 + 1
        return pid


async def _read_packet(conn: Connection) -> Packet:
    while True:
        packet = conn.decoder.next_packet()
        if packet is not None:
            return packet
        data = await conn.reader.read(65536)
        if not data:
            raise ConnectionError(f"{conn.name}: connection closed by the broker")
        conn.decoder.feed(data)


async def connect(cfg: dict[str, Any], name: str, model: EndpointModel) -> Connection:
    """TLS + CONNECT + @online (retained) + SUBSCRIBE @ack/<name>."""
    pki = Path(cfg["pki"])
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / f"{name}.crt"), str(pki / f"{name}.key"))
    reader, writer = await asyncio.open_connection(cfg["host"], cfg["port"], ssl=context, server_hostname="localhost")
    conn = Connection(name, reader, writer)
    writer.write(encode(Connect(MQTT_5, name, clean_start=True, keep_alive=300), MQTT_5))
    connack = await _read_packet(conn)
    if not isinstance(connack, ConnAck) or connack.reason_code != 0:
        raise ConnectionError(f"{name}: CONNACK {connack}")
    conn.receive_maximum = get_int(connack.properties, PropertyId.RECEIVE_MAXIMUM) or 65535
    online = encode_endpoint(model)
    writer.write(
        encode(Publish(build_topic(Topic.online(name)), online, qos=1, retain=True, packet_id=conn.pid()), MQTT_5)
    )
    conn.inflight += 1
    ack_topic = build_topic(Topic.ack(name))
    writer.write(encode(Subscribe(conn.pid(), (Subscription(ack_topic, qos=1),)), MQTT_5))
    await writer.drain()
    return conn


async def reader_loop(conn: Connection) -> None:
    """Count PUBACKs; turn ``@ack`` messages into latencies; acknowledge them."""
    while True:
        packet = await _read_packet(conn)
        if isinstance(packet, PubAck):
            conn.inflight -= 1
            conn.pubacked += 1
        elif isinstance(packet, Publish):
            now = time.time()
            ack = decode_ack(packet.payload)
            for lo, hi in ack.acked:
                for seq in range(lo, hi + 1):
                    sent = conn.pending.pop(seq, None)
                    if sent is not None:
                        conn.latencies.append(now - sent)
            if packet.qos and packet.packet_id is not None:
                conn.writer.write(encode(PubAck(PacketType.PUBACK, packet.packet_id), MQTT_5))


def bench_model(name: str, paths: list[AttributePath]) -> EndpointModel:
    """A model with the Measure attributes the generator publishes (the pilot's names)."""
    from goflex.cloudio.model import endpoint, node, obj  # noqa: PLC0415 - keep the module's namespace small

    nodes: dict[str, dict[str, Any]] = {}
    for path in paths:
        nodes.setdefault(path.node, {})[path.objects[0]] = obj(datapoint=Attribute(_MEASURE, _NUMBER, None, None))
    return endpoint(name, {n: node(objects) for n, objects in nodes.items()})


def attribute_paths(name: str, count: int) -> list[AttributePath]:
    """The attributes a house publishes most often (seed Appendix 4), cycled to ``count``."""
    base = [
        ("SmartMeterTechnical", "obis_1_0_1_7_0_255_2"),
        ("SmartMeterTechnical", "obis_1_0_2_7_0_255_2"),
        ("powerMeter-1", "wattsTotal"),
        ("powerMeter-1", "wattsClamp1"),
        ("powerMeter-1", "kWhTotal"),
        ("boilerSensor-1", "temperature"),
    ]
    return [AttributePath(name, n, (o,), "datapoint") for n, o in base[: max(1, min(count, len(base)))]]


@dataclass
class Load:
    """What to publish: ``rate`` updates/s in total, ``per_message`` updates per MQTT message."""

    rate: float
    seconds: float
    per_message: int
    expect_acks: bool
    paths: dict[str, list[AttributePath]]
    sent: int = 0
    deferred: int = 0

    def message(self, conn: Connection, topic: bytes) -> bytes:
        """The next data message of ``conn`` (a PUBLISH with the goflex-seq user property)."""
        now = time.time()
        seq = conn.next_seq
        conn.next_seq += 1
        value = float(seq % 5000)
        if self.per_message > 1:
            items = [(p, Attribute(_MEASURE, _NUMBER, now, value)) for p in self.paths[conn.name]]
            payload = encode_transaction(items)
        else:
            payload = encode_attribute(Attribute(_MEASURE, _NUMBER, now, value))
        props = encode_properties(((PropertyId.USER_PROPERTY, (SEQ_PROPERTY, str(seq))),))
        conn.inflight += 1
        if self.expect_acks:
            conn.pending[seq] = now
        self.sent += 1
        return encode_publish(topic, payload, qos=1, retain=False, dup=False, packet_id=conn.pid(), properties=props)

    async def publish(self, conns: list[Connection], topics: dict[str, bytes]) -> float:
        """Publish at the rate for the duration, round robin over the endpoints; return the seconds taken."""
        msg_rate = self.rate / self.per_message
        start = time.monotonic()
        index = 0
        while (elapsed := time.monotonic() - start) < self.seconds:
            for _ in range(max(0, int(msg_rate * elapsed) - self.sent - self.deferred)):
                conn = conns[index % len(conns)]
                index += 1
                if conn.inflight >= conn.receive_maximum:
                    self.deferred += 1  # the broker's Receive Maximum: sending more is a protocol error
                    continue
                conn.writer.write(self.message(conn, topics[conn.name]))
            await asyncio.sleep(0.005)
        return time.monotonic() - start


async def _drain(conns: list[Connection], expect_acks: bool, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        outstanding = sum(c.inflight for c in conns)
        if expect_acks:
            outstanding += sum(len(c.pending) for c in conns)
        if outstanding == 0:
            return
        await asyncio.sleep(0.05)


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connect every endpoint, publish the load, wait for PUBACKs (and acks), report."""
    names: list[str] = cfg["names"]
    load = Load(
        rate=cfg["rate"],
        seconds=cfg["seconds"],
        per_message=cfg["updates_per_message"],
        expect_acks=cfg["expect_acks"],
        paths={n: attribute_paths(n, cfg["updates_per_message"]) for n in names},
    )
    t0 = time.monotonic()
    limit = asyncio.Semaphore(64)

    async def one(name: str) -> Connection:
        async with limit:
            return await connect(cfg, name, bench_model(name, load.paths[name]))

    conns = list(await asyncio.gather(*(one(n) for n in names)))
    connect_s = time.monotonic() - t0
    readers = [asyncio.create_task(reader_loop(c)) for c in conns]
    await asyncio.sleep(cfg["warmup_seconds"])  # let ingest read every @online before data flows
    topics = {
        c.name: encode_utf8(
            build_topic(Topic.transaction(c.name))
            if load.per_message > 1
            else build_topic(Topic.update(load.paths[c.name][0]), TopicForm.LONG)
        )
        for c in conns
    }
    start = time.monotonic()
    send_s = await load.publish(conns, topics)
    await _drain(conns, load.expect_acks, cfg["drain_seconds"])
    total_s = time.monotonic() - start
    for task in readers:
        task.cancel()
    for c in conns:
        c.writer.close()
    latencies = sorted(lat for c in conns for lat in c.latencies)
    return {
        "connect_seconds": round(connect_s, 2),
        "messages_sent": load.sent,
        "updates_sent": load.sent * len(next(iter(load.paths.values()))),
        "deferred_by_receive_maximum": load.deferred,
        "send_seconds": round(send_s, 3),
        "total_seconds": round(total_s, 3),
        "pubacked": sum(c.pubacked for c in conns) - len(conns),  # minus the @online messages
        "acked_messages": len(latencies),
        "unacked_messages": sum(len(c.pending) for c in conns),
        "latencies_ms": _percentiles(latencies),
    }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}

    def pick(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)

    return {"p50": pick(0.50), "p99": pick(0.99), "max": round(values[-1] * 1000, 1)}


def main() -> None:
    cfg = json.load(sys.stdin)
    result = asyncio.run(run(cfg))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
