"""The cloud.iO application SDK: read endpoints' data, command them, query the platform's HTTP API.

::

    app = Application("ems-1", broker="mqtts://broker:8883", ca_file=..., cert_file=..., key_file=...,
                      clock=RealClock(), api_url="https://goflex.example/", api_auth=("ems-1", password))
    async with app:
        async for message in app.subscribe("@update/goflex-dc-004/#", "@transaction/goflex-dc-004"):
            ...                                               # UpdateMessage / TransactionMessage
        await app.set("goflex-dc-004/gateway/relay1Control/parameter", True)
        points = await app.history("goflex-dc-004/powerMeter-1/wattsTotal/datapoint", start=..., end=...)

The broker decides what an application may read and write (its certificate's grants, seed 3.2.5.9); a filter it
may not read is typically granted and then delivers nothing (reliability.md). ``set`` sends the exact cloud.iO
Attribute document (timestamp = ``clock.time()``) with the constraint and type of the endpoint's declared
attribute, learnt from its retained ``@online`` message unless given explicitly. The connection is kept up with
capped full-jitter backoff; subscriptions are renewed after a reconnect (messages published while disconnected
are not replayed: query the history API for those).

A ``set`` whose PUBACK does not come in time is sent once more on a new connection: MQTT retransmits a QoS 1
message only after a reconnect (MQTT 5.0 4.4), and a link that swallows a PUBLISH silently (half-open TCP, a
stalled NAT) is otherwise noticed only after 1.5 keep-alives. The resend is harmless: it carries the same
timestamp, and an endpoint ignores an ``@set`` that is not newer than the attribute (cloudio.md).

Errors (all :class:`~goflex.cloudio.errors.CloudioError`): :class:`ConnectionLost` (not connected in time),
:class:`ModelUnavailable` (no ``@online`` for the endpoint), ``RejectedPayload`` (value does not fit, not a
Parameter/SetPoint), and the HTTP helpers' :class:`ApiError` (:class:`ApiNotFound` for 404/403).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import aiomqtt
import httpx

from goflex.cloudio.api_client import ApiClient, ApiError, ApiNotFound, EndpointData, HistoryPoint
from goflex.cloudio.backoff import Backoff
from goflex.cloudio.codec import Format
from goflex.cloudio.errors import CloudioError, RejectedPayload, RejectReason
from goflex.cloudio.messages import Message, OnlineMessage, decode_message, encode_attribute
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, Constraint, EndpointModel, Value
from goflex.cloudio.topics import Topic, TopicForm, build_topic
from goflex.cloudio.transport import ConnectionLost, TransportSettings, cancel_and_wait, make_client, release_socket
from goflex.common import Clock

log = logging.getLogger(__name__)

__all__ = ["ApiError", "ApiNotFound", "Application", "EndpointData", "HistoryPoint", "ModelUnavailable"]

_QUEUE = 10_000  # messages buffered per subscription before the oldest are dropped
SET_ATTEMPTS = 2  # an unconfirmed @set is sent once more, on a new connection


class ModelUnavailable(CloudioError):  # noqa: N818 - named for the caller's decision
    """The endpoint's data model is not known (no retained ``@online`` within the timeout, or no read right)."""


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT 5 section 4.7 filter matching: ``+`` one level, ``#`` the rest (including none)."""
    filter_levels, topic_levels = pattern.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or (level != "+" and level != topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


class Subscription:
    """Decoded messages on some topic filters, as an async iterator (use :meth:`Application.subscribe`)."""

    def __init__(self, app: Application, filters: tuple[str, ...]) -> None:
        self.filters = filters
        self._app = app
        self._queue: asyncio.Queue[Message] = asyncio.Queue(_QUEUE)
        self._ready = asyncio.Event()
        self.dropped = 0  # messages lost because the consumer fell more than _QUEUE behind

    def offer(self, message: Message) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(message)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        return await self._queue.get()

    async def wait_ready(self, timeout_s: float | None = 10.0) -> None:
        """Wait until the broker acknowledged every filter on the current connection (``TimeoutError``)."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    def _update_ready(self, active: set[str]) -> None:
        if all(f in active for f in self.filters):
            self._ready.set()
        else:
            self._ready.clear()

    async def get(self, timeout_s: float | None = None) -> Message:
        """The next message (``TimeoutError`` after ``timeout_s`` real seconds)."""
        return await asyncio.wait_for(self._queue.get(), timeout_s)

    async def close(self) -> None:
        """Stop receiving (unsubscribes filters no other subscription uses)."""
        await self._app._unsubscribe(self)  # private: a subscription belongs to its application


class Application:
    """A cloud.iO application: MQTT (subscribe, ``@set``) plus the HTTP API.

    Args:
        name: the application's identity (its certificate's CN; the MQTT client id).
        broker: ``mqtts://host:port``.
        ca_file, cert_file, key_file: the installation CA and the application's certificate and key (PEM).
        clock: source of time (``@set`` timestamps, backoff sleeps).
        api_url: base URL of the goflex HTTP API (``https://host/``); None disables the HTTP helpers.
        api_auth: HTTP credentials: ``(user, password)`` (HTTP Basic) or any ``httpx.Auth``.
        topic_form: form of the ``@set`` topics it publishes (LONG, the pilot's, by default).
        fmt: payload encoding of ``@set``.
        keepalive_s: MQTT keep-alive [s].
        backoff: reconnect backoff (default 1 s .. 60 s, full jitter).
        check_hostname: verify the broker's certificate name (keep True outside tests).
        api_transport: an ``httpx`` transport (tests pass ``httpx.MockTransport``).

    Raises:
        TransportError: bad broker URL or certificate files.
    """

    def __init__(
        self,
        name: str,
        *,
        broker: str,
        ca_file: Path | str | None,
        cert_file: Path | str | None,
        key_file: Path | str | None,
        clock: Clock,
        api_url: str | None = None,
        api_auth: tuple[str, str] | httpx.Auth | None = None,
        topic_form: TopicForm = TopicForm.LONG,
        fmt: Format = Format.JSON,
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
        check_hostname: bool = True,
        api_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self._transport = TransportSettings.from_files(
            broker,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            keepalive_s=keepalive_s,
            check_hostname=check_hostname,
        )
        self._clock = clock
        self.topic_form = topic_form
        self.fmt = fmt
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._rng = random.Random()
        self.api = ApiClient(api_url, auth=api_auth, transport=api_transport) if api_url else None
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._models: dict[str, EndpointModel] = {}
        self._model_arrived = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._link: asyncio.Future[None] | None = None  # the current connection (cancelled to force a reconnect)
        self._pending: set[asyncio.Future[None]] = set()
        self._active: set[str] = set()  # filters the broker acknowledged on the current connection
        self.rejected = 0  # messages that could not be decoded
        self.unconfirmed_sets = 0  # @set attempts without a PUBACK in time (each sent again on a new connection)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=f"application {self.name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect and close the HTTP client (idempotent)."""
        await cancel_and_wait(self._task)
        self._task = None
        if self.api is not None:
            await self.api.aclose()

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float | None = 10.0) -> aiomqtt.Client:
        """Wait until connected; return the client.

        Raises:
            ConnectionLost: not connected within ``timeout_s`` real seconds.
        """
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            raise ConnectionLost(f"application {self.name}: not connected to {self._transport.broker}") from None
        assert self._client is not None
        return self._client

    # -- MQTT ------------------------------------------------------------------------------------------------

    def subscribe(self, *patterns: str) -> Subscription:
        """Receive decoded messages on MQTT topic filters, e.g. ``@update/goflex-dc-004/#``, ``@update/+/#``.

        Returns at once; the subscription is made when (re)connected. Messages that cannot be decoded are
        counted in ``rejected`` and skipped.
        """
        if not patterns:
            raise ValueError("subscribe needs at least one topic filter")
        subscription = Subscription(self, tuple(patterns))
        self._subscriptions.append(subscription)
        subscription._update_ready(self._active)
        if self._client is not None and self.connected:
            client = self._client
            for pattern in patterns:
                task = asyncio.ensure_future(self._subscribe_quietly(client, pattern))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        return subscription

    async def model(self, endpoint: str, *, timeout_s: float = 5.0) -> EndpointModel:
        """The endpoint's data model from its retained ``@online`` message (cached, kept current).

        Raises:
            ModelUnavailable: nothing arrived within ``timeout_s`` real seconds.
        """
        if endpoint in self._models:
            return self._models[endpoint]
        topic = build_topic(Topic.online(endpoint))
        if not any(topic in s.filters for s in self._subscriptions):
            self.subscribe(topic)
        try:
            async with asyncio.timeout(timeout_s), self._model_arrived:
                await self._model_arrived.wait_for(lambda: endpoint in self._models)
        except TimeoutError:
            raise ModelUnavailable(f"no @online model of endpoint {endpoint!r} within {timeout_s} s") from None
        return self._models[endpoint]

    async def set(
        self,
        path: AttributePath | str,
        value: Value,
        *,
        constraint: Constraint | None = None,
        type_: AttributeType | None = None,
        timeout_s: float = 10.0,
    ) -> Attribute:
        """Publish ``@set`` for a Parameter or SetPoint attribute (QoS 1); return the Attribute sent.

        Args:
            path: the attribute (short or long form).
            value: the new value, of the attribute's type.
            constraint, type_: the declared constraint and type; both or neither (then taken from the model).
            timeout_s: how long to wait for the connection, the model and each PUBACK [s]; without a PUBACK the
                connection is renewed and the same document sent again, :data:`SET_ATTEMPTS` times in all.

        Raises:
            RejectedPayload: CONSTRAINT (not Parameter/SetPoint), WRONG_TYPE, UNKNOWN_ATTRIBUTE, MALFORMED path.
            ModelUnavailable: the model is needed but unknown.
            ConnectionLost: not connected in time, or the broker confirmed none of the attempts.
        """
        if isinstance(path, str):
            try:
                path = AttributePath.parse(path)
            except CloudioError as exc:
                raise RejectedPayload(RejectReason.MALFORMED, "path", str(exc)) from exc
        if (constraint is None) != (type_ is None):
            raise ValueError("give both constraint and type_, or neither")
        if constraint is None or type_ is None:
            declared = (await self.model(path.endpoint, timeout_s=timeout_s)).attribute(path)
            constraint, type_ = declared.constraint, declared.type
        if not Constraint(constraint).settable:
            raise RejectedPayload(RejectReason.CONSTRAINT, str(path), f"@set is not valid for a {constraint} attribute")
        attribute = Attribute(constraint, type_, self._clock.time(), value)
        topic = build_topic(Topic.set(path), self.topic_form)
        payload = encode_attribute(attribute, self.fmt)
        for attempt in range(1, SET_ATTEMPTS + 1):
            client = await self.wait_connected(timeout_s)
            try:
                await client.publish(topic, payload, qos=1, timeout=timeout_s)
            except aiomqtt.MqttError as exc:
                if attempt == SET_ATTEMPTS:
                    raise ConnectionLost(f"application {self.name}: @set of {path} not confirmed: {exc}") from exc
                self.unconfirmed_sets += 1
                log.warning(
                    "application %s: @set of %s not confirmed (%s): reconnecting to send it again", self.name, path, exc
                )
                self._renew(client)
                continue
            log.info("application %s: sent @set of %s", self.name, path)
            break
        return attribute

    # -- HTTP API (thin helpers over ApiClient) ---------------------------------------------------------------

    def _api(self) -> ApiClient:
        if self.api is None:
            raise ApiError(0, f"application {self.name} has no api_url")
        return self.api

    async def current(self, endpoint: str) -> EndpointData:
        """``GET /api/v1/data/<endpoint>``: the model with the last stored values, and online/banned."""
        return await self._api().endpoint_data(endpoint)

    async def current_value(self, path: AttributePath | str) -> Attribute:
        """``GET /api/v1/data/<endpoint>/<path>``: one attribute with its last stored value."""
        return await self._api().attribute(path)

    async def history(
        self,
        path: AttributePath | str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        resample_interval: str | None = None,
        resample_function: str | None = None,
        fill_value: float | None = None,
        max_rows: int | None = None,
    ) -> list[HistoryPoint]:
        """``GET /api/v1/history/<endpoint>/<path>``: stored values in ``[start, end)``, oldest first."""
        return await self._api().history(
            path,
            start=start,
            end=end,
            resample_interval=resample_interval,
            resample_function=resample_function,
            fill_value=fill_value,
            max_rows=max_rows,
        )

    # -- connection --------------------------------------------------------------------------------------------

    def _renew(self, client: aiomqtt.Client) -> None:
        """End the connection of ``client`` if it is still the current one; ``_run`` reconnects."""
        if self._client is client and self._link is not None:
            self._connected.clear()
            self._link.cancel()

    async def _run(self) -> None:
        attempt = 0
        while True:
            self._link = asyncio.ensure_future(self._connection())
            try:
                await self._link
                attempt = 0
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # close(): the application stops
                log.warning("application %s: connection renewed", self.name)  # _renew(): reconnect at once
                attempt = 0
            except aiomqtt.MqttError as exc:
                log.warning("application %s: connection to %s lost or refused: %s", self.name, self._broker, exc)
            except Exception:  # top loop: log, count, continue (style.md 5)
                log.exception("application %s: unexpected error; reconnecting", self.name)
            finally:
                self._connected.clear()
                self._client = None
                self._active.clear()
                for subscription in self._subscriptions:
                    subscription._update_ready(self._active)
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            await self._clock.sleep(delay)

    @property
    def _broker(self) -> str:
        return str(self._transport.broker)

    async def _connection(self) -> None:
        client = make_client(self._transport, identifier=self.name)
        try:
            async with client:
                # Connected first, then the snapshot: a subscribe() from now on subscribes by itself.
                self._client = client
                self._connected.set()
                for pattern in sorted({f for s in self._subscriptions for f in s.filters}):
                    await self._subscribe_quietly(client, pattern)
                log.info("application %s: connected to %s", self.name, self._broker)
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
                    await self._dispatch(message.topic.value, bytes(payload))
        finally:
            release_socket(client)

    async def _subscribe_quietly(self, client: aiomqtt.Client, pattern: str) -> None:
        try:
            codes = await client.subscribe(pattern, qos=1)
        except aiomqtt.MqttError as exc:
            log.warning("application %s: subscription to %s failed: %s", self.name, pattern, exc)
            return
        if any(getattr(code, "is_failure", False) for code in codes):
            log.warning("application %s: broker refused subscription to %s", self.name, pattern)
            return
        self._active.add(pattern)
        for subscription in self._subscriptions:
            subscription._update_ready(self._active)

    async def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        still = {f for s in self._subscriptions for f in s.filters}
        unused = [f for f in subscription.filters if f not in still]
        if unused and self._client is not None and self.connected:
            try:
                await self._client.unsubscribe(unused)
            except aiomqtt.MqttError as exc:
                log.warning("application %s: unsubscribe failed: %s", self.name, exc)

    async def _dispatch(self, topic: str, payload: bytes) -> None:
        try:
            endpoint = topic.split("/")[1] if "/" in topic else ""
            message = decode_message(topic, payload, model=self._models.get(endpoint))
        except CloudioError as exc:
            self.rejected += 1
            log.warning("application %s: ignored a message on %s: %s", self.name, topic, exc)
            return
        if isinstance(message, OnlineMessage):
            async with self._model_arrived:
                self._models[message.model.name] = message.model
                self._model_arrived.notify_all()
        for subscription in self._subscriptions:
            if any(topic_matches(f, topic) for f in subscription.filters):
                subscription.offer(message)
