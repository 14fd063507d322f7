"""How attribute values are kept in SQL columns (pure: no database import).

cloud.iO attribute types are ``Boolean``, ``Integer``, ``Number`` and ``String`` (cloudio.md, data model). A value
is stored in two nullable columns so that range queries and aggregates on numbers run in SQL:

* ``value_num`` (double precision): booleans as 0/1, integers, numbers;
* ``value_text``: strings; also the exact decimal text of an integer beyond +-2**53, which a double cannot hold;

and the attribute's type restores the Python value on the way out.
"""

from __future__ import annotations

import math
from enum import IntEnum, StrEnum
from typing import Final

from goflex.store.errors import InvalidValue

Value = bool | int | float | str
"""A cloud.iO attribute value as Python holds it."""

_EXACT_INT_LIMIT: Final = 2**53


class ValueType(StrEnum):
    """cloud.iO attribute type (wire values of the data model)."""

    BOOLEAN = "Boolean"
    INTEGER = "Integer"
    NUMBER = "Number"
    STRING = "String"


class Quality(IntEnum):
    """Quality tag of a stored value (reliability.md Q2: plausibility checks mark, never drop)."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


def infer_type(value: Value) -> ValueType:
    """The cloud.iO type a Python value maps to (``bool`` before ``int``: ``True`` is an ``int`` in Python)."""
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, int):
        return ValueType.INTEGER
    if isinstance(value, float):
        return ValueType.NUMBER
    if isinstance(value, str):
        return ValueType.STRING
    raise InvalidValue(f"value {value!r}: type {type(value).__name__} is not bool, int, float or str")


def encode_value(value: Value, value_type: ValueType | None = None) -> tuple[ValueType, float | None, str | None]:
    """Split ``value`` into ``(type, value_num, value_text)`` for storage.

    Args:
        value: the attribute value.
        value_type: the declared type; ``None`` infers it from the Python type. An ``int`` is accepted for a
            ``Number`` (and stored as a float); nothing else is converted.

    Raises:
        InvalidValue: a non-finite number, or a value that does not fit the declared type.
    """
    if type(value) is float and value_type in (None, ValueType.NUMBER):  # fast path: the usual measurement
        if not math.isfinite(value):
            raise InvalidValue(f"value {value!r}: numbers must be finite")
        return ValueType.NUMBER, value, None
    actual = infer_type(value)
    declared = actual if value_type is None else ValueType(value_type)
    if declared is ValueType.NUMBER and actual is ValueType.INTEGER:
        actual = ValueType.NUMBER
        value = float(value)
    if declared is not actual:
        raise InvalidValue(f"value {value!r}: expected {declared.value}, got {actual.value}")
    if isinstance(value, str):
        return declared, None, value
    if isinstance(value, float) and not math.isfinite(value):
        # SQLite would turn NaN into NULL; cloud.iO JSON cannot carry it either.
        raise InvalidValue(f"value {value!r}: numbers must be finite")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_INT_LIMIT:
        return declared, float(value), str(value)
    return declared, float(value), None


def decode_value(value_type: ValueType | str, value_num: float | None, value_text: str | None) -> Value:
    """Rebuild the Python value from its stored columns (inverse of :func:`encode_value`)."""
    kind = ValueType(value_type)
    if kind is ValueType.STRING:
        return value_text if value_text is not None else ""
    if kind is ValueType.INTEGER:
        if value_text is not None:
            return int(value_text)
        return int(value_num or 0)
    if kind is ValueType.BOOLEAN:
        return bool(value_num)
    return float(value_num or 0.0)
