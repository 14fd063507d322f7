"""The Z-Wave devices on real hardware, through a zwave-js server (zwave-js-server-python).

The Z-Wave stick is driven by ``zwave-js-server`` (the Z-Wave JS driver with a WebSocket API, e.g. the
``zwave-js-ui`` package on the Pi). This adapter connects as a client, listens to each configured node's
``value updated`` events and translates them (:func:`translate_value`, pure) into :class:`DeviceReading` values
with the pilot's names: the node map of the configuration says which node id is ``ambientSensor-1``,
``boilerSensor-1`` or ``powerMeter-1`` (seed 3.2.5.10: the figure does not say what is measured; metadata does).

Translation (Z-Wave command classes):

* Multilevel Sensor (CC 49), a property naming a temperature -> ``temperature`` [C] (a sensor set to
  Fahrenheit is converted);
* Meter (CC 50) of an Aeotec Home Energy Meter: endpoint 0 is the whole meter (``...Total``), endpoints 1-3 the
  clamps (``...Clamp1..3``); unit W -> ``watts...``, kWh -> ``kWh...``; other scales (V, A, kVAh) are not
  published by the pilot and are ignored.

The connection is retried with backoff for ever: a restarting zwave-js server is a gap in the Z-Wave series,
not a stop of the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

from goflex.cloudio.backoff import Backoff
from goflex.common import Clock
from goflex.twin.emulators.readings import DeviceReading

log = logging.getLogger(__name__)

SENSOR_MULTILEVEL = 49
METER = 50


def translate_value(  # noqa: PLR0911 - one return per command class and unit reads best
    node: str, *, command_class: int, endpoint: int | None, property_: str | int, unit: str | None, value: object
) -> DeviceReading | None:
    """One zwave-js value as a pilot reading, or None if the pilot does not publish it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    kind = node.partition("-")[0]
    if kind in ("ambientSensor", "boilerSensor"):
        if command_class != SENSOR_MULTILEVEL or "temperature" not in str(property_).lower():
            return None
        celsius = (float(value) - 32.0) * 5.0 / 9.0 if (unit or "").endswith("F") else float(value)
        return DeviceReading(node, "temperature", round(celsius, 2))
    if kind == "powerMeter" and command_class == METER:
        where = "Total" if not endpoint else f"Clamp{endpoint}"
        if endpoint is not None and not 0 <= endpoint <= 3:
            return None
        if unit == "W":
            return DeviceReading(node, f"watts{where}", float(value))
        if unit == "kWh":
            return DeviceReading(node, f"kWh{where}", float(value))
    return None


class ZWaveJsSource:
    """Readings from a zwave-js server.

    Args:
        server_url: ``ws://host:3000``.
        nodes: Z-Wave node id -> cloud.iO node name.
        clock: for the reconnect backoff.
        backoff: reconnect delays [s].
    """

    def __init__(
        self,
        server_url: str,
        nodes: Mapping[int, str],
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._url = server_url
        self._nodes = dict(nodes)
        self._clock = clock
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._rng = rng or random.Random()

    async def readings(self) -> AsyncIterator[list[DeviceReading]]:
        """Yield batches of readings until cancelled, reconnecting to the server as needed."""
        queue: asyncio.Queue[DeviceReading | None] = asyncio.Queue()
        attempt = 0
        while True:
            session_task = asyncio.create_task(self._session(queue))
            try:
                ended = False
                while not ended:
                    item = await queue.get()
                    if item is None:
                        break  # the session ended
                    batch = [item]
                    while not queue.empty():
                        more = queue.get_nowait()
                        if more is None:
                            ended = True
                            break
                        batch.append(more)
                    attempt = 0
                    yield batch
            finally:
                session_task.cancel()
                await asyncio.gather(session_task, return_exceptions=True)
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            log.warning("zwave-js %s: connection lost; retrying in %.1f s", self._url, delay)
            await self._clock.sleep(delay)

    async def _session(self, queue: asyncio.Queue[DeviceReading | None]) -> None:
        import aiohttp  # noqa: PLC0415 - only a hardware gateway needs the WebSocket stack
        from zwave_js_server.client import Client  # noqa: PLC0415

        try:
            async with aiohttp.ClientSession() as session, Client(self._url, session) as client:
                ready = asyncio.Event()
                listener = asyncio.create_task(client.listen(ready))
                await ready.wait()
                assert client.driver is not None
                for node_id, name in self._nodes.items():
                    node = client.driver.controller.nodes.get(node_id)
                    if node is None:
                        log.warning("zwave-js: node %d (%s) is not in the network", node_id, name)
                        continue
                    node.on("value updated", self._handler(name, queue))
                await listener
        except Exception as exc:  # noqa: BLE001 - the adapter's top loop: any failure means "reconnect later" (style.md 5)
            log.warning("zwave-js %s: %s", self._url, exc)
        finally:
            queue.put_nowait(None)

    @staticmethod
    def _handler(name: str, queue: asyncio.Queue[DeviceReading | None]) -> Any:
        def on_value(event: dict[str, Any]) -> None:
            args = event.get("args", {})
            value = event.get("value")
            unit = getattr(getattr(value, "metadata", None), "unit", None)
            reading = translate_value(
                name,
                command_class=int(args.get("commandClass", -1)),
                endpoint=args.get("endpoint"),
                property_=args.get("property", ""),
                unit=unit,
                value=args.get("newValue"),
            )
            if reading is not None:
                queue.put_nowait(reading)

        return on_value
