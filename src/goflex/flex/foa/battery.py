"""FlexOffers of a stationary battery: the CDEMS 3 kWh eStore of the pilot (pure; seed 2.1.4, 3.2.4).

The pilot emulated a car able to discharge to the grid with a 3 kWh battery pack (seed 3.2.4: "A battery storage
(eStore) of 3 kWh was installed to emulate the behaviour of charging and discharging electrical vehicle"). Its
offer: per 15-min slot, energy at the meter between discharging (negative, consumption-positive convention) and
charging, around an idle baseline, with bounds from :func:`goflex.flex.foa.storage.store_bounds` so that every
schedule of the offer keeps the state of charge within ``[soc_min, soc_max]`` (checked by simulation with
:func:`step_battery`).

Physics: charging ``e > 0`` kWh at the meter stores ``eta_charge x e``; discharging ``e < 0`` delivers ``|e|`` and
takes ``|e| / eta_discharge`` from the cells. Self-discharge is neglected over a day's horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_H, OfferTiming, SliceSpec, build_offer
from goflex.flex.foa.storage import LEVEL_TOLERANCE_KWH, store_bounds
from goflex.flex.model import FlexOffer


@dataclass(frozen=True, slots=True)
class BatteryParameters:
    """A battery. Defaults: the CDEMS eStore (3 kWh usable; 3 kW converter, 95 % each way, assumed).

    Attributes:
        capacity_kwh: usable capacity [kWh] (> 0).
        max_charge_w: converter limit charging [W] (>= 0).
        max_discharge_w: converter limit discharging [W] (>= 0).
        eta_charge: stored per kWh drawn [-] in (0, 1].
        eta_discharge: delivered per kWh taken from the cells [-] in (0, 1].
        soc_min_kwh: lowest state of charge allowed [kWh] (>= 0).
        soc_max_kwh: highest state of charge allowed [kWh] (<= capacity).
    """

    capacity_kwh: float = 3.0
    max_charge_w: float = 3000.0
    max_discharge_w: float = 3000.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    soc_min_kwh: float = 0.3
    soc_max_kwh: float = 2.85

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: a parameter out of range (the message names it)."""
        if self.capacity_kwh <= 0:
            raise InvalidDeviceState("capacity_kwh", "must be > 0")
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise InvalidDeviceState("max_charge_w", "converter limits must be >= 0")
        if not (0 < self.eta_charge <= 1 and 0 < self.eta_discharge <= 1):
            raise InvalidDeviceState("eta_charge", "efficiencies must lie in (0, 1]")
        if not 0 <= self.soc_min_kwh <= self.soc_max_kwh <= self.capacity_kwh:
            raise InvalidDeviceState("soc_min_kwh", "need 0 <= soc_min_kwh <= soc_max_kwh <= capacity_kwh")


def step_battery(p: BatteryParameters, soc_kwh: float, meter_kwh: float, slot_h: float = SLOT_H) -> float:
    """State of charge [kWh] after drawing ``meter_kwh`` (negative = delivering) during one slot of ``slot_h`` h.

    Raises:
        InvalidDeviceState: the energy exceeds the converter's power, or the state of charge leaves its limits.
    """
    if meter_kwh > p.max_charge_w / 1000.0 * slot_h + 1e-9 or -meter_kwh > p.max_discharge_w / 1000.0 * slot_h + 1e-9:
        raise InvalidDeviceState("meter_kwh", f"{meter_kwh} kWh exceeds the converter's power in one slot")
    new = soc_kwh + (meter_kwh * p.eta_charge if meter_kwh >= 0 else meter_kwh / p.eta_discharge)
    if not p.soc_min_kwh - LEVEL_TOLERANCE_KWH <= new <= p.soc_max_kwh + LEVEL_TOLERANCE_KWH:
        raise InvalidDeviceState("soc_kwh", f"{new:.6f} kWh leaves [{p.soc_min_kwh}, {p.soc_max_kwh}]")
    return new


def battery_offer(
    p: BatteryParameters,
    soc_kwh: float,
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    slots: int,
    price_down_eur_per_kwh: float,
    price_up_eur_per_kwh: float,
    location_id: str | None = None,
) -> FlexOffer:
    """An offer for ``slots`` slots from the earliest start: charge or discharge around an idle baseline.

    Args:
        p: the battery.
        soc_kwh: state of charge now [kWh] in ``[soc_min_kwh, soc_max_kwh]`` (held until the offer starts).
        offer_id, offered_by_id, timing, location_id: see :func:`goflex.flex.foa.framing.build_offer`.
        slots: horizon [slots] (>= 1).
        price_down_eur_per_kwh: asked for delivering (consuming less than baseline) [EUR/kWh].
        price_up_eur_per_kwh: asked for charging (consuming more) [EUR/kWh].

    Raises:
        InvalidDeviceState: a state or horizon out of range.
    """
    if slots < 1:
        raise InvalidDeviceState("slots", "must be >= 1")
    bounds = store_bounds(
        level_kwh=soc_kwh,
        level_min_kwh=p.soc_min_kwh,
        level_max_kwh=p.soc_max_kwh,
        baseline_kwh=[0.0] * slots,
        baseline_gain_kwh=[0.0] * slots,
        meter_min_kwh=[-p.max_discharge_w / 1000.0 * SLOT_H] * slots,
        meter_max_kwh=[p.max_charge_w / 1000.0 * SLOT_H] * slots,
        gain_up=p.eta_charge,
        loss_down=1.0 / p.eta_discharge,
    )
    return build_offer(
        offer_id=offer_id,
        offered_by_id=offered_by_id,
        timing=timing,
        start=timing.earliest_start(),
        slices=[
            SliceSpec(lo, hi, 0.0, price_down_eur_per_kwh, price_up_eur_per_kwh)
            for lo, hi in zip(bounds.lower_kwh, bounds.upper_kwh, strict=True)
        ],
        location_id=location_id,
    )
