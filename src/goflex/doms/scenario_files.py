"""The DOMS scenario format: ``grid.csv`` and ``fleet.json`` (issue 5 section 1; schema in docs/doms-scenarios.md).

A scenario directory is the contract between the generator (``goflex doms scenario``), the analysis
(``goflex doms analyze``) and the evaluation (``goflex doms evaluate``), and anyone may hand-write one, so the
readers are strict: every error names the file, the row (``grid.csv``, 1-based line numbers with the header as
line 1) or the key path (``fleet.json``) and the rule broken.

One exception, on purpose: a live load value that is empty or not a number is *data*, not a format error. The
TG8000 feed has holes and bad values (seed 3.3.2: "holes in the data might occur") and DOMS must detect them,
so they are kept as NaN and counted (:attr:`GridSeries.load_gaps`, :attr:`GridSeries.load_unparsable`).
Bad values in the forecast or the prices are errors: those come from a schedule, not a meter.

Pure apart from the reading and writing of the two files (this is the format module).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from goflex.common import GoflexError

STEP_S: Final = 300  # one row per 5 minutes (TG8000 live load, seed 3.3.3)
QUARTER_S: Final = 900  # settlement period (seed 3.3.3: "all energy exchanges are accounted on the 15 minutes basis")
GRID_FILE: Final = "grid.csv"
FLEET_FILE: Final = "fleet.json"
REQUIRED_COLUMNS: Final = ("time", "load_mw", "dayahead_mw", "spot_eur_mwh")
PRICE_COLUMNS: Final = ("price_short_eur_mwh", "price_long_eur_mwh")


class ScenarioError(GoflexError):
    """A scenario file breaks the format; the caller must fix the file.

    Attributes:
        path: the file (or its name).
        where: ``row 12, column 'spot_eur_mwh'`` or ``groups[1].comfort_c``.
        problem: the rule broken.
    """

    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem


# --------------------------------------------------------------------------------------------------- grid.csv


@dataclass(frozen=True, eq=False)
class GridSeries:
    """The balance group's series, one value per 5-minute interval (all arrays of the same length ``n``).

    Attributes:
        time_s: start of each interval, Unix time [s] (int64, strictly 300 s apart, first on a quarter hour,
            ``n`` a multiple of 3).
        load_mw: live balance-group load, mean over the interval [MW]; NaN where the value is missing or bad.
        dayahead_mw: day-ahead forecast [MW] (constant within each quarter hour).
        spot_eur_mwh: day-ahead spot price [EUR/MWh] (constant within each quarter hour).
        price_short_eur_mwh: imbalance price when short, or None (then the two-price rule applies).
        price_long_eur_mwh: imbalance price when long, or None.
        load_gaps: number of empty load values (holes).
        load_unparsable: number of load values that were not finite numbers (kept as NaN).
    """

    time_s: NDArray[np.int64]
    load_mw: NDArray[np.float64]
    dayahead_mw: NDArray[np.float64]
    spot_eur_mwh: NDArray[np.float64]
    price_short_eur_mwh: NDArray[np.float64] | None = None
    price_long_eur_mwh: NDArray[np.float64] | None = None
    load_gaps: int = 0
    load_unparsable: int = 0

    def __post_init__(self) -> None:
        n = self.time_s.size
        for name in ("load_mw", "dayahead_mw", "spot_eur_mwh", "price_short_eur_mwh", "price_long_eur_mwh"):
            values = getattr(self, name)
            if values is not None and values.shape != (n,):
                raise ValueError(f"{name} has shape {values.shape}, expected ({n},)")
        if (self.price_short_eur_mwh is None) != (self.price_long_eur_mwh is None):
            raise ValueError("price_short_eur_mwh and price_long_eur_mwh go together (both or neither)")

    @property
    def quarters(self) -> int:
        """Number of quarter hours."""
        return self.time_s.size // 3

    @property
    def has_imbalance_prices(self) -> bool:
        """Whether the file gave imbalance prices (else the two-price rule of physics-and-grid.md 6 applies)."""
        return self.price_short_eur_mwh is not None


def format_time(t: int) -> str:
    """A Unix time as the format's UTC ISO 8601 text (``2016-01-01T00:05:00Z``)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str, where: str, path: str) -> int:
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise ScenarioError(path, where, f"{text!r} is not an ISO 8601 time") from None
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise ScenarioError(path, where, f"{text!r} is not UTC (write 'Z' or '+00:00')")
    stamp = moment.timestamp()
    if stamp != math.floor(stamp) or int(stamp) % STEP_S:
        raise ScenarioError(path, where, f"{text!r} is not on a 5-minute boundary")
    return int(stamp)


def parse_number(text: str, where: str, path: str) -> float:
    """A finite number, or a :class:`ScenarioError` naming ``where`` in ``path``."""
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(path, where, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ScenarioError(path, where, f"{text!r} is not a finite number")
    return value


def _check_header(header: Sequence[str], path: str) -> list[str]:
    columns = [c.strip() for c in header]
    for i, name in enumerate(columns):
        if name not in REQUIRED_COLUMNS + PRICE_COLUMNS:
            raise ScenarioError(path, f"row 1, column {i + 1}", f"unknown column {name!r}")
        if name in columns[:i]:
            raise ScenarioError(path, f"row 1, column {i + 1}", f"column {name!r} appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise ScenarioError(path, "row 1", f"missing column {name!r}")
    present = [name in columns for name in PRICE_COLUMNS]
    if any(present) and not all(present):
        missing = PRICE_COLUMNS[present.index(False)]
        raise ScenarioError(path, "row 1", f"missing column {missing!r} (imbalance prices go in pairs)")
    return columns


class _Rows:
    """The columns of ``grid.csv`` being collected row by row."""

    def __init__(self, columns: list[str], path: str) -> None:
        self.index = {name: columns.index(name) for name in columns}
        self.width = len(columns)
        self.path = path
        self.times: list[int] = []
        self.load: list[float] = []
        self.values: dict[str, list[float]] = {
            c: [] for c in ("dayahead_mw", "spot_eur_mwh", *PRICE_COLUMNS) if c in self.index
        }
        self.gaps = 0
        self.unparsable = 0

    def add(self, line: int, row: list[str]) -> None:
        if len(row) != self.width:
            raise ScenarioError(self.path, f"row {line}", f"{len(row)} fields, expected {self.width}")
        raw_time = row[self.index["time"]]
        where = f"row {line}, column 'time'"
        t = _parse_time(raw_time, where, self.path)
        if self.times and t != self.times[-1] + STEP_S:
            rule = "unsorted or repeated" if t <= self.times[-1] else "not 5 minutes after the previous row"
            raise ScenarioError(self.path, where, f"{raw_time!r}: {rule}")
        if not self.times and t % QUARTER_S:
            raise ScenarioError(self.path, where, "the first row must start a quarter hour")
        self.times.append(t)
        self.load.append(self._load(row[self.index["load_mw"]].strip()))
        for name, values in self.values.items():
            values.append(parse_number(row[self.index[name]], f"row {line}, column {name!r}", self.path))

    def _load(self, raw: str) -> float:
        # Live data: a hole or a bad value is kept as NaN and counted (seed 3.3.2: DOMS must detect them).
        if not raw:
            self.gaps += 1
            return math.nan
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.unparsable += 1
            return math.nan
        return value


def parse_grid_csv(text: str, *, path: str = GRID_FILE) -> GridSeries:
    """Parse the text of a ``grid.csv``.

    Args:
        text: the file's content.
        path: the name used in error messages.

    Raises:
        ScenarioError: unknown or missing column, a row of the wrong width, a time that is not UTC, not on a
            5-minute boundary, not 300 s after the previous one, a series not starting on a quarter hour or
            not made of whole quarter hours, a forecast or price that is not a finite number or not constant
            within its quarter hour, or no data row at all.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ScenarioError(path, "", "empty file (expected a header row)")
    rows = _Rows(_check_header(header, path), path)
    for line, row in enumerate(reader, start=2):
        if row and (len(row) > 1 or row[0].strip()):  # skip blank lines (a trailing newline)
            rows.add(line, row)
    times = rows.times
    if not times:
        raise ScenarioError(path, "", "no data row")
    if len(times) % 3:
        raise ScenarioError(path, f"row {len(times) + 1}", "the series must end with a whole quarter hour")
    arrays = {name: np.asarray(v, dtype=np.float64) for name, v in rows.values.items()}
    for name, array in arrays.items():
        quarters = array.reshape(-1, 3)
        bad = np.flatnonzero(np.any(quarters != quarters[:, :1], axis=1))
        if bad.size:
            q = int(bad[0])
            raise ScenarioError(
                path, f"rows {3 * q + 2}-{3 * q + 4}, column {name!r}", "must be constant within a quarter hour"
            )
    return GridSeries(
        time_s=np.asarray(times, dtype=np.int64),
        load_mw=np.asarray(rows.load, dtype=np.float64),
        dayahead_mw=arrays["dayahead_mw"],
        spot_eur_mwh=arrays["spot_eur_mwh"],
        price_short_eur_mwh=arrays.get("price_short_eur_mwh"),
        price_long_eur_mwh=arrays.get("price_long_eur_mwh"),
        load_gaps=rows.gaps,
        load_unparsable=rows.unparsable,
    )


def read_grid(path: Path) -> GridSeries:
    """Read a ``grid.csv`` (see :func:`parse_grid_csv`).

    Raises:
        ScenarioError: the file cannot be read or breaks the format.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot be read ({exc})") from exc
    return parse_grid_csv(text, path=str(path))


def _fmt(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def format_grid_csv(grid: GridSeries) -> str:
    """The ``grid.csv`` text of ``grid`` (NaN load values become empty fields; MW with 4 decimals = 100 W)."""
    columns = list(REQUIRED_COLUMNS) + (list(PRICE_COLUMNS) if grid.has_imbalance_prices else [])
    lines = [",".join(columns)]
    short, long_ = grid.price_short_eur_mwh, grid.price_long_eur_mwh
    for i in range(grid.time_s.size):
        fields = [
            format_time(int(grid.time_s[i])),
            _fmt(float(grid.load_mw[i]), 4),
            _fmt(float(grid.dayahead_mw[i]), 4),
            _fmt(float(grid.spot_eur_mwh[i]), 2),
        ]
        if short is not None and long_ is not None:
            fields += [_fmt(float(short[i]), 2), _fmt(float(long_[i]), 2)]
        lines.append(",".join(fields))
    return "\n".join(lines) + "\n"


def write_grid(path: Path, grid: GridSeries) -> None:
    """Write ``grid`` as ``grid.csv`` text to ``path``."""
    path.write_text(format_grid_csv(grid), encoding="utf-8")


# ------------------------------------------------------------------------------------------------- fleet.json


@dataclass(frozen=True)
class WaterHeaterGroup:
    """``count`` electric water heaters alike (physics-and-grid.md 2: one-node tank, thermostat, relay).

    Attributes:
        count: number of devices (>= 0).
        power_kw: rated electric power [kW] (> 0).
        volume_l: tank volume [L] (> 0).
        setpoint_c: thermostat cut-out [C] (below 100).
        deadband_k: thermostat hysteresis [K] (> 0): heats from ``setpoint - deadband`` up to ``setpoint``.
        min_temp_c: comfort limit [C]: the tank must not fall below it (<= ``setpoint - deadband``).
        ua_w_per_k: standby loss coefficient [W/K] (> 0).
        persons: range of inhabitants per house [lo, hi] (1 <= lo <= hi), for the hot water draws.
        name: a label (default: the type).
    """

    count: int
    power_kw: float
    volume_l: float
    setpoint_c: float
    deadband_k: float
    min_temp_c: float
    ua_w_per_k: float
    persons: tuple[int, int]
    name: str = "water_heater"

    type_name: ClassVar[str] = "water_heater"


@dataclass(frozen=True)
class HeatPumpGroup:
    """``count`` heat pumps heating alike buildings (physics-and-grid.md 3: 1R1C building, COP from Carnot).

    Attributes:
        count: number of devices (>= 0).
        thermal_kw: nominal thermal power [kW] (> 0).
        h_w_per_k: building heat loss coefficient H = 1/R [W/K] (> 0).
        c_kwh_per_k: building heat capacity [kWh/K] (> 0).
        comfort_c: indoor comfort band [lo, hi] [C] (lo < hi).
        name: a label (default: the type).
    """

    count: int
    thermal_kw: float
    h_w_per_k: float
    c_kwh_per_k: float
    comfort_c: tuple[float, float]
    name: str = "heat_pump"

    type_name: ClassVar[str] = "heat_pump"


@dataclass(frozen=True)
class DirectHeatingGroup:
    """``count`` direct electric (resistive) room heatings of alike buildings.

    Attributes:
        count: number of devices (>= 0).
        power_kw: rated electric (= thermal) power [kW] (> 0).
        h_w_per_k: building heat loss coefficient [W/K] (> 0).
        c_kwh_per_k: building heat capacity [kWh/K] (> 0).
        comfort_c: indoor comfort band [lo, hi] [C] (lo < hi).
        name: a label (default: the type).
    """

    count: int
    power_kw: float
    h_w_per_k: float
    c_kwh_per_k: float
    comfort_c: tuple[float, float]
    name: str = "direct_heating"

    type_name: ClassVar[str] = "direct_heating"


DeviceGroup = WaterHeaterGroup | HeatPumpGroup | DirectHeatingGroup


@dataclass(frozen=True)
class Fleet:
    """The flexible devices the DSO can switch, as groups of alike devices.

    Attributes:
        seed: the seed the fleet (and the scenario) was drawn with; the evaluation draws individual devices
            around each group's values from it.
        groups: the device groups.
        scale: ``pilot``, ``territory`` or ``custom`` (informative).
        houses: houses (relays or ripple-control receivers) the devices sit behind; None = not stated.
    """

    seed: int
    groups: tuple[DeviceGroup, ...]
    scale: str = "custom"
    houses: int | None = None

    def count(self, type_name: str) -> int:
        """Devices of one type in all groups."""
        return sum(g.count for g in self.groups if g.type_name == type_name)


SCALES: Final = ("pilot", "territory", "custom")
_GROUP_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "water_heater": (
        "count",
        "power_kw",
        "volume_l",
        "setpoint_c",
        "deadband_k",
        "min_temp_c",
        "ua_w_per_k",
        "persons",
    ),
    "heat_pump": ("count", "thermal_kw", "h_w_per_k", "c_kwh_per_k", "comfort_c"),
    "direct_heating": ("count", "power_kw", "h_w_per_k", "c_kwh_per_k", "comfort_c"),
}


class _Keys:
    """Typed access to one JSON object; every error names its key path."""

    def __init__(self, obj: object, where: str, path: str) -> None:
        if not isinstance(obj, dict):
            raise ScenarioError(path, where or "top level", "must be a JSON object")
        self.obj: dict[str, Any] = obj
        self.where = where
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, problem: str) -> ScenarioError:
        return ScenarioError(self.path, self.key(name), problem)

    def only(self, allowed: Sequence[str]) -> None:
        for name in self.obj:
            if name not in allowed:
                raise self.fail(name, f"unknown key (allowed: {', '.join(allowed)})")

    def get(self, name: str) -> Any:
        if name not in self.obj:
            raise self.fail(name, "missing")
        return self.obj[name]

    def integer(self, name: str, *, minimum: int) -> int:
        value = self.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"{value!r} is not an integer")
        if value < minimum:
            raise self.fail(name, f"{value} is below {minimum}")
        return value

    def number(self, name: str, *, positive: bool = False, below: float | None = None) -> float:
        value = self.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(name, f"{value!r} is not a finite number")
        if positive and value <= 0:
            raise self.fail(name, f"{value} must be > 0")
        if below is not None and value >= below:
            raise self.fail(name, f"{value} must be < {below}")
        return float(value)

    def pair(self, name: str, *, integers: bool) -> tuple[float, float]:
        value = self.get(name)
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(name, f"{value!r} is not a [lo, hi] pair")
        for v in value:
            bad_type = not isinstance(v, int) if integers else not isinstance(v, int | float)
            if isinstance(v, bool) or bad_type or not math.isfinite(v):
                raise self.fail(name, f"{v!r} is not {'an integer' if integers else 'a finite number'}")
        lo, hi = float(value[0]), float(value[1])
        if lo > hi or (lo == hi and not integers):
            raise self.fail(name, f"[{value[0]}, {value[1]}] is reversed or empty (need lo < hi)")
        return lo, hi


def _comfort(k: _Keys) -> tuple[float, float]:
    lo, hi = k.pair("comfort_c", integers=False)
    if lo < 5.0 or hi > 30.0:
        raise k.fail("comfort_c", f"[{lo}, {hi}] outside the plausible indoor range 5..30 C")
    return lo, hi


def _group(obj: object, where: str, path: str) -> DeviceGroup:
    k = _Keys(obj, where, path)
    kind = k.get("type")
    if kind not in _GROUP_KEYS:
        raise k.fail("type", f"{kind!r} is not one of {', '.join(_GROUP_KEYS)}")
    k.only(("type", "name", *_GROUP_KEYS[kind]))
    name = k.obj.get("name", kind)
    if not isinstance(name, str) or not name:
        raise k.fail("name", f"{name!r} is not a non-empty string")
    count = k.integer("count", minimum=0)
    if kind == "water_heater":
        setpoint = k.number("setpoint_c", below=100.0)
        deadband = k.number("deadband_k", positive=True)
        min_temp = k.number("min_temp_c")
        if min_temp >= setpoint:
            raise k.fail("min_temp_c", f"{min_temp} C is not below the set point {setpoint} C")
        if min_temp > setpoint - deadband:
            raise k.fail("min_temp_c", f"{min_temp} C is above the thermostat cut-in {setpoint - deadband} C")
        lo, hi = k.pair("persons", integers=True)
        if lo < 1:
            raise k.fail("persons", f"{int(lo)} must be >= 1")
        return WaterHeaterGroup(
            count=count,
            power_kw=k.number("power_kw", positive=True),
            volume_l=k.number("volume_l", positive=True),
            setpoint_c=setpoint,
            deadband_k=deadband,
            min_temp_c=min_temp,
            ua_w_per_k=k.number("ua_w_per_k", positive=True),
            persons=(int(lo), int(hi)),
            name=name,
        )
    h = k.number("h_w_per_k", positive=True)
    c = k.number("c_kwh_per_k", positive=True)
    if kind == "heat_pump":
        return HeatPumpGroup(count, k.number("thermal_kw", positive=True), h, c, _comfort(k), name)
    return DirectHeatingGroup(count, k.number("power_kw", positive=True), h, c, _comfort(k), name)


def fleet_from_json(document: object, *, path: str = FLEET_FILE) -> Fleet:
    """Build a :class:`Fleet` from parsed ``fleet.json`` content.

    Raises:
        ScenarioError: an unknown or missing key, a value of the wrong type, a negative count, a minimum tank
            temperature at or above the set point (or above the thermostat's cut-in), a reversed comfort band
            or person range, an unknown group type or scale.
    """
    k = _Keys(document, "", path)
    k.only(("seed", "scale", "houses", "groups"))
    seed = k.integer("seed", minimum=0)
    scale = k.obj.get("scale", "custom")
    if scale not in SCALES:
        raise k.fail("scale", f"{scale!r} is not one of {', '.join(SCALES)}")
    houses = k.integer("houses", minimum=0) if "houses" in k.obj else None
    groups = k.get("groups")
    if not isinstance(groups, list):
        raise k.fail("groups", "must be a list")
    parsed = tuple(_group(g, f"groups[{i}]", path) for i, g in enumerate(groups))
    return Fleet(seed=seed, groups=parsed, scale=scale, houses=houses)


def fleet_to_json(fleet: Fleet) -> dict[str, Any]:
    """The ``fleet.json`` document of ``fleet`` (the inverse of :func:`fleet_from_json`)."""
    groups: list[dict[str, Any]] = []
    for g in fleet.groups:
        entry: dict[str, Any] = {"type": g.type_name}
        if g.name != g.type_name:
            entry["name"] = g.name
        for key in _GROUP_KEYS[g.type_name]:
            value = getattr(g, key)
            entry[key] = list(value) if isinstance(value, tuple) else value
        groups.append(entry)
    document: dict[str, Any] = {"seed": fleet.seed, "scale": fleet.scale}
    if fleet.houses is not None:
        document["houses"] = fleet.houses
    document["groups"] = groups
    return document


def read_fleet(path: Path) -> Fleet:
    """Read a ``fleet.json`` (see :func:`fleet_from_json`).

    Raises:
        ScenarioError: the file cannot be read, is not JSON, or breaks the schema.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot be read ({exc})") from exc
    except ValueError as exc:
        raise ScenarioError(str(path), "", f"not JSON ({exc})") from exc
    return fleet_from_json(document, path=str(path))


def write_fleet(path: Path, fleet: Fleet) -> None:
    """Write ``fleet`` as ``fleet.json`` (one group per line)."""
    document = fleet_to_json(fleet)
    head = {k: v for k, v in document.items() if k != "groups"}
    lines = ",\n  ".join(json.dumps(g) for g in document["groups"])
    text = json.dumps(head)[:-1] + ', "groups": [\n  ' + lines + "]}\n"
    path.write_text(text, encoding="utf-8")


@dataclass(frozen=True, eq=False)
class Scenario:
    """A scenario directory: the grid series and the fleet."""

    grid: GridSeries
    fleet: Fleet


def read_scenario(directory: Path) -> Scenario:
    """Read ``directory/grid.csv`` and ``directory/fleet.json``.

    Raises:
        ScenarioError: a missing file or one that breaks the format.
    """
    return Scenario(grid=read_grid(directory / GRID_FILE), fleet=read_fleet(directory / FLEET_FILE))


def write_scenario(directory: Path, scenario: Scenario) -> None:
    """Write ``grid.csv`` and ``fleet.json`` into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    write_grid(directory / GRID_FILE, scenario.grid)
    write_fleet(directory / FLEET_FILE, scenario.fleet)
