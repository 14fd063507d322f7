"""Settlement of a scheduled bid from metered energy (pure; reference flexoffer.md 6).

Per slot ``t`` of the bid's schedule, with ``m_t`` the metered energy, ``x_t`` the scheduled energy and ``r_t``
the reference (the baseline clamped into the slice bounds, see :mod:`goflex.flex.fmar.terms`), each spread
evenly over its slice's slots:

* **delivered deviation** in the contracted direction: ``max(0, sign * (m_t - r_t))``;
* **paid energy** of the slot: the delivered deviation capped at the contracted energy of the slot, shared among
  the slot's contracts in proportion to their energy; **payment** = sum of paid energy x the contract's price
  (pay-as-bid; the rule chosen: never pay for more than was bought, nor for what was not delivered);
* **imbalance** = ``sum_t |m_t - x_t|`` over the schedule's slots; **fee** = ``fee_eur_per_kwh x
  max(0, imbalance - cutoff_kwh)`` (GOFLEX: a fee above a 1 kWh cut-off).

Reported: ``delivered_kwh`` (metered total over the schedule), ``scheduled_deviation_kwh`` (contracted energy),
``delivered_deviation_kwh`` (paid energy), ``imbalance_kwh``, ``payment_eur``, ``imbalance_fee_eur``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from goflex.flex.fmar.errors import SettlementRefused
from goflex.flex.fmar.terms import BidTerms, Direction, slot_start
from goflex.flex.model import Schedule

DEFAULT_IMBALANCE_CUTOFF_KWH: Final = 1.0
DEFAULT_IMBALANCE_FEE_EUR_PER_KWH: Final = 0.1


@dataclass(frozen=True, slots=True)
class ContractLine:
    """One contract of the bid: its id, slot, direction, energy [kWh] and price [EUR/kWh]."""

    contract_id: str
    slot: int
    direction: Direction
    energy_kwh: float
    price: float


@dataclass(frozen=True, slots=True)
class ContractSettlement:
    """What one contract delivered [kWh] and earned [EUR]."""

    contract_id: str
    delivered_kwh: float
    payment_eur: float


@dataclass(frozen=True, slots=True)
class Settlement:
    """The settlement of one bid (see the module docstring for each figure)."""

    delivered_kwh: float
    scheduled_deviation_kwh: float
    delivered_deviation_kwh: float
    imbalance_kwh: float
    payment_eur: float
    imbalance_fee_eur: float
    contracts: tuple[ContractSettlement, ...]


def _per_slot(terms: BidTerms, start_slot: int, amounts: Sequence[float]) -> dict[int, float]:
    out = {}
    for s, amount in zip(terms.slices, amounts, strict=True):
        for t in range(start_slot + s.offset, start_slot + s.offset + s.duration):
            out[t] = amount / s.duration
    return out


def settle(
    terms: BidTerms,
    schedule: Schedule,
    contracts: Sequence[ContractLine],
    metered: Mapping[int, float],
    *,
    cutoff_kwh: float = DEFAULT_IMBALANCE_CUTOFF_KWH,
    fee_eur_per_kwh: float = DEFAULT_IMBALANCE_FEE_EUR_PER_KWH,
) -> Settlement:
    """Settle a bid's contracts against metered energy per slot.

    Args:
        terms: the bid's terms.
        schedule: its fixed schedule.
        contracts: its contracts.
        metered: slot index -> metered energy [kWh], consumption-positive; must cover every slot of the schedule
            (other slots are ignored).
        cutoff_kwh: imbalance free of fee [kWh].
        fee_eur_per_kwh: fee per kWh of imbalance above the cut-off [EUR/kWh].

    Raises:
        SettlementRefused: ``missing_interval`` naming the first slot of the schedule without a metered value.
    """
    start = int(schedule.start_time.timestamp()) // 900
    scheduled = _per_slot(terms, start, [s.energy_amount for s in schedule.slices])
    reference = _per_slot(terms, start, [s.reference for s in terms.slices])
    for t in sorted(scheduled):
        if t not in metered:
            raise SettlementRefused("missing_interval", f"intervals: no metered energy for {slot_start(t).isoformat()}")
    by_slot: dict[int, list[ContractLine]] = {}
    for c in contracts:
        by_slot.setdefault(c.slot, []).append(c)
    settled = []
    for t, lines in sorted(by_slot.items()):
        contracted = sum(c.energy_kwh for c in lines)
        delivered = max(0.0, lines[0].direction.sign * (metered.get(t, reference.get(t, 0.0)) - reference.get(t, 0.0)))
        share = min(1.0, delivered / contracted) if contracted > 0 else 0.0
        settled += [
            ContractSettlement(c.contract_id, c.energy_kwh * share, c.energy_kwh * share * c.price) for c in lines
        ]
    imbalance = sum(abs(metered[t] - x) for t, x in scheduled.items())
    return Settlement(
        delivered_kwh=sum(metered[t] for t in scheduled),
        scheduled_deviation_kwh=sum(c.energy_kwh for c in contracts),
        delivered_deviation_kwh=sum(c.delivered_kwh for c in settled),
        imbalance_kwh=imbalance,
        payment_eur=sum(c.payment_eur for c in settled),
        imbalance_fee_eur=fee_eur_per_kwh * max(0.0, imbalance - cutoff_kwh),
        contracts=tuple(settled),
    )
