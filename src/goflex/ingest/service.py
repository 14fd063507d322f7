"""The ingest service: stores what endpoints publish (issue 2 section 5).

Data flow::

    broker --(MQTT 5, TLS client cert, $share/<group>/...)--> receive loop: validate, buffer (bounded)
        --> writer loop: batch -> worker thread -> history + process DB + dead letters (one commit)
        --> after the commit: @ack/<endpoint> {"ack": stored ranges}            (outbox releases them)
    gap loop: due gaps -> checked in the DB -> @ack/<endpoint> {"resend": missing ranges}

Guarantees (reliability.md): nothing is acknowledged before it is committed (R6); a message stored twice is kept
once (R8, idempotent on (endpoint, sequence)); gaps below the highest stored sequence number are asked for after
``gap_grace_s`` (R2); bad messages are dead-lettered and never block good ones (Q1); values outside the time window
are refused (R10). While the database is down the buffer holds up to ``max_pending`` rows; what does not fit is
dropped *unacknowledged*, so goflex gateways re-send it (plain cloud.iO endpoints rely on the broker).

Several workers may run side by side: data topics use a shared subscription, and gaps are checked against the
database before a resend is requested (another worker may have stored them). ``@online`` is subscribed without
sharing: a broker does not deliver retained messages to shared subscriptions (MQTT 5.0, 4.8.2), and every worker
needs every model to validate updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from goflex.cloudio.backoff import Backoff
from goflex.cloudio.errors import RejectReason
from goflex.cloudio.messages import Ack, decode_endpoint, encode_ack
from goflex.cloudio.model import EndpointModel
from goflex.cloudio.topics import Action, Topic, build_topic
from goflex.cloudio.transport import release_socket
from goflex.common import Clock, RealClock
from goflex.ingest.batcher import Batcher
from goflex.ingest.connection import SHARED_ACTIONS, UNSHARED_ACTIONS, make_client, parse_broker_url, seq_of
from goflex.ingest.ledger import Ledger, Range, to_ranges
from goflex.ingest.metrics import IngestMetrics
from goflex.ingest.rejections import RejectionLog
from goflex.ingest.validation import Validator, endpoint_of
from goflex.ingest.writer import Committed, Received, Writer
from goflex.store import (
    Database,
    DeadLetterRepository,
    HistoryRepository,
    ProcessRepository,
    StoreUnavailable,
)

log = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class Health:
    """The service's health: ``ok``, ``degraded`` (working with a problem, named in ``detail``) or ``down``."""

    status: HealthStatus
    detail: str


class IngestService:
    """Subscribes to everything endpoints publish and stores it.

    Args:
        db: the goflex database (migrated).
        broker: ``mqtts://host:port``.
        ca_file: the CA certificate [PEM path] that signed the broker's certificate.
        cert_file: this service's client certificate [PEM path] (CN e.g. ``ingest``).
        key_file: its private key [PEM path].
        clock: time source.
        share_group: MQTT 5 shared-subscription group.
        batch_max: rows per database transaction.
        flush_interval_s: longest wait before a partial batch is written [s].
        gap_grace_s: a missing sequence number is asked for after this [s].
        acceptance_window_s: oldest accepted value timestamp [s before now]; must exceed the outbox max age.
        future_tolerance_s: newest accepted value timestamp [s after now].
        max_pending: rows held in memory while the database is down.
        client_id: MQTT client id (a broker with ``use_username_as_clientid`` replaces it by the CN; run one
            certificate per worker).
        session_expiry_s: MQTT 5 session expiry; 0 = clean session. A positive value lets the broker queue
            messages for this worker while it restarts (do not use it with several workers on Mosquitto: an
            offline member of a share group keeps receiving its share).
        tls_hostname_check: verify the broker's certificate names the host.
        ack_qos: QoS of ``@ack`` messages.
    """

    def __init__(
        self,
        *,
        db: Database,
        broker: str,
        ca_file: Path | str,
        cert_file: Path | str,
        key_file: Path | str,
        clock: Clock | None = None,
        share_group: str = "ingest",
        batch_max: int = 5000,
        flush_interval_s: float = 0.2,
        gap_grace_s: float = 10.0,
        acceptance_window_s: float = 30 * 86_400.0,
        future_tolerance_s: float = 600.0,
        max_pending: int = 100_000,
        client_id: str = "ingest",
        session_expiry_s: int = 0,
        tls_hostname_check: bool = True,
        ack_qos: int = 1,
    ) -> None:
        self._host, self._port = parse_broker_url(broker)
        self._tls = ssl.create_default_context(cafile=str(ca_file))
        self._tls.load_cert_chain(str(cert_file), str(key_file))
        self._tls.check_hostname = tls_hostname_check
        self._clock: Clock = clock or RealClock()
        self._share_group = share_group
        self._client_id = client_id
        self._session_expiry_s = session_expiry_s
        self._ack_qos = ack_qos
        self._db = db
        self._process = ProcessRepository(db, clock=self._clock)
        self._writer = Writer(HistoryRepository(db), self._process, DeadLetterRepository(db))
        self._validator = Validator(future_tolerance_s=future_tolerance_s, acceptance_window_s=acceptance_window_s)
        self._ledger = Ledger(grace_s=gap_grace_s)
        self._batcher: Batcher[Received] = Batcher(
            self._clock.monotonic, batch_max=batch_max, flush_interval_s=flush_interval_s, max_pending=max_pending
        )
        self.metrics = IngestMetrics()
        self._rejections = RejectionLog(log, self._clock.monotonic)
        self._models: dict[str, EndpointModel | None] = {}
        self._counter = 0
        self._client: aiomqtt.Client | None = None
        self._subscribed = asyncio.Event()
        self._ack_tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._db_problem: str | None = None
        self._mqtt_problem: str | None = "not connected yet"
        self._backoff = Backoff(base_s=0.5, cap_s=30.0)
        self.metrics.db_up.set(1)

    # ------------------------------------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self, *, timeout_s: float = 30.0) -> None:
        """Start the loops and wait until the subscriptions are in place.

        Raises:
            TimeoutError: not subscribed within ``timeout_s`` (the service keeps trying; call :meth:`stop`).
        """
        self._task = asyncio.create_task(self.run(), name="ingest")
        waiter = asyncio.ensure_future(self._subscribed.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            waiter.cancel()
            self._task.result()  # raises what ended it
        if waiter not in done:
            waiter.cancel()
            raise TimeoutError(f"ingest not subscribed to {self._host}:{self._port} within {timeout_s} s")

    async def stop(self) -> None:
        """Stop, after one last attempt to write what is buffered (unacknowledged rows are re-sent anyway)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._client = None
        for task in list(self._ack_tasks):
            task.cancel()
        await asyncio.gather(*self._ack_tasks, return_exceptions=True)
        with contextlib.suppress(StoreUnavailable):
            while len(self._batcher):
                await self._flush_once()

    async def run(self) -> None:
        """Run until cancelled: receive, write, ask for gaps."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._mqtt_loop(), name="ingest-mqtt")
            group.create_task(self._writer_loop(), name="ingest-writer")
            group.create_task(self._gap_loop(), name="ingest-gaps")

    # ---------------------------------------------------------------------------------------------- health etc.
    def health(self) -> Health:
        """``ok``; ``degraded`` with the reason (database down, broker reconnecting, buffer full); ``down``."""
        if self._task is None or self._task.done():
            return Health(HealthStatus.DOWN, "ingest is not running")
        problems = [p for p in (self._db_problem, self._mqtt_problem) if p]
        if self._batcher.pending_rows >= self._batcher.max_pending:
            problems.append(f"pending buffer full ({self._batcher.pending_rows} rows), dropping new messages")
        if problems:
            return Health(HealthStatus.DEGRADED, "; ".join(problems))
        return Health(HealthStatus.OK, f"{self._batcher.pending_rows} rows pending")

    def metrics_text(self) -> bytes:
        """Prometheus text exposition of this service's registry."""
        return self.metrics.text()

    @property
    def ledger(self) -> Ledger:
        """The sequence ledger (read-only use: tests and diagnostics)."""
        return self._ledger

    # --------------------------------------------------------------------------------------------------- MQTT
    async def _mqtt_loop(self) -> None:
        attempt = 0
        while True:
            try:
                async with make_client(
                    self._host,
                    self._port,
                    client_id=self._client_id,
                    tls=self._tls,
                    session_expiry_s=self._session_expiry_s,
                ) as client:
                    self._client = client
                    shared = [(f"$share/{self._share_group}/{t}", SubscribeOptions(qos=1)) for t in SHARED_ACTIONS]
                    plain = [(t, SubscribeOptions(qos=1)) for t in UNSHARED_ACTIONS]
                    granted = await client.subscribe([*plain, *shared])
                    refused = [f for (f, _), code in zip([*plain, *shared], granted, strict=False) if _refused(code)]
                    if refused:
                        # Not retried: the broker's ACL decides, and a silent partial subscription would lose data.
                        self._mqtt_problem = f"broker refused the subscriptions {refused}"
                        log.error("ingest: the broker refused %s: check the ingest service's grants", refused)
                    else:
                        self._mqtt_problem = None
                    self.metrics.mqtt_up.set(1)
                    self._subscribed.set()
                    attempt = 0
                    log.info("ingest subscribed at %s:%d (share group %s)", self._host, self._port, self._share_group)
                    async for message in client.messages:
                        try:
                            await self._receive(message)
                        except Exception:  # the top loop: one bad message must never stop ingest
                            self.metrics.rejected.labels(reason=RejectReason.MALFORMED.value).inc()
                            log.exception("ingest: unexpected error on %s; message dropped", message.topic.value)
            except aiomqtt.MqttError as exc:
                if self._client is not None:
                    release_socket(self._client)  # aiomqtt leaks the socket of a broken TLS stream
                self._client = None
                self.metrics.mqtt_up.set(0)
                self._mqtt_problem = f"broker connection lost: {exc}"
                delay = self._backoff.delay(attempt)
                attempt += 1
                log.warning("ingest: broker %s:%d: %s; retrying in %.1f s", self._host, self._port, exc, delay)
                await asyncio.sleep(delay)

    async def _receive(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        payload = bytes(payload)
        endpoint = endpoint_of(topic)
        self.metrics.received.labels(action=topic.split("/", 1)[0][:16]).inc()
        try:
            model = await self._model(endpoint) if endpoint is not None else None
        except StoreUnavailable:
            # Cannot judge it without the model: drop it unacknowledged (a goflex gateway re-sends it).
            self.metrics.dropped.inc()
            return
        verdict = self._validator.validate(topic, payload, model=model, now=self._clock.time())
        if verdict.model is not None and verdict.endpoint is not None:
            self._models[verdict.endpoint] = verdict.model
        for rejection in verdict.rejections:
            self.metrics.rejected.labels(reason=rejection.reason.value).inc()
            self._rejections.rejected(verdict.endpoint, rejection.reason, topic, rejection.detail)
        self._counter += 1
        entry = Received(
            self._counter,
            topic,
            payload,
            verdict,
            seq_of(message.properties) if verdict.action is not None else None,
            bool(message.retain),
            self._clock.time(),
        )
        if not self._batcher.add(entry, entry.rows):
            self.metrics.dropped.inc(entry.rows)
        self.metrics.pending.set(self._batcher.pending_rows)

    async def _model(self, endpoint: str) -> EndpointModel | None:
        """The endpoint's model from the cache, else from the process database (cached, also when absent).

        Raises:
            StoreUnavailable: not cached and the database is down.
        """
        if endpoint in self._models:
            return self._models[endpoint]
        record = await asyncio.to_thread(self._process.get_endpoint, endpoint)  # StoreUnavailable: not cached
        model = None
        if record is not None and record.model_json:
            with contextlib.suppress(Exception):  # a model that no longer decodes is as good as none
                model = decode_endpoint(endpoint, record.model_json.encode())
        if len(self._models) > 100_000:
            self._models.clear()
        self._models[endpoint] = model
        return model

    # ------------------------------------------------------------------------------------------------- writing
    async def _writer_loop(self) -> None:
        attempt = 0
        while True:
            await self._batcher.wait_ready()
            try:
                await self._flush_once()
                attempt = 0
            except Exception as exc:  # the top loop: StoreUnavailable, or a bug; the batch is kept either way
                if not isinstance(exc, StoreUnavailable):
                    log.exception("ingest: unexpected error while writing a batch; retrying")
                delay = Backoff(base_s=0.2, cap_s=2.0).delay(attempt)
                attempt += 1
                await asyncio.sleep(delay)

    async def _flush_once(self) -> None:
        batch = self._batcher.take()
        if not batch:
            return
        started = self._clock.monotonic()
        try:
            committed = await self._commit([p.entry for p in batch])
        except Exception as exc:
            self._batcher.retry(batch)  # nothing was acknowledged; the same batch is written again later
            self.metrics.store_errors.inc()
            self.metrics.db_up.set(0)
            if self._db_problem is None:
                log.error("ingest: database unavailable, buffering (%d rows): %s", self._batcher.pending_rows, exc)
            self._db_problem = f"database write failed: {exc}"
            raise
        self._batcher.done(batch)
        if self._db_problem is not None:
            log.warning("ingest: database back, %d rows still pending", self._batcher.pending_rows)
        self._db_problem = None
        self.metrics.db_up.set(1)
        self.metrics.batch_latency.observe(self._clock.monotonic() - started)
        self.metrics.pending.set(self._batcher.pending_rows)
        await self._after_commit([p.entry for p in batch], committed)

    async def _commit(self, entries: list[Received]) -> Committed:
        seed = sorted(
            {e.verdict.endpoint for e in entries if e.seq is not None and e.verdict.endpoint} - set(self._ledger)
        )
        committed = await asyncio.to_thread(self._writer.commit_isolating, entries, seed=seed)
        if committed.refused:
            self.metrics.rejected.labels(reason=RejectReason.CONSTRAINT.value).inc(committed.refused)
        return committed

    async def _after_commit(self, entries: Sequence[Received], committed: Committed) -> None:
        now = self._clock.time()
        self.metrics.stored.inc(committed.stored)
        self.metrics.duplicates.inc(committed.duplicates)
        for entry in entries:
            for item in entry.verdict.items:
                self.metrics.lag.observe(max(0.0, now - item.timestamp))
        for name, seed in committed.seeds.items():
            if name not in self._ledger:
                self._ledger.seed(name, highest=seed.highest, missing=seed.missing, now=now)
        for name, seqs in committed.seqs.items():
            before = self._ledger.abandoned_total
            self._ledger.record(name, seqs, now)
            self.metrics.gaps_abandoned.inc(self._ledger.abandoned_total - before)
        self.metrics.gaps_open.set(self._ledger.open_gaps())
        # Acks go out in the background: waiting for their PUBACKs here would hold the next commit back by a
        # broker round trip per batch (measured: it halved throughput with 500 endpoints). Unsent acks are
        # harmless: the outbox re-sends and the ledger answers with an ack again.
        acks = [self._publish_ack(name, to_ranges(seqs), ()) for name, seqs in committed.seqs.items()]
        if acks:
            task = asyncio.create_task(_gather(acks))
            self._ack_tasks.add(task)
            task.add_done_callback(self._ack_tasks.discard)

    async def _publish_ack(self, endpoint: str, acked: Sequence[Range], resend: Sequence[Range]) -> None:
        client = self._client
        if client is None:
            return  # the outbox re-sends what stays unacknowledged; the next commit acknowledges it
        payload = encode_ack(Ack(acked=tuple(acked), resend=tuple(resend)))
        try:
            await client.publish(build_topic(Topic(Action.ACK, endpoint)), payload, qos=self._ack_qos, timeout=10)
        except aiomqtt.MqttError as exc:
            log.debug("ingest: @ack to %s not sent: %s", endpoint, exc)
            return
        self.metrics.acks.inc()

    # ---------------------------------------------------------------------------------------------------- gaps
    async def _gap_loop(self) -> None:
        period = max(0.1, min(1.0, self._ledger.grace_s / 4))
        while True:
            await self._clock.sleep(period)
            if self._db_problem is not None:
                continue
            await self._ask_for_gaps()

    async def _ask_for_gaps(self) -> None:
        now = self._clock.time()
        for name in self._ledger.endpoints_with_gaps():
            due = self._ledger.due(name, now)
            if not due:
                continue
            try:
                missing = await asyncio.to_thread(self._writer.missing, name, due)
            except StoreUnavailable:
                return
            before = self._ledger.abandoned_total
            self._ledger.confirm(name, due, missing, now)
            self.metrics.gaps_abandoned.inc(self._ledger.abandoned_total - before)
            if missing:
                self.metrics.resend_requests.inc(sum(hi - lo + 1 for lo, hi in missing))
                log.info("ingest: asking %s to re-send %s", name, list(missing)[:10])
                await self._publish_ack(name, (), missing)
        self.metrics.gaps_open.set(self._ledger.open_gaps())


async def _gather(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*coroutines)


def _refused(code: object) -> bool:
    """A SUBACK entry that is a failure: MQTT 5 reason >= 0x80 (paho ReasonCode) or the 3.1.1 0x80."""
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80
