"""The Direct Control gateway (seed 3.2.5.6): what runs on the Raspberry Pi in each house.

* :mod:`~goflex.gateway.datamodel`: the pilot's exact cloud.iO data model (seed Appendix 4, Table 6);
* :mod:`~goflex.gateway.sampling` and :mod:`~goflex.gateway.failsafe`: the pure cores (seed Tables 2-3; the
  fail-safe of 3.2.5.6);
* :mod:`~goflex.gateway.drivers`: the field interfaces, with hardware adapters (:mod:`serial_meter`,
  :mod:`zwave_js`, :mod:`gpio`) and twin counterparts in :mod:`goflex.twin.emulators`;
* :mod:`~goflex.gateway.program`: :class:`Gateway`, one house's program; :mod:`~goflex.gateway.config`: its TOML
  configuration.

The program's modules are imported lazily, so that importing the data model stays free of asyncio and pyserial.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from goflex.gateway.datamodel import (
    BILLING_OBIS,
    ENERGY_OBIS,
    TECHNICAL_OBIS,
    HouseDevices,
    direct_control_model,
    endpoint_name,
    obis_object_name,
)

if TYPE_CHECKING:
    from goflex.gateway.config import GatewayConfig, load_config, parse_config
    from goflex.gateway.failsafe import Command, FailSafePolicy, FailSafeState, Mode
    from goflex.gateway.program import Gateway, GatewayStats, endpoint_factory
    from goflex.gateway.sampling import Sampler, SeriesRule
    from goflex.gateway.serial_meter import SerialMeter, SerialSettings

_LAZY = {
    "GatewayConfig": "goflex.gateway.config",
    "load_config": "goflex.gateway.config",
    "parse_config": "goflex.gateway.config",
    "Command": "goflex.gateway.failsafe",
    "FailSafePolicy": "goflex.gateway.failsafe",
    "FailSafeState": "goflex.gateway.failsafe",
    "Mode": "goflex.gateway.failsafe",
    "Gateway": "goflex.gateway.program",
    "GatewayStats": "goflex.gateway.program",
    "endpoint_factory": "goflex.gateway.program",
    "Sampler": "goflex.gateway.sampling",
    "SeriesRule": "goflex.gateway.sampling",
    "SerialMeter": "goflex.gateway.serial_meter",
    "SerialSettings": "goflex.gateway.serial_meter",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'goflex.gateway' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "BILLING_OBIS",
    "ENERGY_OBIS",
    "TECHNICAL_OBIS",
    "Command",
    "FailSafePolicy",
    "FailSafeState",
    "Gateway",
    "GatewayConfig",
    "GatewayStats",
    "HouseDevices",
    "Mode",
    "Sampler",
    "SerialMeter",
    "SerialSettings",
    "SeriesRule",
    "direct_control_model",
    "endpoint_factory",
    "endpoint_name",
    "load_config",
    "obis_object_name",
    "parse_config",
]
