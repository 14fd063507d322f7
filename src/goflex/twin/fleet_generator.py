"""Random but plausible fleets of houses: the pilot's 200 and ESR's whole territory (pure; seed 2.2.1, 3.2.5.3).

Pilot mix (:data:`PILOT_MIX`, an assumption: the seed gives the criteria of 3.2.5.3, not their shares). The
pilot recruited among customers with registered flexible loads (seed 2.2.1: 759 boilers, 1,287 heat pumps,
1,076 heaters), and boilers are "quite often" installed next to heat pumps, so most houses have an electric
water heater, many a heat pump or direct electric heating, and a fifth have PV.

Territory (:func:`territory_fleet`): one house per ripple-control receiver (11,687). The registered loads are
reproduced as listed: 1,287 heat pumps (3.66 MW), 1,076 direct electric heaters (3.7 MW) and 759 boilers
(3.89 MW, mostly 6 kW), half of these boilers next to a registered heat pump, a fifth next to a registered
heater. The unregistered receivers drive loads nobody recorded (seed: "it is reasonable to suppose that all of
those have also flexible loads"): mostly boilers, a third direct heating, some heat pumps, sized so the whole
territory has the seed's mean installed power of 7.2 kW per receiver (84 MW).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from goflex.twin.house import ClampWiring, DeviceCounts, HouseSpec, Load, Technology

DESIGN_DELTA_K: Final = 28.0  # 20 C inside, -8 C design temperature in Sion (physics-and-grid.md 4)
HP_RATED_COP: Final = 2.6  # rated electric power = thermal power at the design point / COP at A-7/W35
SINGLE_PHASE_MAX_W: Final = 3600.0  # Swiss connection rules: larger appliances are three-phase


@dataclass(frozen=True)
class HouseType:
    """One combination of seed 3.2.5.3's criteria 1-3 and its share of a fleet.

    Attributes:
        space_heating: space heating technology.
        dhw: hot water technology.
        common_system: one system for both.
        share: fraction of the houses [-].
    """

    space_heating: Technology
    dhw: Technology
    common_system: bool
    share: float


_N, _R, _H = Technology.NONE, Technology.RESISTIVE, Technology.HEAT_PUMP
PILOT_MIX: Final = (
    HouseType(_H, _R, False, 0.25),  # heat pump for the rooms, resistive boiler beside it (seed 2.2.1)
    HouseType(_H, _H, True, 0.12),  # one heat pump for rooms and tank
    HouseType(_R, _R, False, 0.18),  # direct electric heating and a boiler
    HouseType(_R, _N, False, 0.05),  # direct electric heating only
    HouseType(_N, _R, False, 0.30),  # boiler only (rooms heated with oil, gas or wood)
    HouseType(_N, _H, False, 0.03),  # heat-pump water heater only
    HouseType(_H, _N, False, 0.05),  # heat pump for the rooms only
    HouseType(_R, _R, True, 0.02),  # electric central boiler for rooms and tank
)
PILOT_PV_SHARE: Final = 0.2
MISSING_TANK_SENSOR_SHARE: Final = 0.1  # seed 3.2.5.4 rule 3: "sensors may be missing"
BOILER_POWERS_W: Final = (2000.0, 3000.0, 4000.0, 6000.0)
# Seed Figure 17: mostly 6 kW; 759 boilers with 3.89 MW average 5.1 kW.
BOILER_POWER_P: Final = (0.04, 0.12, 0.16, 0.68)


def _persons(rng: np.random.Generator) -> int:
    # Single-family houses: fewer singles than the Swiss average household.
    return int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.35, 0.17, 0.22, 0.11]))


def _tank_volume_l(persons: int, rng: np.random.Generator) -> float:
    base = 200.0 if persons <= 2 else 300.0 if persons <= 4 else 400.0
    return base + float(rng.choice([0.0, 100.0], p=[0.8, 0.2]))


def _system_clamps(meter: int, load: Load, power_w: float, rng: np.random.Generator) -> list[ClampWiring]:
    if power_w > SINGLE_PHASE_MAX_W:
        return [ClampWiring(meter, k, load, k, 1.0 / 3.0) for k in (1, 2, 3)]
    return [ClampWiring(meter, 1, load, int(rng.integers(1, 4)), 1.0)]


def make_house(
    number: int,
    kind: HouseType,
    rng: np.random.Generator,
    *,
    space_heating_power_w: float | None = None,
    dhw_power_w: float | None = None,
    pv: bool = False,
) -> HouseSpec:
    """One house of ``kind`` with plausible sizes, sensors (seed 3.2.5.4), relays and sub-meter wiring.

    Relay 1 drives the water heater, relay 2 the space heating (a common system: relay 1). Sub-meters:
    ``powerMeter-1`` on the water heater (or the common system), the next on the space heating, the last on the
    PV inverter; a three-phase load has a clamp per phase, a single-phase one (<= 3.6 kW) one clamp.

    Args:
        number: house number.
        kind: the house type.
        rng: random source.
        space_heating_power_w: rated electric power of the space heating [W] (None: drawn).
        dhw_power_w: rated electric power of the water heater [W] (None: drawn).
        pv: whether the house has PV.
    """
    persons = _persons(rng)
    sh, dhw, common = kind.space_heating, kind.dhw, kind.common_system
    sh_w, building_w_per_k, area_m2 = _space_heating(sh, space_heating_power_w, rng)
    if dhw is _N:
        dhw_w, volume_l = 0.0, 0.0
    elif common:
        dhw_w, volume_l = sh_w, _tank_volume_l(persons, rng)
    elif dhw is _H:
        dhw_w, volume_l = dhw_power_w or float(rng.uniform(450.0, 750.0)), float(rng.choice([200.0, 300.0]))
    else:
        dhw_w = dhw_power_w or float(rng.choice(BOILER_POWERS_W, p=BOILER_POWER_P))
        volume_l = _tank_volume_l(persons, rng)
    clamps: list[ClampWiring] = []
    meter = 0
    if common:
        meter += 1
        clamps += _system_clamps(meter, Load.COMMON, sh_w, rng)
    else:
        for load, power in ((Load.DHW, dhw_w), (Load.SPACE_HEATING, sh_w)):
            if power > 0:
                meter += 1
                clamps += _system_clamps(meter, load, power, rng)
    kwp = round(float(rng.uniform(3.0, 12.0)), 1) if pv else 0.0
    if kwp > 0:
        meter += 1
        clamps += _system_clamps(meter, Load.PV, kwp * 1000.0, rng)
    tank_sensors = int(dhw is not _N and rng.uniform() >= MISSING_TANK_SENSOR_SHARE)
    return HouseSpec(
        number=number,
        space_heating=sh,
        dhw=dhw,
        common_system=common,
        space_heating_power_w=sh_w,
        dhw_power_w=dhw_w,
        tank_volume_l=volume_l,
        heated_area_m2=area_m2,
        building_loss_w_per_k=building_w_per_k,
        persons=persons,
        annual_base_load_kwh=round(float(1500.0 + 650.0 * persons * rng.lognormal(0.0, 0.25)), 0),
        pv_kwp=kwp,
        pv_azimuth_deg=float(rng.choice([90.0, 135.0, 180.0, 225.0, 270.0], p=[0.1, 0.2, 0.4, 0.2, 0.1])),
        pv_tilt_deg=float(rng.choice([15.0, 30.0, 45.0], p=[0.3, 0.5, 0.2])),
        space_heating_relay=None if sh is _N else (1 if common else 2),
        dhw_relay=None if dhw is _N else 1,
        devices=DeviceCounts(ambient_sensors=int(sh is not _N), boiler_sensors=tank_sensors, power_meters=meter),
        clamps=tuple(clamps),
    )


def _space_heating(sh: Technology, power_w: float | None, rng: np.random.Generator) -> tuple[float, float, float]:
    """Rated electric power [W], building loss [W/K] and heated area [m2], consistent with each other.

    Swiss single-family houses: 100-250 W/K for 150 m2 (physics-and-grid.md 3). A given rated power sizes
    the building: heaters are 1.2-1.5 times the design load, heat pumps 1.0-1.2 times at COP 2.6.
    """
    if sh is _N:
        area = float(rng.uniform(90.0, 220.0))
        return 0.0, round(area * float(rng.uniform(0.7, 1.6)), 1), round(area, 0)
    oversize = rng.uniform(1.2, 1.5) if sh is _R else rng.uniform(1.0, 1.2) / HP_RATED_COP
    if power_w is None:
        area = float(rng.uniform(90.0, 220.0))
        loss = area * float(rng.uniform(0.7, 1.6))
        power_w = round(loss * DESIGN_DELTA_K * float(oversize) / 250.0) * 250.0 or 250.0
    loss = power_w / (DESIGN_DELTA_K * float(oversize))
    area = loss / float(rng.uniform(0.7, 1.6))
    return float(power_w), round(loss, 1), round(max(area, 30.0), 0)


def pilot_fleet(n: int = 200, *, seed: int) -> list[HouseSpec]:
    """The pilot's Direct Control houses (numbers 1..n), in the shares of :data:`PILOT_MIX`.

    Counts per type are the shares times ``n`` rounded by largest remainder, so small fleets keep the mix.

    Raises:
        ValueError: ``n`` not in 0..999.
    """
    if not 0 <= n <= 999:
        raise ValueError(f"a pilot fleet has 0..999 houses (three-digit endpoints), not {n}")
    rng = np.random.default_rng([seed, 0x9170])
    counts = _largest_remainder([k.share for k in PILOT_MIX], n)
    kinds = [kind for kind, count in zip(PILOT_MIX, counts, strict=True) for _ in range(count)]
    order = rng.permutation(n)
    pv = rng.permutation(n) < round(PILOT_PV_SHARE * n)
    return [make_house(i + 1, kinds[order[i]], rng, pv=bool(pv[i])) for i in range(n)]


def _largest_remainder(shares: list[float], n: int) -> list[int]:
    raw = np.asarray(shares) / sum(shares) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: n - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


# Seed 2.2.1: the registered flexible loads of ESR's territory.
REGISTERED_HEAT_PUMPS: Final = (1287, 3.66e6)  # count, installed electric power [W]
REGISTERED_HEATERS: Final = (1076, 3.70e6)
REGISTERED_BOILERS: Final = (759, 3.89e6)
MEAN_INSTALLED_W: Final = 7200.0  # per receiver (84 MW over 11,687)
TERRITORY_PV_SHARE: Final = 0.08


def _powers(count: int, total_w: float, rng: np.random.Generator, sd: float = 0.45) -> list[float]:
    """``count`` rated powers with a lognormal spread, summing to ``total_w``, in steps of 50 W."""
    raw = rng.lognormal(0.0, sd, count)
    return [float(p) for p in np.maximum(np.round(raw / raw.sum() * total_w / 50.0) * 50.0, 500.0)]


TERRITORY_RECEIVERS: Final = 11_687  # ESR ripple-control receivers (seed 2.2.1)


def territory_fleet(*, seed: int, receivers: int = TERRITORY_RECEIVERS) -> list[HouseSpec]:
    """ESR's territory: one house per ripple-control receiver (see the module docstring for the assumptions).

    Args:
        seed: random seed.
        receivers: number of houses (>= 1). Fewer than the territory's 11,687 gives a uniform random sample of
            the territory (the same mix, scaled down); more adds unregistered receivers.

    Raises:
        ValueError: ``receivers`` < 1.
    """
    if receivers < 1:
        raise ValueError(f"{receivers} receivers: need at least one")
    if receivers < TERRITORY_RECEIVERS:
        whole = territory_fleet(seed=seed, receivers=TERRITORY_RECEIVERS)
        picked = np.sort(np.random.default_rng([seed, 0x5A3]).choice(len(whole), size=receivers, replace=False))
        return [replace(whole[j], number=i + 1) for i, j in enumerate(picked)]
    rng = np.random.default_rng([seed, 0x7E11])
    n_hp, hp_w = REGISTERED_HEAT_PUMPS
    n_heat, heat_w = REGISTERED_HEATERS
    n_boil = REGISTERED_BOILERS[0]
    with_hp, with_heater = n_boil // 2, n_boil // 5
    alone = n_boil - with_hp - with_heater
    registered = n_hp + n_heat + alone
    if receivers < registered:
        raise ValueError(f"{receivers} receivers cannot carry the {registered} houses with registered loads")
    boiler_w = rng.choice(BOILER_POWERS_W, size=n_boil, p=BOILER_POWER_P).tolist()
    kinds: list[tuple[HouseType, float | None, float | None]] = []
    for i, power in enumerate(_powers(n_hp, hp_w, rng, sd=0.35)):
        dhw = _R if i < with_hp else _N
        kinds.append((HouseType(_H, dhw, False, 0.0), power, boiler_w.pop() if dhw is _R else None))
    for i, power in enumerate(_powers(n_heat, heat_w, rng)):
        dhw = _R if i < with_heater else _N
        kinds.append((HouseType(_R, dhw, False, 0.0), power, boiler_w.pop() if dhw is _R else None))
    kinds += [(HouseType(_N, _R, False, 0.0), None, boiler_w.pop()) for _ in range(alone)]
    # Unregistered receivers: boilers in 90 %, direct heating in 35 %, heat pumps in 8 % of them; the heating
    # is sized so the territory's mean installed power is MEAN_INSTALLED_W.
    m = receivers - registered
    has_boiler = rng.uniform(size=m) < 0.9
    tech = rng.choice([_R, _H, _N], size=m, p=[0.35, 0.08, 0.57])
    has_boiler |= tech == _N
    boilers = np.where(has_boiler, rng.choice(BOILER_POWERS_W, size=m, p=BOILER_POWER_P), 0.0)
    hp = np.where(tech == _H, rng.lognormal(np.log(2800.0), 0.35, m), 0.0)
    installed = sum(b for _, _, b in kinds if b) + hp_w + heat_w + boilers.sum() + hp.sum()
    heaters = tech == _R
    rest_w = max(MEAN_INSTALLED_W * receivers - installed, 500.0 * int(heaters.sum()))
    heater_w = np.zeros(m)
    heater_w[heaters] = _powers(int(heaters.sum()), rest_w, rng, sd=0.35)
    for j in range(m):
        sh_w = float(hp[j] if tech[j] == _H else heater_w[j]) or None
        dhw_w = float(boilers[j]) or None
        kind = HouseType(Technology(str(tech[j])), _R if has_boiler[j] else _N, False, 0.0)
        kinds.append((kind, sh_w, dhw_w))
    order = rng.permutation(receivers)
    pv = rng.uniform(size=receivers) < TERRITORY_PV_SHARE
    return [
        make_house(
            i + 1,
            kinds[order[i]][0],
            rng,
            space_heating_power_w=kinds[order[i]][1],
            dhw_power_w=kinds[order[i]][2],
            pv=bool(pv[i]),
        )
        for i in range(receivers)
    ]
