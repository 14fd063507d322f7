"""Fleets as columns: frozen dataclasses whose fields hold one value per house in numpy arrays (pure).

The device physics (:mod:`goflex.twin.tank`, :mod:`goflex.twin.space_heating`) keeps parameters and states of
``n`` houses column-wise so that one step is a handful of array operations, never a Python loop over houses.
These helpers select and check such columns generically.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

C = TypeVar("C", bound="DataclassInstance")


def take(columns: C, index: int | slice | NDArray[np.intp] | NDArray[np.bool_] | list[int]) -> C:
    """The same dataclass restricted to some houses.

    Args:
        columns: a frozen dataclass whose one-dimensional array fields are per-house columns; other fields
            (scalars shared by all houses) are kept as they are.
        index: which houses (an int keeps a one-house fleet, not a scalar).

    Returns:
        A new dataclass of the selected houses, fields copied.
    """
    changes: dict[str, Any] = {}
    for f in fields(columns):
        value = getattr(columns, f.name)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            changes[f.name] = np.atleast_1d(value[index]).copy()
    return replace(columns, **changes)


def size(columns: DataclassInstance) -> int:
    """Number of houses of a column dataclass (length of its first array field).

    Raises:
        ValueError: if the array fields disagree in length or are not one-dimensional.
    """
    lengths = {
        getattr(columns, f.name).shape for f in fields(columns) if isinstance(getattr(columns, f.name), np.ndarray)
    }
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise ValueError(f"{type(columns).__name__}: per-house arrays must be 1-D of one length, got {lengths}")
    return int(next(iter(lengths))[0])


def as_column(value: FloatArray | float, n: int) -> FloatArray:
    """A per-house float column from a scalar or an array of shape ``(n,)``.

    Raises:
        ValueError: if an array has another shape, or a value is not finite.
    """
    column = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))
    if not np.all(np.isfinite(column)):
        raise ValueError("per-house values must be finite")
    return column


def check_step(dt_s: float) -> None:
    """Reject a step length that is not a positive finite number of seconds.

    Raises:
        ValueError: if ``dt_s`` is not > 0 and finite.
    """
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"step length must be a positive number of seconds, got {dt_s!r}")


def relax_factor(x: FloatArray) -> FloatArray:
    """``(1 - exp(-x)) / x``, continuous at ``x = 0`` (value 1), for the exact integrals of exponentials.

    ``t * relax_factor(c t)`` is ``∫0^t exp(-c s) ds`` without the cancellation of ``(1 - exp(-c t)) / c``
    for small ``c t``.
    """
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, -np.expm1(-safe) / safe)


def hysteresis(value: FloatArray, low: FloatArray, high: FloatArray, calling: BoolArray) -> BoolArray:
    """A two-point thermostat: calls at or below ``low``, stops at or above ``high``, else keeps its state."""
    return (value <= low) | (calling & (value < high))
