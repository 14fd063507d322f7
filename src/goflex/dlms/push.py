"""What a push means: device name, time and register values, read from either body layout and written back.

Layout A (self-describing, Swiss configurations): a structure whose first element is the push setup's capture
objects ``{class-id, logical name, attribute index, data index}``. In the L+G captures the first capture object
is that very list (push setup attribute 2), so element i is the value of capture object i; other meters send
the list followed by one value per capture object. Values are mapped by OBIS, never by position.
Layout B (flat, e.g. Austrian configurations): a date-time, then pairs (logical name, value).

Push-setup objects, the clock and the device names are metadata, not values. Only attribute 2 (the value of
Data, Register, Extended register; e.g. M-Bus channel values 0-n:24.2.1) becomes a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from goflex.dlms.axdr import Data, Tag
from goflex.dlms.cosem_time import CosemDateTime
from goflex.dlms.errors import InvalidSetting, MalformedApdu
from goflex.dlms.notification import DataNotification
from goflex.dlms.obis import Obis
from goflex.dlms.scaling import ScalingTable

PUSH_SETUP_CLASS = 40
CLOCK_CLASS = 8
CLOCK = Obis(0, 0, 1, 0, 0)
LOGICAL_DEVICE_NAME = Obis(0, 0, 42, 0, 0)
DEVICE_IDS = (Obis(0, 0, 96, 1, 0), Obis(0, 0, 96, 1, 1))
NAME_OBJECTS = (LOGICAL_DEVICE_NAME, *DEVICE_IDS)  # in order of preference for Push.device
VALUE_ATTRIBUTE = 2
_INTEGER_TAGS = {Tag.INT8, Tag.UINT8, Tag.INT16, Tag.UINT16, Tag.INT32, Tag.UINT32, Tag.INT64, Tag.UINT64, Tag.ENUM}


@dataclass(frozen=True)
class Push:
    """One decoded push.

    Attributes:
        device: logical device name (0-0:42.0.0), else device id (0-0:96.1.0, 0-0:96.1.1), else None.
        time: aware UTC; the clock object's time when pushed, else the DataNotification header's.
        values: ``"1-0:1.7.0"`` -> value scaled to W, Wh, var, varh, V, A or a plain number; OBIS without
            a trailing ``.255``; in the order the meter sent them.
    """

    device: str | None
    time: datetime
    values: Mapping[str, int | float | str]


@dataclass(frozen=True)
class CaptureObject:
    """One entry of a push setup's object list."""

    class_id: int
    obis: Obis
    attribute: int
    data_index: int = 0


def _int(item: Data) -> int:
    if item.tag not in _INTEGER_TAGS or not isinstance(item.value, int):
        raise MalformedApdu(f"integer expected in a capture object, got {item.tag.name}")
    return item.value


def _obis(item: Data) -> Obis:
    if item.tag is not Tag.OCTET_STRING or not isinstance(item.value, bytes) or len(item.value) != 6:
        raise MalformedApdu("logical name must be a 6-byte octet-string")
    return Obis.from_bytes(item.value)


def _capture_objects(item: Data) -> list[CaptureObject] | None:
    """The capture-object list if ``item`` is one, else None."""
    if item.tag is not Tag.ARRAY or not isinstance(item.value, tuple):
        return None
    objects = []
    for entry in item.value:
        if entry.tag is not Tag.STRUCTURE or not isinstance(entry.value, tuple) or len(entry.value) != 4:
            return None
        class_id, name, attribute, index = entry.value
        objects.append(CaptureObject(_int(class_id), _obis(name), _int(attribute), _int(index)))
    return objects


def _pairs(body: Data) -> Iterator[tuple[CaptureObject, Data]]:
    """(capture object, value) of either layout."""
    items = body.value
    if body.tag is not Tag.STRUCTURE or not isinstance(items, tuple) or not items:
        raise MalformedApdu("push body is not a non-empty structure")
    objects = _capture_objects(items[0])
    if objects is not None:  # layout A
        if len(items) == len(objects):
            values = items  # element 0 is the value of capture object 0, the list itself
        elif len(items) == len(objects) + 1:
            values = items[1:]
        else:
            raise MalformedApdu(f"{len(objects)} capture objects but {len(items) - 1} values")
        yield from zip(objects, values, strict=True)
        return
    if len(items) % 2 == 0:  # layout B: one date-time, then pairs
        raise MalformedApdu("body is neither layout A nor layout B")
    yield CaptureObject(CLOCK_CLASS, CLOCK, VALUE_ATTRIBUTE), items[0]
    for name, value in zip(items[1::2], items[2::2], strict=True):
        yield CaptureObject(0, _obis(name), VALUE_ATTRIBUTE), value


def _date_time(item: Data) -> CosemDateTime:
    if item.tag not in (Tag.OCTET_STRING, Tag.DATE_TIME) or not isinstance(item.value, bytes):
        raise MalformedApdu("clock value is not a date-time")
    return CosemDateTime.from_bytes(item.value)


def _text(item: Data) -> str | None:
    """A name or text value; octet-strings are shown as text when printable, else as hex."""
    if isinstance(item.value, str):
        return item.value
    if isinstance(item.value, bytes):
        text = item.value.decode("latin-1")
        return text if text.isprintable() and item.value.isascii() else item.value.hex()
    return None


def _value(item: Data, obis: Obis, table: ScalingTable) -> int | float | str | None:
    value = item.value
    if item.tag in (Tag.DATE_TIME, Tag.NULL, Tag.ARRAY, Tag.STRUCTURE, Tag.BIT_STRING):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return table.scale(obis, value)
    return _text(item)


def push_from_notification(notification: DataNotification, table: ScalingTable) -> Push:
    """Interpret a DataNotification body.

    Raises:
        MalformedApdu: unknown layout, a malformed capture object or clock, or no time at all.
    """
    clock: CosemDateTime | None = None
    names: dict[Obis, str] = {}
    values: dict[str, int | float | str] = {}
    for obj, item in _pairs(notification.body):
        if obj.class_id == PUSH_SETUP_CLASS or obj.attribute != VALUE_ATTRIBUTE:
            continue
        if obj.obis == CLOCK or obj.class_id == CLOCK_CLASS:
            clock = _date_time(item)
        elif obj.obis in NAME_OBJECTS:
            name = _text(item)
            if name is not None:
                names[obj.obis] = name
        else:
            value = _value(item, obj.obis, table)
            if value is not None:
                values[str(obj.obis)] = value
    stamp = clock or notification.time
    if stamp is None:
        raise MalformedApdu("push carries neither a clock object nor a notification time")
    device = next((names[o] for o in NAME_OBJECTS if o in names), None)
    return Push(device=device, time=stamp.to_utc(), values=values)


def value_data(obis: Obis, value: int | float | str, table: ScalingTable) -> Data:
    """The A-XDR value a meter would send for ``value``: uint32 for energy and power registers (int32 when
    negative), uint16 for voltages and currents, int16 for the power factor, visible-string for text.

    Raises:
        InvalidSetting: the value does not fit the type the register uses.
    """
    if isinstance(value, str):
        return Data(Tag.VISIBLE_STRING if value.isascii() else Tag.UTF8_STRING, value)
    if isinstance(value, float) and table.exponent(obis) == 0 and not value.is_integer():
        return Data(Tag.FLOAT64, value)
    raw = table.unscale(obis, value)
    if obis.d == 7 and obis.c in {31, 32, 51, 52, 71, 72}:
        tag = Tag.UINT16
    elif obis.cde == "13.7.0":
        tag = Tag.INT16
    else:
        tag = Tag.UINT32 if raw >= 0 else Tag.INT32
    limits = {Tag.UINT16: (0, 0xFFFF), Tag.INT16: (-0x8000, 0x7FFF), Tag.UINT32: (0, 0xFFFFFFFF)}
    low, high = limits.get(tag, (-0x80000000, 0x7FFFFFFF))
    if not low <= raw <= high:
        if tag in (Tag.UINT16, Tag.INT16):
            raise InvalidSetting(f"{obis}: {value} does not fit {tag.name}")
        tag = Tag.INT64
    return Data(tag, raw)


def name_data(name: str) -> Data:
    """A device name as the L+G meters send it: an octet-string of ASCII.

    Raises:
        InvalidSetting: the name is not ASCII.
    """
    try:
        return Data(Tag.OCTET_STRING, name.encode("ascii"))
    except UnicodeEncodeError:
        raise InvalidSetting(f"device name {name!r} is not ASCII") from None
