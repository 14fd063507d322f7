"""The gateway program against a real Mosquitto (mTLS, the rendered production configuration), on a simulated
house: the E450 emulator writes real frames into a pty read by the SerialMeter, emulated Z-Wave devices and
relays act on real water-heater physics (goflex.twin.water_heater via TankHouse).

* every topic of seed Appendix 4 is published, exactly, and nothing else;
* an ``@set`` on relay1Control (the seed's own message form) switches the twin's heater off and on;
* the On-Auto switch on manual wins over commands, and is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goflex.cloudio.backoff import Backoff
from goflex.cloudio.endpoint_client import Endpoint, SetHandler
from goflex.common import SimClock
from goflex.gateway import HouseDevices, direct_control_model
from goflex.gateway.failsafe import FailSafePolicy, Mode
from goflex.gateway.program import Gateway
from goflex.gateway.sampling import SeriesRule
from goflex.gateway.serial_meter import SerialMeter
from goflex.twin.emulators import E450Emulator, EmulatedRelayBoard, EmulatedZWave, PushSchedule, TankHouse
from tests.integration.mosquitto import MosquittoBroker, TestClient

pytestmark = pytest.mark.mosquitto

START = datetime(2026, 1, 12, 6, tzinfo=UTC)
WAIT_S = 20.0
RELAY1 = "nodes/gateway/objects/relay1Control/attributes/parameter"
_numbers = itertools.count(700)  # the session broker keeps retained models: fresh names per test


def fresh_name() -> str:
    return f"goflex-dc-{next(_numbers):03d}"


@dataclass
class Rig:
    """A running gateway on a simulated house."""

    name: str
    clock: SimClock
    house: TankHouse
    emulator: E450Emulator
    gateway: Gateway


@contextlib.asynccontextmanager
async def running_gateway(
    broker: MosquittoBroker,
    tmp: Path,
    *,
    name: str,
    speed: float,
    loss_delay_s: float = 300.0,
    publish: str = "update",
    schedule: PushSchedule | None = None,
    sampling: dict[str, SeriesRule] | None = None,
    clock: SimClock | None = None,
    backoff: Backoff | None = None,
    resend_after_s: float = 30.0,
) -> AsyncIterator[Rig]:
    broker.issue(name)
    clock = clock or SimClock(START, speed=speed)
    house = TankHouse(name, clock, seed=11, initial_temp_c=40.0)  # a cold tank: the heater wants to run
    emulator = E450Emulator(house, clock, schedule=schedule)
    emulator.open()
    emulator_task = asyncio.create_task(emulator.run())
    ca = broker.ca

    def endpoint(on_set: SetHandler) -> Endpoint:
        return Endpoint(
            direct_control_model(name, HouseDevices()),
            broker=f"mqtts://{broker.host}:{broker.port}",
            ca_file=ca.ca_cert_path,
            cert_file=ca.cert_path(name),
            key_file=ca.key_path(name),
            outbox_path=tmp / f"{name}.outbox.db",
            clock=clock,
            on_set=on_set,
            backoff=backoff or Backoff(0.5, 2.0),  # simulated seconds
            resend_after_s=resend_after_s,  # simulated seconds
        )

    gateway = Gateway(
        name=name,
        devices=HouseDevices(),
        endpoint=endpoint,
        relays=EmulatedRelayBoard(house),
        clock=clock,
        meter=SerialMeter(emulator.device, clock=clock, backoff=Backoff(0.5, 2.0)),
        zwave=EmulatedZWave(house, clock, rng=random.Random(5)),
        failsafe=FailSafePolicy(loss_delay_s=loss_delay_s, command_validity_s=7200.0),
        sampling=sampling,
        publish=publish,
    )
    task = asyncio.create_task(gateway.run())
    try:
        yield Rig(name, clock, house, emulator, gateway)
    finally:
        await gateway.stop()
        await asyncio.wait_for(task, 10)
        emulator_task.cancel()
        await asyncio.gather(emulator_task, return_exceptions=True)
        emulator.close()


async def until(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def updates(client: TestClient, name: str, obj: str) -> list[object]:
    """Values published on a gateway status topic, in order; re-sends of one message counted once (without
    ingest's @ack the outbox re-sends unconfirmed messages, reliability.md)."""
    topic = f"@update/{name}/nodes/gateway/objects/{obj}/attributes/datapoint"
    payloads = [payload for t, payload in client.received(topic) if t == topic]
    return [json.loads(payload)["value"] for payload in dict.fromkeys(payloads)]


def send_set(api: TestClient, name: str, value: int, timestamp: float) -> None:
    # Appendix 4.2.1.1, verbatim: {"timestamp": [timeStamp], "value": 1} or 0.
    api.publish(f"@set/{name}/{RELAY1}", json.dumps({"timestamp": timestamp, "value": value}).encode())


def expected_topics(name: str) -> set[str]:
    model = direct_control_model(name, HouseDevices())
    return {
        f"@update/{name}/nodes/{node}/objects/{obj}/attributes/datapoint"
        for node, n in model.nodes.items()
        for obj, o in n.objects.items()
        if "datapoint" in o.attributes
    }


@pytest.fixture
def platform_client(mosquitto: MosquittoBroker) -> TestClient:
    client = mosquitto.client("ingest")  # a platform service: may read every endpoint's updates
    assert client.connected.is_set()
    return client


@pytest.fixture
def api_client(mosquitto: MosquittoBroker) -> TestClient:
    client = mosquitto.client("api")  # the platform's command publisher: may write @set
    assert client.connected.is_set()
    return client


async def test_appendix_4_topics_exactly(
    mosquitto: MosquittoBroker, platform_client: TestClient, tmp_path: Path
) -> None:
    name = fresh_name()
    platform_client.subscribe(f"@update/{name}/#")
    expected = expected_topics(name)
    assert len(expected) == 25  # 2 technical + 6 energy + 4 billing + 1 + 1 + 8 HEM + 3 gateway states
    try:
        async with running_gateway(mosquitto, tmp_path, name=name, speed=240) as rig:

            def all_seen() -> bool:
                return expected <= {t for t, _ in platform_client.received(f"@update/{name}/")}

            await until(all_seen, "every Appendix 4 topic")
            seen = {t for t, _ in platform_client.received(f"@update/{name}/")}
            energy_topic = f"@update/{name}/nodes/SmartMeterEnergy/objects/obis_1_1_1_8_0_255_2/attributes/datapoint"
            energy_kwh = json.loads(platform_client.received(energy_topic)[-1][1])["value"]
            meter_wh = rig.house.snapshot().meter.active_import_wh
    finally:
        platform_client.close()
    assert seen == expected
    assert energy_kwh == pytest.approx(meter_wh / 1000, abs=10.0)  # published in kWh (the meter counts Wh)
    assert updates(platform_client, name, "switchState") == [True]  # once at start, then only on change


async def test_set_on_relay1_switches_the_twins_heater(
    mosquitto: MosquittoBroker, platform_client: TestClient, api_client: TestClient, tmp_path: Path
) -> None:
    name = fresh_name()
    platform_client.subscribe(f"@update/{name}/#")
    try:
        async with running_gateway(mosquitto, tmp_path, name=name, speed=20) as rig:
            await until(lambda: rig.gateway.endpoint.connected, "the gateway to connect")
            await until(lambda: rig.house.tank_state.element_on, "the cold tank to heat")
            send_set(api_client, name, 0, rig.clock.time())
            await until(lambda: rig.house.snapshot().relay_closed[0] is False, "relay 1 to open")
            await rig.clock.sleep(30)  # a few physics steps with the relay open
            assert rig.house.tank_state.element_on is False
            assert rig.house.snapshot().clamps[0][0].power_w == 0.0
            await until(lambda: updates(platform_client, name, "relay1State")[-1:] == [False], "relay1State false")
            send_set(api_client, name, 1, rig.clock.time())
            await until(lambda: rig.house.snapshot().relay_closed[0] is True, "relay 1 to close")
            await rig.clock.sleep(30)
            assert rig.house.tank_state.element_on is True
            await until(lambda: updates(platform_client, name, "relay1State")[-1:] == [True], "relay1State true")
    finally:
        platform_client.close()
        api_client.close()
    assert updates(platform_client, name, "relay1State") == [True, False, True]


async def test_manual_switch_wins_over_commands_and_is_reported(
    mosquitto: MosquittoBroker, platform_client: TestClient, api_client: TestClient, tmp_path: Path
) -> None:
    name = fresh_name()
    platform_client.subscribe(f"@update/{name}/#")
    try:
        async with running_gateway(mosquitto, tmp_path, name=name, speed=20) as rig:
            await until(lambda: rig.gateway.endpoint.connected, "the gateway to connect")
            rig.house.set_switch_auto(False)  # the inhabitant turns the switch to manual
            await until(lambda: updates(platform_client, name, "switchState")[-1:] == [False], "switchState false")
            assert rig.gateway.failsafe_state.mode is Mode.MANUAL
            send_set(api_client, name, 0, rig.clock.time())
            await until(lambda: rig.gateway.stats().commands == 1, "the command to arrive")
            await rig.clock.sleep(10)
            assert rig.house.snapshot().relay_closed == (True, True)  # manual wins
            assert rig.house.tank_state.element_on is True
            rig.house.set_switch_auto(True)  # back to auto: the command (still valid) applies
            await until(lambda: rig.house.snapshot().relay_closed[0] is False, "the command to apply in auto")
            await until(lambda: updates(platform_client, name, "switchState")[-1:] == [True], "switchState true")
    finally:
        platform_client.close()
        api_client.close()
    assert updates(platform_client, name, "relay1State") == [True, False]
