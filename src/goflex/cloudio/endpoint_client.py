"""The cloud.iO endpoint SDK: what a gateway runs to publish its data model and obey commands.

(The module is ``endpoint_client``, not ``endpoint``: a submodule of that name would replace the model DSL's
``goflex.cloudio.endpoint()`` function on the package as soon as it is imported.)

::

    model = endpoint("goflex-dc-004", {...})                      # goflex.cloudio.model declaration DSL
    ep = Endpoint(model, broker="mqtts://broker:8883", ca_file=..., cert_file=..., key_file=...,
                  outbox_path=Path("/var/lib/goflex/outbox.db"), clock=RealClock(), on_set=apply_relay)
    async with ep:                                                # or: await ep.run() until cancelled
        ep.update("goflex-dc-004/powerMeter-1/wattsTotal/datapoint", 1234.5)

Protocol (reference/cloudio.md, seed 3.2.5.9-3.2.5.10):

* client id = endpoint name = certificate CN; last will ``@offline/<ep>`` (QoS 1, not retained);
* on every (re)connect: ``@online/<ep>`` (retained, QoS 1, the whole model), then subscribe to
  ``@set/<ep>/#`` and ``@ack/<ep>``;
* data (``@update``, ``@transaction``, ``@didSet``) is appended to the durable :class:`Outbox` first (it gets
  the per-endpoint sequence number, MQTT 5 user property ``goflex-seq``), then published at QoS 1 at once if
  connected. An entry leaves the outbox only when ingest confirms storage with ``@ack/<ep>`` (a PUBACK is not
  storage, reliability.md). Unconfirmed entries older than ``resend_after_s``, never-sent ones and those ingest
  asks for (``resend``) drain oldest-first at ``backfill_rate_per_s`` in their own task while live data
  keeps flowing (R3);
* ``@set`` on its own subtree: stale timestamps ignored, type and constraint checked, applied, ``@didSet``
  published, then the handler called. In the pilot the command (``parameter``) and the measured state
  (``datapoint``) are separate attributes, so ``@didSet`` confirms the accepted command and the relay's real
  state follows as an ``@update``;
* reconnect with capped full-jitter backoff (1 s .. 60 s).

Payloads are logged at DEBUG at most; keys never.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import aiomqtt

from goflex.cloudio.backoff import Backoff, TokenBucket
from goflex.cloudio.codec import Format
from goflex.cloudio.errors import CloudioError, RejectedPayload, RejectReason
from goflex.cloudio.messages import (
    SEQ_PROPERTY,
    SetMessage,
    decode_ack,
    decode_message,
    encode_attribute,
    encode_endpoint,
    encode_transaction,
)
from goflex.cloudio.model import Attribute, AttributePath, EndpointModel, Value
from goflex.cloudio.outbox import Outbox, OutboxEntry, OutboxStats
from goflex.cloudio.topics import Action, Topic, TopicForm, build_topic, subscription
from goflex.cloudio.transport import TransportSettings, cancel_and_wait, make_client, publish_properties, release_socket
from goflex.common import Clock

log = logging.getLogger(__name__)

SetHandler = Callable[[AttributePath, Attribute], Awaitable[None] | None]
"""Called after an ``@set`` was applied: (path, new attribute). May be a coroutine function."""

_MAX_INFLIGHT = 20  # QoS 1 messages awaiting PUBACK at once (paho's default window)
_LIVE_QUEUE = 10_000  # live messages waiting for the sender; beyond that the back-fill picks them up
_BATCH = 100  # outbox rows read per back-fill query
_POLL_S = 1.0  # how often the back-fill looks for entries that became due [s]
_FLUSH_POLL_S = 0.02  # real seconds between two looks at the outbox in flush()


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """Counters of an endpoint since it was created (the outbox ones since the outbox file was created).

    Attributes:
        connected: connected to the broker right now.
        reconnects: connections established after the first one.
        published: data messages handed to the broker (PUBACK), live and back-filled.
        resent: of those, messages sent again (back-fill of unconfirmed or requested entries).
        acked: outbox entries deleted because ingest confirmed storage.
        backlog: outbox entries not yet confirmed.
        dropped: entries the outbox dropped at its caps (count, bytes, age).
        rejected_sets: ``@set`` messages refused (wrong type, constraint, unknown attribute, malformed).
        stale_sets: ``@set`` messages ignored because their timestamp was not newer than the current one.
        handler_errors: exceptions raised by the ``on_set`` handler or while handling a message.
        outbox: the outbox's own statistics.
    """

    connected: bool
    reconnects: int
    published: int
    resent: int
    acked: int
    backlog: int
    dropped: int
    rejected_sets: int
    stale_sets: int
    handler_errors: int
    outbox: OutboxStats


class Endpoint:
    """A cloud.iO endpoint with a durable outbox.

    Args:
        model: the endpoint's data model (its name is the MQTT client id and certificate CN).
        broker: ``mqtts://host:port``.
        ca_file, cert_file, key_file: the installation CA and this endpoint's certificate and key (PEM).
        outbox_path: the SQLite outbox file.
        clock: source of time (timestamps, ages, back-off sleeps).
        topic_form: LONG (the Swiss pilot's) or SHORT.
        fmt: payload encoding (JSON or CBOR).
        on_set: called after each accepted ``@set``.
        backfill_rate_per_s: cap on the back-fill rate [messages/s]; live data is not limited.
        resend_after_s: re-send entries unconfirmed for this long [s].
        keepalive_s: MQTT keep-alive [s].
        backoff: reconnect backoff (default 1 s base, 60 s cap, full jitter).
        max_messages, max_age_s, max_bytes: outbox caps (see :class:`Outbox`).
        check_hostname: verify the broker certificate's name (keep True outside tests).
        rng: random source for jitter (tests pass a seeded one).

    Raises:
        TransportError: bad broker URL or certificate files.
        OutboxError: the outbox cannot be opened.
    """

    def __init__(
        self,
        model: EndpointModel,
        *,
        broker: str,
        ca_file: Path | str | None,
        cert_file: Path | str | None,
        key_file: Path | str | None,
        outbox_path: Path,
        clock: Clock,
        topic_form: TopicForm = TopicForm.LONG,
        fmt: Format = Format.JSON,
        on_set: SetHandler | None = None,
        backfill_rate_per_s: float = 50.0,
        resend_after_s: float = 30.0,
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
        max_messages: int = 100_000,
        max_age_s: float = 7 * 24 * 3600.0,
        max_bytes: int = 256 * 1024 * 1024,
        check_hostname: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self._transport = TransportSettings.from_files(
            broker,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            keepalive_s=keepalive_s,
            check_hostname=check_hostname,
        )
        self._model = model
        # Latest Status/Measure values not yet folded into the model: rebuilding the frozen model on every
        # reading costs more than the rest of the publication; the model needs them only for @online.
        self._latest: dict[AttributePath, Attribute] = {}
        self.name = model.name
        self._clock = clock
        self.topic_form = topic_form
        self.fmt = fmt
        self._on_set = on_set
        self._backfill_rate = backfill_rate_per_s
        self._resend_after = resend_after_s
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._rng = rng or random.Random()
        self._outbox = Outbox(
            outbox_path,
            endpoint=model.name,
            max_messages=max_messages,
            max_age_s=max_age_s,
            max_bytes=max_bytes,
            clock=clock,
        )
        self._set_topic = subscription(Action.SET, self.name)
        self._ack_topic = build_topic(Topic.ack(self.name))
        # Per-connection state.
        self._live: asyncio.Queue[OutboxEntry] | None = None
        self._inflight: set[int] = set()  # queued or being published or sent-but-not-yet-marked
        self._sent: list[int] = []  # PUBACKed, to be marked in the outbox in one transaction
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._counts = dict.fromkeys(
            ("connects", "published", "resent", "acked", "rejected_sets", "stale_sets", "handler_errors"), 0
        )

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def model(self) -> EndpointModel:
        """The current data model, with the latest values."""
        if self._latest:
            model = self._model
            for path, attribute in self._latest.items():
                model = model.replace_attribute(path, attribute)
            self._model, self._latest = model, {}
        return self._model

    @property
    def outbox(self) -> Outbox:
        """The durable outbox (for health checks and tests)."""
        return self._outbox

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until connected (``TimeoutError`` after ``timeout_s`` real seconds)."""
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    def update(self, path: AttributePath | str, value: Value, timestamp: float | None = None) -> int:
        """Set a Status/Measure attribute and publish ``@update``; return the message's sequence number.

        The message is stored in the outbox before this returns, and sent at once if connected.

        Args:
            path: full attribute path (``ep/node/obj/attr``, short or long form).
            value: the new value, of the declared type (a Number accepts an int).
            timestamp: when it was measured, epoch [s]; default now.

        Raises:
            RejectedPayload: UNKNOWN_ATTRIBUTE, DENIED (another endpoint), CONSTRAINT (not Status/Measure),
                WRONG_TYPE or NOT_FINITE.
            OutboxError: the outbox could not store it (nothing was changed).
        """
        path, attribute = self._prepare(path, value, timestamp)
        seq = self._enqueue(Topic.update(path), encode_attribute(attribute, self.fmt))
        self._latest[path] = attribute
        return seq

    def update_many(
        self, items: Sequence[tuple[AttributePath | str, Value]], timestamp: float | None = None
    ) -> list[int]:
        """Like :meth:`update` for several attributes: one ``@update`` each, stored in one outbox transaction.

        Subscribers see exactly what separate updates give them (one message per attribute, cloud.iO); the
        gateway pays one write to its SD card instead of one per value. All items are checked first.

        Raises:
            RejectedPayload: as :meth:`update`, for the first bad item (nothing is stored).
            OutboxError: the outbox could not store them (nothing is stored).
        """
        when = self._clock.time() if timestamp is None else timestamp
        prepared = [self._prepare(path, value, when) for path, value in items]
        seqs = self._enqueue_many([(Topic.update(p), encode_attribute(a, self.fmt)) for p, a in prepared])
        for path, attribute in prepared:
            self._latest[path] = attribute
        return seqs

    def transaction(self, items: Sequence[tuple[AttributePath | str, Value]], timestamp: float | None = None) -> int:
        """Set several Status/Measure attributes at once and publish one ``@transaction``; return its seq.

        All items are checked before anything is changed.

        Raises:
            RejectedPayload: as :meth:`update`, for the first bad item; MALFORMED if a path repeats.
            OutboxError: the outbox could not store it.
        """
        when = self._clock.time() if timestamp is None else timestamp
        prepared = [self._prepare(path, value, when) for path, value in items]
        payload = encode_transaction(prepared, self.fmt)
        seq = self._enqueue(Topic.transaction(self.name), payload)
        for path, attribute in prepared:
            self._latest[path] = attribute
        return seq

    def stats(self) -> EndpointStats:
        """A snapshot of the counters."""
        outbox = self._outbox.stats()
        c = self._counts
        return EndpointStats(
            connected=self.connected,
            reconnects=max(0, c["connects"] - 1),
            published=c["published"],
            resent=c["resent"],
            acked=c["acked"],
            backlog=outbox.pending,
            dropped=outbox.dropped_by_cap + outbox.dropped_by_age,
            rejected_sets=c["rejected_sets"],
            stale_sets=c["stale_sets"],
            handler_errors=c["handler_errors"],
            outbox=outbox,
        )

    async def run(self) -> None:
        """Stay connected until cancelled: reconnect with backoff, publish, receive, back-fill."""
        attempt = 0
        try:
            while True:
                try:
                    await self._connection()
                    attempt = 0  # a connection that was established resets the backoff
                except aiomqtt.MqttError as exc:
                    # Connect refused, TLS failure, keep-alive timeout, broker gone: all mean "try again later".
                    log.warning("endpoint %s: connection to %s lost or refused: %s", self.name, self._broker, exc)
                except Exception:  # top loop of the service: log, count, continue (style.md 5)
                    log.exception("endpoint %s: unexpected error; reconnecting", self.name)
                    self._counts["handler_errors"] += 1
                self._disconnected()
                delay = self._backoff.delay(attempt, self._rng)
                attempt += 1
                log.info("endpoint %s: reconnecting in %.1f s", self.name, delay)
                await self._clock.sleep(delay)
        finally:
            self._disconnected()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name=f"endpoint {self.name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` real seconds, while connected, for ingest to confirm every outbox entry.

        Returns True when the outbox is empty. A gateway calls it before a planned stop so that what it published
        last is not left for the next start to send again (it would be deduplicated, but a stopped gateway with a
        non-empty outbox looks like a gateway that lost data).
        """
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._outbox.pending_count and self.connected:
            if asyncio.get_running_loop().time() >= deadline:
                break
            self._wake.set()  # never-sent entries go out now rather than at the next poll
            await asyncio.sleep(_FLUSH_POLL_S)
        return self._outbox.pending_count == 0

    async def stop(self) -> None:
        """Publish ``@offline``, disconnect and close the outbox (idempotent); see :meth:`flush` to drain first."""
        await cancel_and_wait(self._task)
        self._task = None
        self._outbox.close()

    # -- validation and the outbox ---------------------------------------------------------------------------

    @property
    def _broker(self) -> str:
        return str(self._transport.broker)

    def _prepare(
        self, path: AttributePath | str, value: Value, timestamp: float | None
    ) -> tuple[AttributePath, Attribute]:
        if isinstance(path, str):
            try:
                path = AttributePath.parse(path)
            except CloudioError as exc:
                raise RejectedPayload(RejectReason.MALFORMED, "path", str(exc)) from exc
        if path.endpoint != self.name:
            raise RejectedPayload(RejectReason.DENIED, str(path), f"not an attribute of {self.name!r}")
        current = self._model.attribute(path)
        if not current.constraint.updatable:
            raise RejectedPayload(
                RejectReason.CONSTRAINT, str(path), f"@update is not valid for a {current.constraint.value} attribute"
            )
        return path, current.with_value(value, self._clock.time() if timestamp is None else timestamp)

    def _enqueue(self, topic: Topic, payload: bytes) -> int:
        """Write-before-send: store in the outbox, then hand to the live sender if connected."""
        return self._enqueue_many([(topic, payload)])[0]

    def _enqueue_many(self, messages: Sequence[tuple[Topic, bytes]]) -> list[int]:
        """Store several messages in one outbox transaction (one fsync), then hand them to the live sender."""
        texts = [(build_topic(topic, self.topic_form), payload) for topic, payload in messages]
        seqs = self._outbox.append_many(texts)
        live = self._live
        if live is not None and self.connected:
            now = self._clock.time()
            for seq, (text, payload) in zip(seqs, texts, strict=True):
                try:
                    live.put_nowait(OutboxEntry(seq, text, payload, now, None, 0))
                    self._inflight.add(seq)
                except asyncio.QueueFull:
                    break  # the back-fill will send the rest: they are in the outbox, never sent
        if log.isEnabledFor(logging.DEBUG):
            log.debug("endpoint %s: queued %d message(s), seq %d..%d", self.name, len(seqs), seqs[0], seqs[-1])
        return seqs

    def _flush_sent(self) -> None:
        if self._sent:
            sent, self._sent = self._sent, []
            self._outbox.mark_sent(sent)
            self._inflight.difference_update(sent)

    def _disconnected(self) -> None:
        if self._connected.is_set():
            log.info("endpoint %s: disconnected from %s", self.name, self._broker)
        self._connected.clear()
        self._live = None
        try:
            self._flush_sent()
        except CloudioError:
            log.exception("endpoint %s: could not record sent messages (they will be re-sent)", self.name)
        self._inflight.clear()

    # -- one connection --------------------------------------------------------------------------------------

    async def _connection(self) -> None:
        will = aiomqtt.Will(build_topic(Topic.offline(self.name)), b"", qos=1, retain=False)
        client = make_client(self._transport, identifier=self.name, will=will)
        try:
            async with client:
                try:
                    await self._session(client)
                except asyncio.CancelledError:
                    # Graceful stop: the broker sends no will on a normal DISCONNECT, so say it ourselves.
                    if self.connected:
                        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                            await asyncio.wait_for(client.publish(will.topic, b"", qos=1), 2.0)
                    raise
        finally:
            release_socket(client)

    async def _session(self, client: aiomqtt.Client) -> None:
        online = build_topic(Topic.online(self.name))
        await client.publish(online, encode_endpoint(self.model, self.fmt), qos=1, retain=True)
        for topic in (self._set_topic, self._ack_topic):
            codes = await client.subscribe(topic, qos=1)
            if any(getattr(code, "is_failure", False) for code in codes):
                log.error("endpoint %s: broker refused subscription to %s", self.name, topic)
        self._counts["connects"] += 1
        self._live = asyncio.Queue(_LIVE_QUEUE)
        self._connected.set()
        self._wake.set()
        log.info("endpoint %s: connected to %s", self.name, self._broker)
        window = asyncio.Semaphore(_MAX_INFLIGHT)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive(client))
                group.create_task(self._send_live(client, window, group))
                group.create_task(self._backfill(client, window, group))
        except* aiomqtt.MqttError as lost:
            # The connection dropped under one of the tasks: one plain error for run() to log and retry.
            first = lost.exceptions[0]
            raise aiomqtt.MqttError(str(first)) from first

    async def _publish(self, client: aiomqtt.Client, entry: OutboxEntry, window: asyncio.Semaphore) -> None:
        try:
            props = publish_properties({SEQ_PROPERTY: str(entry.seq)})
            await client.publish(entry.topic, entry.payload, qos=1, properties=props)
        except BaseException:
            self._inflight.discard(entry.seq)  # not sent: the back-fill will pick it up after a reconnect
            raise
        finally:
            window.release()
        self._sent.append(entry.seq)
        self._counts["published"] += 1
        if entry.attempts:
            self._counts["resent"] += 1

    async def _send_live(self, client: aiomqtt.Client, window: asyncio.Semaphore, group: asyncio.TaskGroup) -> None:
        live = self._live
        assert live is not None
        while True:
            entry = await live.get()
            await window.acquire()
            group.create_task(self._publish(client, entry, window))

    async def _backfill(self, client: aiomqtt.Client, window: asyncio.Semaphore, group: asyncio.TaskGroup) -> None:
        rate = self._backfill_rate
        bucket = TokenBucket(rate, max(1.0, rate), self._clock.monotonic())
        cursor = 0
        while True:
            self._flush_sent()
            due = self._outbox.next_batch(_BATCH, older_than=self._clock.time() - self._resend_after, after=cursor)
            if not due:
                cursor = 0
                await self._idle()
                continue
            cursor = due[-1].seq
            for entry in due:
                if entry.seq in self._inflight:
                    continue
                wait = bucket.take(self._clock.monotonic())
                if wait > 0:
                    await self._clock.sleep(wait)
                if entry.seq in self._inflight or self._outbox.get(entry.seq) is None:
                    continue  # sent live or acknowledged while we waited
                self._inflight.add(entry.seq)
                await window.acquire()
                group.create_task(self._publish(client, entry, window))

    async def _idle(self) -> None:
        """Sleep ``_POLL_S`` of clock time, or less if woken (a resend request, a new connection)."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(_POLL_S))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    # -- incoming --------------------------------------------------------------------------------------------

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            try:
                if topic == self._ack_topic:
                    self._on_ack(bytes(payload))
                else:
                    await self._on_set_message(topic, bytes(payload))
            except Exception:  # one bad message or handler must never stop the endpoint
                self._counts["handler_errors"] += 1
                log.exception("endpoint %s: error while handling a message on %s", self.name, topic)

    def _on_ack(self, payload: bytes) -> None:
        try:
            ack = decode_ack(payload)
        except CloudioError as exc:
            log.warning("endpoint %s: ignored malformed @ack: %s", self.name, exc)
            return
        self._counts["acked"] += self._outbox.ack_ranges(ack.acked)
        if ack.resend:
            requeued = self._outbox.requeue(ack.resend)
            self._inflight.difference_update(
                s for lo, hi in ack.resend for s in range(lo, hi + 1) if s in self._inflight
            )
            log.info("endpoint %s: ingest asked to re-send %d message(s)", self.name, requeued)
            self._wake.set()

    async def _on_set_message(self, topic: str, payload: bytes) -> None:
        try:
            message = decode_message(topic, payload, model=self._model)
        except CloudioError as exc:
            self._counts["rejected_sets"] += 1
            log.warning("endpoint %s: rejected @set on %s: %s", self.name, topic, exc)
            return
        if not isinstance(message, SetMessage) or message.path.endpoint != self.name:
            self._counts["rejected_sets"] += 1
            log.warning("endpoint %s: ignored a message on %s that is not an @set of its own", self.name, topic)
            return
        path, wanted = message.path, message.attribute
        current = self._model.attribute(path)
        assert wanted.timestamp is not None  # decode_attribute requires one for @set
        if current.timestamp is not None and wanted.timestamp <= current.timestamp:
            # cloudio.md: a set whose timestamp is not newer than the attribute's current one is ignored.
            self._counts["stale_sets"] += 1
            log.info("endpoint %s: ignored stale @set of %s", self.name, path)
            return
        assert wanted.value is not None  # decode_attribute refuses a null value
        applied = current.with_value(wanted.value, wanted.timestamp)
        self._model = self._model.replace_attribute(path, applied)
        self._enqueue(Topic.did_set(path), encode_attribute(applied, self.fmt))
        log.info("endpoint %s: applied @set of %s", self.name, path)
        if self._on_set is not None:
            result = self._on_set(path, applied)
            if inspect.isawaitable(result):
                await result
