"""Read and write FlexOffers in the FlexOffer User Group JSON format.

The wire form uses camelCase names, ISO 8601 UTC times written with ``Z`` and either a document
``{"flexOffer": [...]}`` or a single offer object. Reading is strict: unknown fields, wrong types and naive
times are rejected with :class:`InvalidFlexOffer` naming the field path, so that ``dump(parse(x)) == x`` holds
for every accepted input whose times are written as ``Z`` with whole seconds (other offsets are converted to
UTC; fractions are written with six digits). Optional fields absent on input stay absent on
output. Parsing checks shape only; the rules between fields are in :mod:`goflex.flex.validation`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from goflex.flex.errors import FlexOfferError, InvalidFlexOffer
from goflex.flex.model import (
    DEFAULT_SECONDS_PER_INTERVAL,
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)

__all__ = [
    "FlexOfferError",
    "InvalidFlexOffer",
    "dump_document",
    "dump_offer",
    "dumps",
    "loads",
    "parse_document",
    "parse_offer",
]

_OFFER_FIELDS = frozenset(
    {
        "id",
        "state",
        "offeredById",
        "locationId",
        "creationTime",
        "acceptBeforeTime",
        "assignmentBeforeTime",
        "startAfterTime",
        "startBeforeTime",
        "numSecondsPerInterval",
        "unit",
        "flexOfferProfileConstraints",
        "totalEnergyConstraint",
        "defaultSchedule",
        "flexOfferSchedule",
    }
)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _obj(value: object, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidFlexOffer(path or "<root>", "must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidFlexOffer(_join(path, unknown[0]), "unknown field")
    return value


def _required(obj: Mapping[str, Any], name: str, path: str) -> Any:
    if name not in obj:
        raise InvalidFlexOffer(_join(path, name), "required field missing")
    return obj[name]


def _str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidFlexOffer(path, "must be a string")
    return value


def _int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFlexOffer(path, "must be an integer")
    return value


def _float(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFlexOffer(path, "must be a number")
    if not math.isfinite(value):
        # Python's json reads NaN and Infinity; a NaN bound would pass every comparison in validation.
        raise InvalidFlexOffer(path, "must be finite")
    return float(value)


def _list(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise InvalidFlexOffer(path, "must be a JSON array")
    return value


def _time(value: object, path: str) -> datetime:
    text = _str(value, path)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFlexOffer(path, "must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidFlexOffer(path, "must carry a UTC offset (e.g. 'Z')")
    return parsed.astimezone(UTC)


def _write_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _energy(value: object, path: str) -> EnergyConstraint:
    obj = _obj(value, path, frozenset({"lower", "upper"}))
    return EnergyConstraint(
        lower=_float(_required(obj, "lower", path), _join(path, "lower")),
        upper=_float(_required(obj, "upper", path), _join(path, "upper")),
    )


def _slice(value: object, path: str) -> ProfileSlice:
    obj = _obj(value, path, frozenset({"minDuration", "maxDuration", "energyConstraintList", "tariffConstraint"}))
    ecl_path = _join(path, "energyConstraintList")
    constraints = _list(_required(obj, "energyConstraintList", path), ecl_path)
    tariff = None
    if "tariffConstraint" in obj:
        tc_path = _join(path, "tariffConstraint")
        tc = _obj(obj["tariffConstraint"], tc_path, frozenset({"minTariff", "maxTariff"}))
        tariff = TariffConstraint(
            min_tariff=_float(_required(tc, "minTariff", tc_path), _join(tc_path, "minTariff")),
            max_tariff=_float(_required(tc, "maxTariff", tc_path), _join(tc_path, "maxTariff")),
        )
    return ProfileSlice(
        min_duration=_int(_required(obj, "minDuration", path), _join(path, "minDuration")),
        max_duration=_int(_required(obj, "maxDuration", path), _join(path, "maxDuration")),
        energy_constraints=tuple(_energy(c, f"{ecl_path}[{i}]") for i, c in enumerate(constraints)),
        tariff_constraint=tariff,
    )


def _schedule(value: object, path: str) -> Schedule:
    obj = _obj(value, path, frozenset({"startTime", "scheduleSlices"}))
    slices_path = _join(path, "scheduleSlices")
    slices = []
    for i, item in enumerate(_list(_required(obj, "scheduleSlices", path), slices_path)):
        item_path = f"{slices_path}[{i}]"
        s = _obj(item, item_path, frozenset({"duration", "energyAmount", "tariff"}))
        slices.append(
            ScheduleSlice(
                duration=_int(_required(s, "duration", item_path), _join(item_path, "duration")),
                energy_amount=_float(_required(s, "energyAmount", item_path), _join(item_path, "energyAmount")),
                tariff=_float(s["tariff"], _join(item_path, "tariff")) if "tariff" in s else None,
            )
        )
    return Schedule(start_time=_time(_required(obj, "startTime", path), _join(path, "startTime")), slices=tuple(slices))


def _state(value: object, path: str) -> FlexOfferState:
    try:
        return FlexOfferState(_str(value, path))
    except ValueError:
        raise InvalidFlexOffer(path, f"unknown state {value!r}") from None


def parse_offer(value: object, path: str = "") -> FlexOffer:
    """Read one FlexOffer object.

    Args:
        value: the decoded JSON object of one offer.
        path: field path of ``value`` used as prefix in error messages (e.g. ``flexOffer[0]``).

    Raises:
        InvalidFlexOffer: a field is missing, unknown, of the wrong type, or a time has no UTC offset.
    """
    obj = _obj(value, path, _OFFER_FIELDS)

    def req_time(name: str) -> datetime:
        return _time(_required(obj, name, path), _join(path, name))

    profile_path = _join(path, "flexOfferProfileConstraints")
    profile = _list(_required(obj, "flexOfferProfileConstraints", path), profile_path)
    return FlexOffer(
        id=_str(_required(obj, "id", path), _join(path, "id")),
        state=_state(_required(obj, "state", path), _join(path, "state")),
        offered_by_id=_str(_required(obj, "offeredById", path), _join(path, "offeredById")),
        creation_time=req_time("creationTime"),
        accept_before_time=req_time("acceptBeforeTime"),
        assignment_before_time=req_time("assignmentBeforeTime"),
        start_after_time=req_time("startAfterTime"),
        start_before_time=req_time("startBeforeTime"),
        profile=tuple(_slice(s, f"{profile_path}[{i}]") for i, s in enumerate(profile)),
        num_seconds_per_interval=_int(
            obj.get("numSecondsPerInterval", DEFAULT_SECONDS_PER_INTERVAL), _join(path, "numSecondsPerInterval")
        ),
        total_energy_constraint=(
            _energy(obj["totalEnergyConstraint"], _join(path, "totalEnergyConstraint"))
            if "totalEnergyConstraint" in obj
            else None
        ),
        default_schedule=(
            _schedule(obj["defaultSchedule"], _join(path, "defaultSchedule")) if "defaultSchedule" in obj else None
        ),
        schedule=(
            _schedule(obj["flexOfferSchedule"], _join(path, "flexOfferSchedule"))
            if "flexOfferSchedule" in obj
            else None
        ),
        location_id=_str(obj["locationId"], _join(path, "locationId")) if "locationId" in obj else None,
        unit=_str(obj["unit"], _join(path, "unit")) if "unit" in obj else None,
    )


def parse_document(value: object) -> tuple[FlexOffer, ...]:
    """Read a ``{"flexOffer": [...]}`` document, or a single offer object (returned as a 1-tuple).

    Raises:
        InvalidFlexOffer: with paths such as ``flexOffer[0].flexOfferProfileConstraints[1].minDuration``.
    """
    if isinstance(value, Mapping) and "flexOffer" in value:
        obj = _obj(value, "", frozenset({"flexOffer"}))
        offers = _list(obj["flexOffer"], "flexOffer")
        return tuple(parse_offer(o, f"flexOffer[{i}]") for i, o in enumerate(offers))
    return (parse_offer(value),)


def _dump_energy(c: EnergyConstraint) -> dict[str, Any]:
    return {"lower": c.lower, "upper": c.upper}


def _dump_slice(s: ProfileSlice) -> dict[str, Any]:
    out: dict[str, Any] = {
        "minDuration": s.min_duration,
        "maxDuration": s.max_duration,
        "energyConstraintList": [_dump_energy(c) for c in s.energy_constraints],
    }
    if s.tariff_constraint is not None:
        out["tariffConstraint"] = {
            "minTariff": s.tariff_constraint.min_tariff,
            "maxTariff": s.tariff_constraint.max_tariff,
        }
    return out


def _dump_schedule(s: Schedule) -> dict[str, Any]:
    slices = []
    for item in s.slices:
        d: dict[str, Any] = {"duration": item.duration, "energyAmount": item.energy_amount}
        if item.tariff is not None:
            d["tariff"] = item.tariff
        slices.append(d)
    return {"startTime": _write_time(s.start_time), "scheduleSlices": slices}


def dump_offer(offer: FlexOffer) -> dict[str, Any]:
    """Write one FlexOffer as a JSON-ready dict (camelCase, 'Z' times, optional fields only when set)."""
    out: dict[str, Any] = {"id": offer.id, "state": offer.state.value, "offeredById": offer.offered_by_id}
    if offer.location_id is not None:
        out["locationId"] = offer.location_id
    out |= {
        "creationTime": _write_time(offer.creation_time),
        "acceptBeforeTime": _write_time(offer.accept_before_time),
        "assignmentBeforeTime": _write_time(offer.assignment_before_time),
        "startAfterTime": _write_time(offer.start_after_time),
        "startBeforeTime": _write_time(offer.start_before_time),
        "numSecondsPerInterval": offer.num_seconds_per_interval,
    }
    if offer.unit is not None:
        out["unit"] = offer.unit
    out["flexOfferProfileConstraints"] = [_dump_slice(s) for s in offer.profile]
    if offer.total_energy_constraint is not None:
        out["totalEnergyConstraint"] = _dump_energy(offer.total_energy_constraint)
    if offer.default_schedule is not None:
        out["defaultSchedule"] = _dump_schedule(offer.default_schedule)
    if offer.schedule is not None:
        out["flexOfferSchedule"] = _dump_schedule(offer.schedule)
    return out


def dump_document(offers: Sequence[FlexOffer]) -> dict[str, Any]:
    """Write offers as a ``{"flexOffer": [...]}`` document."""
    return {"flexOffer": [dump_offer(o) for o in offers]}


def loads(text: str | bytes) -> tuple[FlexOffer, ...]:
    """Parse JSON text holding a document or a single offer.

    Raises:
        InvalidFlexOffer: the text is not JSON (field ``<root>``) or breaks the format.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidFlexOffer("<root>", f"not JSON: {exc}") from None
    return parse_document(value)


def dumps(offers: Sequence[FlexOffer]) -> str:
    """Write offers as compact JSON text of a ``{"flexOffer": [...]}`` document."""
    return json.dumps(dump_document(offers), separators=(",", ":"))


def parse_schedule(value: object, path: str = "schedule") -> Schedule:
    """A ``flexOfferSchedule`` object (``{"startTime", "scheduleSlices": [...]}``).

    Raises:
        InvalidFlexOffer: a missing or mistyped field (the message names it).
    """
    return _schedule(value, path)


def dump_schedule(schedule: Schedule) -> dict[str, Any]:
    """The JSON object of a schedule (as inside ``flexOfferSchedule``)."""
    return _dump_schedule(schedule)
