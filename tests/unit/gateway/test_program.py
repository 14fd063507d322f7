"""The gateway program without a network: what it writes into its endpoint's outbox (the SDK is not started, so
nothing is sent; every publication is an outbox entry with its topic and payload)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from goflex.cloudio.endpoint_client import Endpoint, SetHandler
from goflex.common import SimClock
from goflex.dlms import Push
from goflex.gateway import HouseDevices, direct_control_model
from goflex.gateway.failsafe import FailSafePolicy, Mode
from goflex.gateway.program import Gateway
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.twin.emulators import DeviceReading, EmulatedRelayBoard, TankHouse

NAME = "goflex-dc-042"
START = datetime(2026, 3, 2, 12, tzinfo=UTC)
TECH = f"@update/{NAME}/nodes/SmartMeterTechnical/objects/obis_1_0_1_7_0_255_2/attributes/datapoint"
ENERGY = f"@update/{NAME}/nodes/SmartMeterEnergy/objects/obis_1_1_1_8_0_255_2/attributes/datapoint"


@dataclass
class Bench:
    clock: SimClock
    house: TankHouse
    gateway: Gateway

    def published(self) -> list[tuple[str, Any]]:
        entries = self.gateway.endpoint.outbox.next_batch(10_000, older_than=float("inf"))
        return [(e.topic, json.loads(e.payload)) for e in entries]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    CertificateAuthority.init(directory).issue(NAME, CertificateKind.ENDPOINT)
    return directory


def make_bench(pki: Path, tmp: Path, *, publish: str = "update") -> Bench:
    clock = SimClock(START, speed=0)
    house = TankHouse(NAME, clock)

    def endpoint(on_set: SetHandler) -> Endpoint:
        return Endpoint(
            direct_control_model(NAME),
            broker="mqtts://127.0.0.1:8883",
            ca_file=pki / "ca.crt",
            cert_file=pki / f"{NAME}.crt",
            key_file=pki / f"{NAME}.key",
            outbox_path=tmp / "outbox.db",
            clock=clock,
            on_set=on_set,
        )

    gateway = Gateway(
        name=NAME,
        devices=HouseDevices(),
        endpoint=endpoint,
        relays=EmulatedRelayBoard(house),
        clock=clock,
        failsafe=FailSafePolicy(loss_delay_s=60.0),
        publish=publish,
    )
    return Bench(clock, house, gateway)


@pytest.fixture
def bench(pki: Path, tmp_path: Path) -> Iterator[Bench]:
    b = make_bench(pki, tmp_path)
    yield b
    b.gateway.endpoint.outbox.close()


def push(at: datetime, **values: float) -> Push:
    keys = {"p": "1-0:1.7.0", "e": "1-1:1.8.0", "v": "1-0:32.7.0"}
    return Push(device="LGZ1", time=at, values={keys[k]: v for k, v in values.items()})


def test_meter_values_go_out_in_the_pilots_units_stamped_with_the_meter_clock(bench: Bench) -> None:
    bench.gateway.on_push(push(START, p=812, e=482939, v=231))
    bench.clock.advance(2.0)
    bench.gateway.on_push(push(START + timedelta(seconds=2), p=900, e=482940))  # inside the 5 s period
    out = bench.published()
    tech = [d for t, d in out if t == TECH]
    assert [(d["value"], d["timestamp"]) for d in tech] == [(812.0, START.timestamp())]
    assert [d["value"] for t, d in out if t == ENERGY] == [482.939]  # Wh -> kWh
    assert not any("32_7_0" in t for t, _ in out)  # voltages are not in the pilot's model


def test_a_meter_clock_far_off_is_replaced_by_the_gateways(bench: Bench) -> None:
    bench.gateway.on_push(push(START - timedelta(hours=2), p=10))
    (tech,) = [d for t, d in bench.published() if t == TECH]
    assert tech["timestamp"] == pytest.approx(bench.clock.time())


def test_zwave_readings_dead_band_and_unknown_devices(bench: Bench) -> None:
    temp = f"@update/{NAME}/nodes/boilerSensor-1/objects/temperature/attributes/datapoint"
    g = bench.gateway
    g.on_readings([DeviceReading("boilerSensor-1", "temperature", 55.0), DeviceReading("boilerSensor-7", "x", 1.0)])
    bench.clock.advance(10)
    g.on_readings([DeviceReading("boilerSensor-1", "temperature", 55.3)])  # < 0.5 K, < 60 s: held
    bench.clock.advance(10)
    g.on_readings([DeviceReading("boilerSensor-1", "temperature", 54.4)])  # 0.6 K: at once
    bench.clock.advance(60)
    g.control_step()  # the period has elapsed: the held value goes out again
    assert [d["value"] for t, d in bench.published() if t == temp] == [55.0, 54.4, 54.4]
    assert g.stats().readings == 4


def test_states_once_at_start_then_fail_safe_without_a_link(bench: Bench) -> None:
    g = bench.gateway
    g.control_step()
    g.control_step()
    states = [(t.split("/objects/")[1].split("/")[0], d["value"]) for t, d in bench.published() if "State" in t]
    assert sorted(states) == [("relay1State", True), ("relay2State", True), ("switchState", True)]
    bench.clock.advance(61)
    g.control_step()
    assert g.failsafe_state.mode is Mode.FAILSAFE
    bench.house.set_switch_auto(False)
    g.control_step()
    assert g.failsafe_state.mode is Mode.MANUAL
    assert [d["value"] for t, d in bench.published() if "switchState" in t] == [True, False]


def test_transaction_mode_groups_a_push(pki: Path, tmp_path: Path) -> None:
    b = make_bench(pki, tmp_path, publish="transaction")
    try:
        b.gateway.on_push(push(START, p=812, e=482939))
        ((topic, payload),) = b.published()
        assert topic == f"@transaction/{NAME}"
        assert len(payload["attributes"]) == 2
    finally:
        b.gateway.endpoint.outbox.close()
