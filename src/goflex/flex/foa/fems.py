"""FlexOffers of a factory's thermal process with storage (FEMS; pure; seed 2.1.1).

Seed 2.1.1: "39 companies have thermal processes (warm or cold) linked to thermal storages and therefore the
flexible ones have been selected" (cold storage for food, bakery, wine cellar, swimming pool and ice rink ...).
Model: a store of heat (or cold) ``level`` [kWh thermal] between ``level_min`` and ``level_max``, drained by the
process demand ``d_k`` per slot and filled by a machine of electric power up to ``max_power_w`` and coefficient
of performance ``cop`` (1 for a resistive heater, 2-4 for a chiller or heat pump). Baseline: the machine follows
the demand (``b_k = d_k / cop``, at most its power; the store covers the rest). The offer shifts the machine's
energy within the store's bounds: per-slot bounds from :func:`goflex.flex.foa.storage.store_bounds`, so that no
schedule of the offer empties or overfills the store (checked by simulation with :func:`step_process`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_H, OfferTiming, SliceSpec, build_offer
from goflex.flex.foa.storage import LEVEL_TOLERANCE_KWH, store_bounds
from goflex.flex.model import FlexOffer


@dataclass(frozen=True, slots=True)
class ThermalProcess:
    """A thermal process with storage.

    Attributes:
        max_power_w: electric power of the machine [W] (> 0), e.g. 75 kW for the seed's cold store (Table 1).
        cop: thermal energy per electric energy [-] (> 0).
        level_min_kwh: least stored thermal energy the process tolerates [kWh].
        level_max_kwh: most the store holds [kWh] (>= level_min_kwh).
    """

    max_power_w: float
    cop: float
    level_min_kwh: float
    level_max_kwh: float

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: a parameter out of range."""
        if self.max_power_w <= 0 or self.cop <= 0:
            raise InvalidDeviceState("max_power_w", "max_power_w and cop must be > 0")
        if self.level_min_kwh > self.level_max_kwh:
            raise InvalidDeviceState("level_max_kwh", "must be >= level_min_kwh")

    @property
    def slot_max_kwh(self) -> float:
        """Most electric energy per slot [kWh]."""
        return self.max_power_w / 1000.0 * SLOT_H


def baseline_kwh(p: ThermalProcess, demand_kwh: Sequence[float]) -> list[float]:
    """The machine following the demand: ``min(d_k / cop, max power)`` per slot [kWh electric]."""
    return [min(max(d, 0.0) / p.cop, p.slot_max_kwh) for d in demand_kwh]


def step_process(p: ThermalProcess, level_kwh: float, electric_kwh: float, demand_kwh: float) -> float:
    """Stored energy [kWh] after one slot with ``electric_kwh`` into the machine and ``demand_kwh`` drawn.

    Raises:
        InvalidDeviceState: more than the machine's power, or the store leaves its limits.
    """
    if not -1e-9 <= electric_kwh <= p.slot_max_kwh + 1e-9:
        raise InvalidDeviceState("electric_kwh", f"must lie in [0, {p.slot_max_kwh}] per slot")
    new = level_kwh + p.cop * electric_kwh - demand_kwh
    if not p.level_min_kwh - LEVEL_TOLERANCE_KWH <= new <= p.level_max_kwh + LEVEL_TOLERANCE_KWH:
        raise InvalidDeviceState("level_kwh", f"{new:.6f} kWh leaves [{p.level_min_kwh}, {p.level_max_kwh}]")
    return new


def process_offer(
    p: ThermalProcess,
    level_kwh: float,
    demand_kwh: Sequence[float],
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    price_down_eur_per_kwh: float,
    price_up_eur_per_kwh: float,
    location_id: str | None = None,
) -> FlexOffer:
    """An offer shifting the machine's energy over the slots of ``demand_kwh`` (from the earliest start).

    Args:
        p: the process.
        level_kwh: stored energy at the offer's start [kWh] (forecast by the caller).
        demand_kwh: thermal demand forecast per slot [kWh] (>= 0), one per slot of the offer.
        offer_id, offered_by_id, timing, location_id: see :func:`goflex.flex.foa.framing.build_offer`.
        price_down_eur_per_kwh, price_up_eur_per_kwh: asked prices [EUR/kWh].

    Raises:
        InvalidDeviceState: no demand forecast, a negative demand, or a baseline that leaves the store's limits.
    """
    if not demand_kwh or min(demand_kwh) < 0:
        raise InvalidDeviceState("demand_kwh", "need one demand >= 0 per slot")
    base = baseline_kwh(p, demand_kwh)
    n = len(base)
    bounds = store_bounds(
        level_kwh=level_kwh,
        level_min_kwh=p.level_min_kwh,
        level_max_kwh=p.level_max_kwh,
        baseline_kwh=base,
        baseline_gain_kwh=[p.cop * b - d for b, d in zip(base, demand_kwh, strict=True)],
        meter_min_kwh=[0.0] * n,
        meter_max_kwh=[p.slot_max_kwh] * n,
        gain_up=p.cop,
        loss_down=p.cop,
    )
    return build_offer(
        offer_id=offer_id,
        offered_by_id=offered_by_id,
        timing=timing,
        start=timing.earliest_start(),
        slices=[
            SliceSpec(lo, hi, b, price_down_eur_per_kwh, price_up_eur_per_kwh)
            for lo, hi, b in zip(bounds.lower_kwh, bounds.upper_kwh, base, strict=True)
        ],
        location_id=location_id,
    )
