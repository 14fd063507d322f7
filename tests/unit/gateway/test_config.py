"""The gateway's TOML configuration: defaults per seed Tables 2-3, errors that name the bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from goflex.common import ConfigError
from goflex.gateway.config import Driver, load_config, parse_config

EXAMPLE = """
[gateway]
house = 4
driver = "twin"
data_dir = "state"

[cloudio]
broker = "mqtts://platform.example:8883"
ca_file = "pki/ca.crt"
cert_file = "pki/goflex-dc-004.crt"
key_file = "pki/goflex-dc-004.key"

[meter]
device = "/dev/serial/by-id/usb-mbus-if00"
model = "e360"

[zwave.nodes]
5 = "ambientSensor-1"
7 = "powerMeter-1"

[failsafe]
loss_delay_s = 120

[sampling.technical]
period_s = 2
"""


def doc(text: str = EXAMPLE) -> dict[str, Any]:
    return tomllib.loads(text)


def test_a_complete_file_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert config.name == "goflex-dc-004"
    assert config.driver is Driver.TWIN
    assert config.data_dir == tmp_path / "state"
    assert config.cloudio.cert_file == tmp_path / "pki/goflex-dc-004.crt"
    assert (config.meter.baudrate, config.meter.parity) == (9600, "N")  # E360 P1: 9600 8N1
    assert config.zwave.nodes == {5: "ambientSensor-1", 7: "powerMeter-1"}
    assert config.failsafe.loss_delay_s == 120.0
    assert config.failsafe.command_validity_s == 7200.0
    assert config.sampling["technical"].period_s == 2.0
    assert config.sampling["boiler"].period_s == 60.0
    assert config.sampling["boiler"].deadband == 0.5
    assert config.sampling["power"].if_changing


def test_e450_line_defaults() -> None:
    config = parse_config(doc(EXAMPLE.replace('model = "e360"', 'model = "e450"')))
    assert (config.meter.baudrate, config.meter.bytesize, config.meter.parity, config.meter.stopbits) == (
        2400,
        8,
        "E",
        1,
    )


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (('model = "e360"', 'model = "e360"\nparity = "X"'), "meter.parity"),
        (("period_s = 2", "period_s = 10"), "sampling.technical"),
        (("loss_delay_s = 120", "loss_delay_s = -1"), "failsafe.loss_delay_s"),
        (("house = 4", "house = 4\nflavour = 1"), "gateway.flavour"),
        (('5 = "ambientSensor-1"', '5 = "thermostat-1"'), "zwave.nodes"),
        (('broker = "mqtts://platform.example:8883"\n', ""), "cloudio.broker"),
        (("house = 4", "house = 4000"), "gateway.house"),
        (("house = 4", 'name = "house-4"'), "gateway.name"),
    ],
)
def test_errors_name_the_bad_key(edit: tuple[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(doc(EXAMPLE.replace(*edit)))
    assert info.value.setting.startswith(key)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
