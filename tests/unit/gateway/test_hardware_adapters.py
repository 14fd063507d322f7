"""Hardware adapters without the hardware: zwave-js value translation, GPIO with gpiozero's MockFactory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from goflex.gateway.gpio import GpioRelayBoard
from goflex.gateway.zwave_js import METER, SENSOR_MULTILEVEL, translate_value
from goflex.twin.emulators import DeviceReading


def test_multilevel_sensor_temperature() -> None:
    reading = translate_value(
        "ambientSensor-1",
        command_class=SENSOR_MULTILEVEL,
        endpoint=0,
        property_="Air temperature",
        unit="°C",
        value=21.5,
    )
    assert reading == DeviceReading("ambientSensor-1", "temperature", 21.5)
    fahrenheit = translate_value(
        "boilerSensor-1", command_class=SENSOR_MULTILEVEL, endpoint=0, property_="Air temperature", unit="°F", value=140
    )
    assert fahrenheit == DeviceReading("boilerSensor-1", "temperature", 60.0)
    humidity = translate_value(
        "ambientSensor-1", command_class=SENSOR_MULTILEVEL, endpoint=0, property_="Humidity", unit="%", value=40
    )
    assert humidity is None


@pytest.mark.parametrize(
    ("endpoint", "unit", "obj"),
    [(0, "W", "wattsTotal"), (1, "W", "wattsClamp1"), (3, "kWh", "kWhClamp3"), (None, "kWh", "kWhTotal")],
)
def test_home_energy_meter_endpoints_are_clamps(endpoint: int | None, unit: str, obj: str) -> None:
    reading = translate_value(
        "powerMeter-2", command_class=METER, endpoint=endpoint, property_="value", unit=unit, value=12
    )
    assert reading == DeviceReading("powerMeter-2", obj, 12.0)


def test_meter_scales_the_pilot_does_not_publish_are_ignored() -> None:
    assert (
        translate_value("powerMeter-1", command_class=METER, endpoint=1, property_="value", unit="V", value=230) is None
    )
    assert (
        translate_value("powerMeter-1", command_class=METER, endpoint=5, property_="value", unit="W", value=1) is None
    )
    assert (
        translate_value("powerMeter-1", command_class=METER, endpoint=0, property_="value", unit="W", value=None)
        is None
    )


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    pins = MockFactory()
    yield pins
    pins.reset()


def test_gpio_relays_start_closed_and_follow_commands(factory: MockFactory) -> None:
    board = GpioRelayBoard((17, 27), 22, pin_factory=factory)
    try:
        assert (board.relay_closed(1), board.relay_closed(2)) == (True, True)
        assert factory.pin(17).state == 1
        board.set_relay(1, False)
        assert factory.pin(17).state == 0
        assert board.relay_closed(1) is False
        with pytest.raises(ValueError, match="relay"):
            board.set_relay(3, True)
    finally:
        board.close()


def test_gpio_switch_levels(factory: MockFactory) -> None:
    board = GpioRelayBoard((17, 27), 22, pin_factory=factory, switch_auto_level=True)
    try:
        factory.pin(22).drive_high()
        assert board.switch_auto() is True
        factory.pin(22).drive_low()
        assert board.switch_auto() is False
    finally:
        board.close()
    active_low = GpioRelayBoard((5, 6), 13, pin_factory=factory, relay_active_high=False, switch_auto_level=False)
    try:
        assert factory.pin(5).state == 0  # closed = pin low on an active-low driver
        factory.pin(13).drive_low()
        assert active_low.switch_auto() is True
    finally:
        active_low.close()
