"""The gateway's configuration: one TOML file, checked with pydantic at the boundary, held as frozen dataclasses.

``goflex gateway run --config FILE`` reads it (docs/gateway.md has the reference). Every error names the bad
key (``meter.parity: Input should be 'N', 'E' or 'O'``) through :class:`~goflex.common.ConfigError`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from goflex.common import ConfigError
from goflex.gateway.datamodel import HouseDevices, direct_control_model, endpoint_name
from goflex.gateway.failsafe import FailSafePolicy
from goflex.gateway.sampling import SeriesRule


class Driver(StrEnum):
    """Where the field devices are: real hardware, or the digital twin's emulators."""

    HARDWARE = "hardware"
    TWIN = "twin"


# seed Tables 2 and 3 (Appendix 4 for the smart-meter energy and billing rates). Keys are the [sampling] tables.
DEFAULT_RULES: dict[str, SeriesRule] = {
    "technical": SeriesRule(period_s=5.0, max_hold_s=30.0),  # +P/-P, Table 3: 5 s (configurable 1-5 s)
    "energy": SeriesRule(period_s=900.0, max_hold_s=3600.0),  # Appendix 4.1.5: 15 min (Table 3: 5 min)
    "billing": SeriesRule(period_s=86_400.0, max_hold_s=3 * 86_400.0),  # Appendix 4.1.4: once a day
    "ambient": SeriesRule(period_s=900.0, deadband=0.5, max_hold_s=3600.0),  # Table 2: 15 min or 0.5 K
    "boiler": SeriesRule(period_s=60.0, deadband=0.5, max_hold_s=3600.0),  # Table 2: 1 min or 0.5 K
    "power": SeriesRule(period_s=15.0, if_changing=True, heartbeat_s=900.0, max_hold_s=120.0),  # Table 2
    "submeter_energy": SeriesRule(period_s=15.0, max_hold_s=120.0),  # Table 2: energy every 15 s
}

_SERIAL_DEFAULTS = {"e450": (2400, "E"), "e360": (9600, "N")}  # meter-cii.md: E450 CII 2400 8E1, E360 P1 9600 8N1


@dataclass(frozen=True)
class CloudioConfig:
    """The link to the platform (cloud.iO endpoint)."""

    broker: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    topic_form: Literal["long", "short"] = "long"
    keepalive_s: int = 30
    check_hostname: bool = True


@dataclass(frozen=True)
class OutboxConfig:
    """Caps of the durable outbox, sized for a Raspberry Pi's SD card (docs/gateway.md).

    A house publishes about 2,000 messages per hour (meter every 5 s, sub-meter every 15 s): 200,000 messages
    hold four days of outage, and at ~300 bytes each about 60 MB, under the 64 MiB byte cap. Seven days is the
    age limit: older readings have no use for the market and would only delay the live data.
    """

    max_messages: int = 200_000
    max_bytes: int = 64 * 1024 * 1024
    max_age_s: float = 7 * 86_400.0
    backfill_rate_per_s: float = 50.0
    stop_grace_s: float = 3.0


@dataclass(frozen=True)
class MeterConfig:
    """The smart meter's serial line (CII)."""

    device: str
    model: Literal["e450", "e360"] = "e450"
    baudrate: int = 2400
    bytesize: int = 8
    parity: Literal["N", "E", "O"] = "E"
    stopbits: int = 1
    key: bytes | None = None
    auth_key: bytes | None = None


@dataclass(frozen=True)
class ZWaveConfig:
    """The zwave-js server and which node id is which cloud.iO node (``ambientSensor-1``...)."""

    server_url: str = "ws://localhost:3000"
    nodes: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RelayConfig:
    """GPIO pins (BCM numbering) of the relays and the On-Auto switch."""

    relay1_pin: int = 17
    relay2_pin: int = 27
    switch_pin: int = 22
    relay_active_high: bool = True
    switch_auto_level: bool = True  # pin level that means "auto"


@dataclass(frozen=True)
class TwinConfig:
    """For ``driver = "twin"`` in a stand-alone program: the simulated house and its clock."""

    seed: int = 1
    speed: float = 1.0


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway program needs (see docs/gateway.md for the file format)."""

    name: str
    devices: HouseDevices
    driver: Driver
    data_dir: Path
    cloudio: CloudioConfig
    meter: MeterConfig
    zwave: ZWaveConfig = field(default_factory=ZWaveConfig)
    relays: RelayConfig = field(default_factory=RelayConfig)
    failsafe: FailSafePolicy = field(default_factory=FailSafePolicy)
    sampling: dict[str, SeriesRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    twin: TwinConfig = field(default_factory=TwinConfig)
    control_period_s: float = 1.0
    publish: Literal["update", "transaction"] = "update"

    @property
    def outbox_path(self) -> Path:
        """The outbox file in ``data_dir``."""
        return self.data_dir / "outbox.db"


# -- the TOML boundary ----------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Gateway(_Strict):
    house: int | None = Field(default=None, ge=0, le=999)
    name: str | None = None
    driver: Driver = Driver.HARDWARE
    data_dir: Path = Path("/var/lib/goflex-gateway")
    control_period_s: float = Field(default=1.0, gt=0, le=60)
    publish: Literal["update", "transaction"] = "update"
    ambient_sensors: int = Field(default=1, ge=0, le=9)
    boiler_sensors: int = Field(default=1, ge=0, le=9)
    power_meters: int = Field(default=1, ge=0, le=3)  # seed 3.2.5.10: figure 1, 2 or 3


class _Cloudio(_Strict):
    broker: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    topic_form: Literal["long", "short"] = "long"
    keepalive_s: int = Field(default=30, ge=5, le=600)
    check_hostname: bool = True


class _Meter(_Strict):
    device: str
    model: Literal["e450", "e360"] = "e450"
    baudrate: int | None = Field(default=None, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] | None = None
    stopbits: Literal[1, 2] = 1
    key: str | None = None
    auth_key: str | None = None

    @field_validator("key", "auth_key")
    @classmethod
    def _hex16(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value)):
            raise ValueError("expected 32 hexadecimal digits (an AES-128 key)")
        return value


class _ZWave(_Strict):
    server_url: str = "ws://localhost:3000"
    nodes: dict[int, str] = {}

    @field_validator("nodes")
    @classmethod
    def _names(cls, nodes: dict[int, str]) -> dict[int, str]:
        for node_id, name in nodes.items():
            kind, _, number = name.partition("-")
            if kind not in ("ambientSensor", "boilerSensor", "powerMeter") or not number.isdigit():
                raise ValueError(f"node {node_id}: {name!r} is not ambientSensor-#, boilerSensor-# or powerMeter-#")
        return nodes


class _Relays(_Strict):
    relay1_pin: int = Field(default=17, ge=0, le=53)
    relay2_pin: int = Field(default=27, ge=0, le=53)
    switch_pin: int = Field(default=22, ge=0, le=53)
    relay_active_high: bool = True
    switch_auto_level: bool = True


class _FailSafe(_Strict):
    loss_delay_s: float = Field(default=300.0, ge=0)
    command_validity_s: float = Field(default=7200.0, gt=0)


class _Rule(_Strict):
    period_s: float | None = Field(default=None, gt=0)
    deadband: float | None = Field(default=None, gt=0)
    if_changing: bool | None = None
    heartbeat_s: float | None = Field(default=None, gt=0)
    max_hold_s: float | None = Field(default=None, gt=0)


class _Sampling(_Strict):
    technical: _Rule = _Rule()
    energy: _Rule = _Rule()
    billing: _Rule = _Rule()
    ambient: _Rule = _Rule()
    boiler: _Rule = _Rule()
    power: _Rule = _Rule()
    submeter_energy: _Rule = _Rule()

    @field_validator("technical")
    @classmethod
    def _technical_range(cls, rule: _Rule) -> _Rule:
        if rule.period_s is not None and not 1.0 <= rule.period_s <= 5.0:
            raise ValueError("period_s of the Technical group must be 1..5 s (seed Table 3)")
        return rule


class _Outbox(_Strict):
    max_messages: int = Field(default=200_000, ge=100)
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    max_age_s: float = Field(default=7 * 86_400.0, gt=0)
    backfill_rate_per_s: float = Field(default=50.0, gt=0)
    stop_grace_s: float = Field(default=3.0, ge=0, le=60)


class _Twin(_Strict):
    seed: int = 1
    speed: float = Field(default=1.0, gt=0)


class _File(_Strict):
    gateway: _Gateway
    cloudio: _Cloudio
    meter: _Meter
    zwave: _ZWave = _ZWave()
    relays: _Relays = _Relays()
    failsafe: _FailSafe = _FailSafe()
    sampling: _Sampling = _Sampling()
    outbox: _Outbox = _Outbox()
    twin: _Twin = _Twin()


def _rule(default: SeriesRule, override: _Rule) -> SeriesRule:
    values: dict[str, Any] = {
        "period_s": default.period_s,
        "deadband": default.deadband,
        "if_changing": default.if_changing,
        "heartbeat_s": default.heartbeat_s,
        "max_hold_s": default.max_hold_s,
    }
    values.update(override.model_dump(exclude_none=True))
    values["heartbeat_s"] = max(values["heartbeat_s"], values["period_s"])
    if math.isfinite(values["max_hold_s"]):
        values["max_hold_s"] = max(values["max_hold_s"], values["period_s"])
    return SeriesRule(**values)


def parse_config(document: dict[str, Any], *, base_dir: Path | None = None) -> GatewayConfig:
    """Check a parsed TOML document and build the configuration.

    Relative paths are taken relative to ``base_dir`` (the config file's directory).

    Raises:
        ConfigError: a key is missing, unknown or invalid; ``setting`` names it (``meter.parity``).
    """
    try:
        raw = _File.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigError(key, first["msg"]) from exc
    g = raw.gateway
    if (g.house is None) == (g.name is None):
        raise ConfigError("gateway.house", "give exactly one of gateway.house (a number) or gateway.name")
    try:
        name = endpoint_name(g.house) if g.house is not None else str(g.name)
        direct_control_model(name)  # checks the goflex-dc-<###> pattern
    except ValueError as exc:
        raise ConfigError("gateway.name", str(exc)) from exc

    def path(p: Path) -> Path:
        return p if p.is_absolute() or base_dir is None else base_dir / p

    m = raw.meter
    baud, parity = _SERIAL_DEFAULTS[m.model]
    sampling = {key: _rule(DEFAULT_RULES[key], getattr(raw.sampling, key)) for key in DEFAULT_RULES}
    c = raw.cloudio
    return GatewayConfig(
        name=name,
        devices=HouseDevices(g.ambient_sensors, g.boiler_sensors, g.power_meters),
        driver=g.driver,
        data_dir=path(g.data_dir),
        control_period_s=g.control_period_s,
        publish=g.publish,
        cloudio=CloudioConfig(
            broker=c.broker,
            ca_file=path(c.ca_file),
            cert_file=path(c.cert_file),
            key_file=path(c.key_file),
            topic_form=c.topic_form,
            keepalive_s=c.keepalive_s,
            check_hostname=c.check_hostname,
        ),
        meter=MeterConfig(
            device=m.device,
            model=m.model,
            baudrate=m.baudrate or baud,
            bytesize=m.bytesize,
            parity=m.parity or parity,  # type: ignore[arg-type]  # narrowed by the Literal of the table
            stopbits=m.stopbits,
            key=bytes.fromhex(m.key) if m.key else None,
            auth_key=bytes.fromhex(m.auth_key) if m.auth_key else None,
        ),
        zwave=ZWaveConfig(server_url=raw.zwave.server_url, nodes=dict(raw.zwave.nodes)),
        relays=RelayConfig(**raw.relays.model_dump()),
        failsafe=FailSafePolicy(raw.failsafe.loss_delay_s, raw.failsafe.command_validity_s),
        sampling=sampling,
        outbox=OutboxConfig(**raw.outbox.model_dump()),
        twin=TwinConfig(seed=raw.twin.seed, speed=raw.twin.speed),
    )


def load_config(path: Path) -> GatewayConfig:
    """Read and check a TOML configuration file.

    Raises:
        ConfigError: unreadable file, invalid TOML, or a bad key (named).
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("config file", f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config file", f"{path} is not valid TOML: {exc}") from exc
    return parse_config(document, base_dir=path.parent)
