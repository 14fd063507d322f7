"""DOMS decisions as FMAR buy orders, and which orders a release revokes (issue 5 section 5) (pure).

The controller (:mod:`goflex.doms.controller`) decides at each quarter's last 5-minute point which blocks of
load to shed from the next quarter on, as if it switched relays itself (seed 3.3.2). On the market a buyer
cannot buy a slot that starts before ``now + gate closure`` (trading contract, FMAR), so the live service plans
``lead`` quarters ahead: the controller's next quarter stands for the first *tradable* slot (the book's capacity
and the prices it sees are those of the tradable slots, :class:`goflex.doms.live.LiveEnvironment`), and each plan
decision becomes one ``down`` buy order from that slot on, with the blocks' lengths and energy. The forecast and
the controller's own-effect bookkeeping stay on its own quarters: a known approximation (docs/doms-live.md).

The controller only sheds (its rebound is a consequence it models, not something it buys), so no ``up`` order
is ever placed; the direction is kept in the order for the contract.

* energy per slot [kWh] = sum of the issued blocks still running in that slot x 1000 kWh/MWh x 0.25 h;
* max price [EUR/kWh] = the penalty the shed avoids: the mean short rate (``p_short - spot``) of the order's
  slots, in EUR/kWh, clipped to ``[0, max_price_eur_per_kwh]`` (a down order lowers a short position);
* idempotency key = a hash of the decision (time, blocks) and the slots: re-sending the same decision (after a
  timeout, a restart) gives the same key and FMAR answers the first result again.

A release (the data stopped, or the projection fell inside the dead band) revokes every open order of DOMS whose
first slot has not started yet; a matched order is not revocable (FMAR answers 409) and is delivered. FMAR has no
update of a buy order, so a changed plan is a revocation plus a new order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

SLOT_S = 900  # market time unit [s] (trading contract)
KWH_PER_MW_QUARTER = 250.0  # 1 MW over 15 min [kWh]


@dataclass(frozen=True)
class OrderPolicy:
    """How decisions become buy orders.

    Attributes:
        gate_closure_s: the market's gate closure [s] (FMAR default 15 min).
        margin_s: extra lead so that the order reaches the market before the gate closes [s].
        max_price_eur_per_kwh: highest price DOMS ever offers [EUR/kWh].
        min_energy_kwh: slots asking less are left out [kWh] (orders below a meter's resolution are noise).
        location_id: the grid location bought at (None: any).
        allow_partial: accept partial fills (DOMS takes whatever flexibility there is).
    """

    gate_closure_s: float = 900.0
    margin_s: float = 120.0
    max_price_eur_per_kwh: float = 1.0
    min_energy_kwh: float = 0.05
    location_id: str | None = None
    allow_partial: bool = True

    def __post_init__(self) -> None:
        if self.gate_closure_s < 0 or self.margin_s < 0 or self.max_price_eur_per_kwh <= 0 or self.min_energy_kwh < 0:
            raise ValueError("gate_closure_s, margin_s, min_energy_kwh must be >= 0 and max_price_eur_per_kwh > 0")


@dataclass(frozen=True)
class BuyOrder:
    """A buy order DOMS places (trading contract ``POST /orders/buy``).

    Attributes:
        key: idempotency key (derived from the decision).
        decision_time_s: the decision's point, Unix [s].
        first_slot: first slot index (epoch s // 900).
        energy_kwh: energy per slot from ``first_slot`` on [kWh] (> 0).
        max_price_eur_per_kwh: highest price paid [EUR/kWh].
        direction: ``down`` (consume less).
        location_id: grid location or None.
        allow_partial: partial fills accepted.
    """

    key: str
    decision_time_s: int
    first_slot: int
    energy_kwh: tuple[float, ...]
    max_price_eur_per_kwh: float
    direction: str = "down"
    location_id: str | None = None
    allow_partial: bool = True

    @property
    def slots(self) -> range:
        """The slot indices the order covers."""
        return range(self.first_slot, self.first_slot + len(self.energy_kwh))

    @property
    def total_kwh(self) -> float:
        """Energy asked over all slots [kWh]."""
        return sum(self.energy_kwh)

    def body(self) -> dict[str, Any]:
        """The JSON body of ``POST /orders/buy``."""
        return {
            "direction": self.direction,
            "locationId": self.location_id,
            "maxPriceEurPerKwh": self.max_price_eur_per_kwh,
            "slots": [
                {"start": slot_iso(slot), "energyKwh": energy}
                for slot, energy in zip(self.slots, self.energy_kwh, strict=True)
            ],
            "allowPartial": self.allow_partial,
        }


def slot_iso(slot: int) -> str:
    """ISO 8601 UTC start of ``slot`` with ``Z``."""
    return datetime.fromtimestamp(slot * SLOT_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_tradable_slot(now_s: float, policy: OrderPolicy) -> int:
    """The first slot whose start is at least ``now + gate closure + margin`` [slot index]."""
    return -(-math.ceil(now_s + policy.gate_closure_s + policy.margin_s) // SLOT_S)


class Shed(Protocol):
    """What the controller issued, as this module reads it (its ``IssuedBlock``/``ShedOrder``)."""

    @property
    def offer(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def power_mw(self) -> float: ...


def _key(time_s: int, issued: Sequence[Shed], first_slot: int, energy: Sequence[float]) -> str:
    blocks = ";".join(f"{b.offer}:{b.start}:{b.length}:{b.power_mw:.9f}" for b in issued)
    text = f"{time_s}|{first_slot}|{blocks}|{','.join(f'{e:.6f}' for e in energy)}"
    return "doms-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def order_for(
    time_s: int,
    issued: Sequence[Shed],
    *,
    first_slot: int,
    short_eur_per_mwh: Sequence[float],
    policy: OrderPolicy,
) -> BuyOrder | None:
    """The buy order of a plan decision, or None when it issued nothing worth buying.

    Args:
        time_s: the decision's point, Unix [s] (part of the idempotency key).
        issued: the decision's sheds (``Decision.issued``: all start at the quarter after the point's).
        first_slot: the slot the controller's next quarter is bought at (:func:`first_tradable_slot` of the
            decision's time) [slot index].
        short_eur_per_mwh: penalty rate of being short (``p_short - spot``) for the order's slots, one per slot
            of the longest block at least [EUR/MWh]; the mean over the slots is the price.
        policy: gate closure, margin and limits.

    Raises:
        ValueError: fewer rates than slots.
    """
    if not issued:
        return None
    length = max(b.length for b in issued)
    energy = [round(sum(b.power_mw for b in issued if b.length > k) * KWH_PER_MW_QUARTER, 6) for k in range(length)]
    if len(short_eur_per_mwh) < length:
        raise ValueError(f"short_eur_per_mwh: need {length} rates, got {len(short_eur_per_mwh)}")
    # trailing slots below the minimum are dropped; a hole inside keeps its slot (the order is one block)
    while energy and energy[-1] < policy.min_energy_kwh:
        energy.pop()
    if not energy or max(energy) < policy.min_energy_kwh:
        return None
    energy = [max(e, policy.min_energy_kwh) for e in energy]
    rate = sum(short_eur_per_mwh[: len(energy)]) / len(energy) / 1000.0
    price = round(min(max(rate, 0.0), policy.max_price_eur_per_kwh), 6)
    if price <= 0.0:
        return None  # shedding avoids no penalty there: nothing to pay for
    return BuyOrder(
        key=_key(time_s, issued, first_slot, energy),
        decision_time_s=time_s,
        first_slot=first_slot,
        energy_kwh=tuple(energy),
        max_price_eur_per_kwh=price,
        location_id=policy.location_id,
        allow_partial=policy.allow_partial,
    )


@dataclass
class PlacedOrder:
    """An order DOMS placed and what became of it (the live service's book-keeping).

    Attributes:
        order: what was asked.
        order_id: FMAR's id (empty until answered).
        status: FMAR's last status (``accepted``, ``rejected``, ``revoked``, ``matched`` ...).
        reason: FMAR's reason code when rejected.
        events: ``(time_s, status)`` as DOMS saw them.
    """

    order: BuyOrder
    order_id: str = ""
    status: str = "pending"
    reason: str = ""
    events: list[tuple[float, str]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Still in the book as far as DOMS knows (accepted or partly matched, not revoked or rejected)."""
        return bool(self.order_id) and self.status in ("accepted", "matched", "updated")

    def record(self) -> dict[str, Any]:
        """JSON-ready summary (the state API)."""
        return {
            "orderId": self.order_id,
            "key": self.order.key,
            "status": self.status,
            "reason": self.reason,
            "firstSlot": slot_iso(self.order.first_slot),
            "energyKwh": list(self.order.energy_kwh),
            "maxPriceEurPerKwh": self.order.max_price_eur_per_kwh,
            "decisionTime": datetime.fromtimestamp(self.order.decision_time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def to_revoke(orders: Sequence[PlacedOrder], *, now_s: float, policy: OrderPolicy) -> list[PlacedOrder]:
    """The open orders a release revokes: those whose first slot has not started yet.

    FMAR refuses to revoke what is matched or scheduled (409 ``not_revocable``): that part is delivered.
    """
    del policy
    return [o for o in orders if o.open and o.order.first_slot * SLOT_S > now_s]


__all__ = [
    "KWH_PER_MW_QUARTER",
    "SLOT_S",
    "BuyOrder",
    "OrderPolicy",
    "PlacedOrder",
    "Shed",
    "first_tradable_slot",
    "order_for",
    "slot_iso",
    "to_revoke",
]
