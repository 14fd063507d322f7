"""How the API sends ``@set``: the :class:`SetPublisher` seam and its MQTT implementation.

The HTTP API does not write to endpoints directly: a ``PUT /data/...`` becomes a cloud.iO ``@set`` message
(cloudio.md, topics) that the endpoint applies and confirms with ``@didSet``. Routes depend only on the
:class:`SetPublisher` protocol; :class:`MqttSetPublisher` is the production implementation, connected to the
broker with the API's own service certificate (the broker ACL lets that identity publish ``@set/#``), and tests of
the routes use a recording fake.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import aiomqtt

from goflex.api.errors import ApiError, ErrorCode
from goflex.cloudio.messages import encode_attribute
from goflex.cloudio.model import Attribute, AttributePath
from goflex.cloudio.topics import Topic, TopicForm, build_topic
from goflex.cloudio.transport import TransportSettings, make_client, release_socket

log = logging.getLogger(__name__)


class SetPublisher(Protocol):
    """Publishes a ``@set`` for one attribute."""

    async def publish_set(self, path: AttributePath, attribute: Attribute) -> None:
        """Publish ``attribute`` (new value, timestamp = now) to ``@set/<path>``.

        Raises:
            ApiError: the message could not be handed to the broker (503, code ``publish_failed``).
        """


def set_topic(path: AttributePath, form: TopicForm = TopicForm.SHORT) -> str:
    """The ``@set`` topic of ``path`` in the deployment's topic form."""
    return build_topic(Topic.set(path), form)


class MqttSetPublisher:
    """Publishes ``@set`` messages at QoS 1 over one long-lived MQTT 5 connection, reconnecting on demand.

    A request whose publish fails gets a 503 at once (the caller retries): the API holds no queue of commands,
    because a command that arrives late may be worse than none (an EMS re-decides with fresh data).

    Args:
        settings: broker address and TLS context holding the API's service certificate.
        identity: the API's service name (certificate CN = MQTT client id = username).
        form: topic form of the deployment (short by default; long for the Swiss pilot's endpoints).
    """

    def __init__(self, settings: TransportSettings, *, identity: str, form: TopicForm = TopicForm.SHORT) -> None:
        self._settings = settings
        self._identity = identity
        self._form = form
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> aiomqtt.Client:
        if self._client is None:
            client = make_client(self._settings, identifier=self._identity)
            await client.__aenter__()
            self._client = client
        return self._client

    async def publish_set(self, path: AttributePath, attribute: Attribute) -> None:
        topic = set_topic(path, self._form)
        payload = encode_attribute(attribute)
        async with self._lock:
            try:
                client = await self._connected()
                await asyncio.wait_for(client.publish(topic, payload, qos=1), self._settings.timeout_s)
            except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
                await self._drop()
                log.warning("@set to %s not published: %s", topic, type(exc).__name__)
                raise ApiError(503, ErrorCode.PUBLISH_FAILED, f"broker unavailable, @set to {path} not sent") from exc

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError:
            log.debug("closing a broken MQTT connection failed", exc_info=True)
        finally:
            release_socket(client)

    async def close(self) -> None:
        """Disconnect from the broker."""
        async with self._lock:
            await self._drop()
