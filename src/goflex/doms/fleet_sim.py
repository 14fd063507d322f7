"""The evaluation's fleet: device physics stepped every 5 minutes, and the FOAs that execute DOMS's blocks (pure).

Physics: the twin's vectorised tank and space-heating models (:mod:`goflex.twin.tank`,
:mod:`goflex.twin.space_heating`) for every device of :class:`goflex.doms.fleet_flex.FleetModel`, under the
twin's weather and hot-water draws (same seed, so every case of an evaluation sees the same draws and weather).

Execution (the FOAs' part, flexoffer.md 2): a block ``(offer, power, length)`` opens the relays of devices of the
offer's group and class, chosen in a seeded random order among those with enough headroom for the block and not
already blocked or recovering, until their expected power reaches the block's power. Comfort first: every
5 minutes, a blocked device close to its comfort limit is released, whatever DOMS planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from goflex.doms.fleet_flex import (
    INTERNAL_GAINS_W,
    QUARTER_S,
    ROOM_MARGIN_K,
    TANK_MARGIN_K,
    FleetModel,
    OfferKey,
    local_hour,
    room_headroom_s,
    room_power_w,
    tank_headroom_s,
    tank_power_w,
)
from goflex.twin.dhw import DhwDraws
from goflex.twin.space_heating import SpaceHeatingStates, step_space_heating
from goflex.twin.tank import TankStates, step_tanks
from goflex.twin.weather import Weather

F64 = NDArray[np.float64]
STEP_S = 300.0
DHW_REFERENCE_C = 60.0


RECOVERY_SPARE = 1.5
"""A room heater may be blocked only if its power is at least this multiple of the room's current loss."""


def spare_heat_ok(model: FleetModel, t_in_c: F64, t_out_c: float) -> NDArray[np.bool_]:
    """Heaters strong enough to recover after a block (an undersized heat pump on a cold day is not: it would
    leave its room below comfort for hours after the release)."""
    loss_w = model.rooms.h_w_per_k * (t_in_c - t_out_c) - INTERNAL_GAINS_W
    return np.asarray(model.rooms.q_nom_w >= RECOVERY_SPARE * np.maximum(loss_w, 0.0), dtype=np.bool_)


@dataclass
class FleetSim:
    """All devices of a fleet, with their relays (True = blocked) and the FOAs' bookkeeping.

    Args:
        model: the devices.
        weather: the site's weather over the scenario.
        start_s: first 5-minute interval, Unix [s].
        seed: draws and device choice.
    """

    model: FleetModel
    weather: Weather
    start_s: float
    seed: int
    tank_state: TankStates = field(init=False)
    room_state: SpaceHeatingStates = field(init=False)
    tank_blocked_until: NDArray[np.int64] = field(init=False)
    room_blocked_until: NDArray[np.int64] = field(init=False)
    tank_rest_until: NDArray[np.int64] = field(init=False)
    room_rest_until: NDArray[np.int64] = field(init=False)
    tank_below_steps: NDArray[np.int64] = field(init=False)
    room_below_steps: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        m = self.model
        self.tank_state = TankStates.initial(m.tanks, np.random.default_rng([self.seed, 0x7A]))
        t_out0 = float(self.weather.temperature_c(self.start_s))
        self.room_state = SpaceHeatingStates.initial(m.rooms, np.random.default_rng([self.seed, 0x7B]), t_out_c=t_out0)
        self.draws = DhwDraws(m.tank_persons.astype(np.int64), seed=self.seed)
        nt, nr = m.tanks.n, m.rooms.n
        self.tank_blocked_until = np.full(nt, -1, dtype=np.int64)
        self.room_blocked_until = np.full(nr, -1, dtype=np.int64)
        self.tank_rest_until = np.full(nt, -1, dtype=np.int64)
        self.room_rest_until = np.full(nr, -1, dtype=np.int64)
        self.tank_below_steps = np.zeros(nt, dtype=np.int64)
        self.room_below_steps = np.zeros(nr, dtype=np.int64)
        self._order = np.random.default_rng([self.seed, 0x0D])
        self.last_tank_w = np.zeros(nt)
        self.last_room_w = np.zeros(nr)

    def step(self, time_s: float, quarter: int) -> float:
        """Advance 5 minutes from ``time_s``; comfort releases first. Returns the fleet's mean power [MW]."""
        self.release_at_risk(quarter)
        t_out = float(self.weather.temperature_c(time_s + STEP_S / 2))
        power = 0.0
        m = self.model
        if m.tanks.n:
            state = self.tank_state
            litres_60 = self.draws.litres(time_s, time_s + STEP_S)
            ratio = (DHW_REFERENCE_C - m.tanks.cold_c) / np.maximum(state.upper_c - m.tanks.cold_c, 1.0)
            self.tank_state, p = step_tanks(
                m.tanks,
                state,
                STEP_S,
                enabled=self.tank_blocked_until <= quarter,
                draw_l=litres_60 * np.clip(ratio, 0.5, 3.0),
                max_substep_s=STEP_S,
            )
            self.last_tank_w = p
            power += float(p.sum())
            self.tank_below_steps += self.tank_state.upper_c < m.tank_min_c
        if m.rooms.n:
            self.room_state, p = step_space_heating(
                m.rooms,
                self.room_state,
                STEP_S,
                enabled=self.room_blocked_until <= quarter,
                t_out_c=t_out,
                gains_w=INTERNAL_GAINS_W,
                max_substep_s=STEP_S,
            )
            self.last_room_w = p
            power += float(p.sum())
            self.room_below_steps += self.room_state.t_in_c < m.room_min_c
        return power / 1e6

    def release_at_risk(self, quarter: int) -> None:
        """Comfort first: release blocked devices within their margin of the comfort limit."""
        m = self.model
        # the top must stay warm, and the tank must keep a reserve for the next shower (mean above the margin)
        ts = self.tank_state
        low = np.minimum(ts.upper_c, 0.5 * (ts.upper_c + ts.lower_c))
        risky_t = (self.tank_blocked_until > quarter) & (low < m.tank_min_c + TANK_MARGIN_K)
        self.tank_blocked_until[risky_t] = quarter
        risky_r = (self.room_blocked_until > quarter) & (self.room_state.t_in_c < m.room_min_c + ROOM_MARGIN_K)
        self.room_blocked_until[risky_r] = quarter

    def release_all(self, quarter: int) -> None:
        """Close every relay from now on (DOMS stopped, or the dead band reached)."""
        self.tank_blocked_until = np.minimum(self.tank_blocked_until, quarter)
        self.room_blocked_until = np.minimum(self.room_blocked_until, quarter)

    def blocked_devices(self, quarter: int) -> int:
        """Devices whose relay is open during ``quarter``."""
        return int((self.tank_blocked_until > quarter).sum() + (self.room_blocked_until > quarter).sum())

    def execute(self, key: OfferKey, power_mw: float, length: int, quarter: int, time_s: float) -> float:
        """Block devices of ``key`` whose expected power adds up to ``power_mw`` for ``length`` quarters.

        Returns:
            The expected power blocked [MW] (less than asked when too few devices are eligible).
        """
        m = self.model
        hour = local_hour(np.array([time_s + QUARTER_S / 2]))
        t_out = float(self.weather.temperature_c(time_s + QUARTER_S / 2))
        need_s = length * QUARTER_S
        tm = (m.tank_group == key.group) & (m.tank_class == key.length)
        rm = (m.room_group == key.group) & (m.room_class == key.length)
        tank_ok = tm & (self.tank_blocked_until <= quarter) & (self.tank_rest_until <= quarter)
        tank_ok &= tank_headroom_s(m, self.tank_state) >= need_s
        tank_ok &= self.tank_state.upper_c >= m.tank_min_c + 2 * TANK_MARGIN_K
        room_ok = rm & (self.room_blocked_until <= quarter) & (self.room_rest_until <= quarter)
        room_ok &= room_headroom_s(m, self.room_state, t_out) >= need_s
        room_ok &= spare_heat_ok(m, self.room_state.t_in_c, t_out)
        tanks, rooms = np.flatnonzero(tank_ok), np.flatnonzero(room_ok)
        expected = (
            np.concatenate(
                [
                    tank_power_w(m, hour)[tanks, 0] if tanks.size else np.zeros(0),
                    room_power_w(m, np.array([t_out]))[rooms, 0] if rooms.size else np.zeros(0),
                ]
            )
            / 1e6
        )
        is_tank = np.concatenate([np.ones(tanks.size, np.bool_), np.zeros(rooms.size, np.bool_)])
        index = np.concatenate([tanks, rooms])
        order = self._order.permutation(index.size)
        cumulative = np.cumsum(expected[order])
        take = int(np.searchsorted(cumulative, power_mw - 1e-9)) + 1
        take = min(take, index.size)
        if take and take >= 2 and cumulative[take - 1] - power_mw > power_mw - cumulative[take - 2]:
            take -= 1  # the closer of the two sums
        chosen = order[:take]
        rest = quarter + 2 * length  # recovering devices are not blocked again before this
        for tank_flag, until, rest_until in (
            (True, self.tank_blocked_until, self.tank_rest_until),
            (False, self.room_blocked_until, self.room_rest_until),
        ):
            sel = index[chosen[is_tank[chosen] == tank_flag]]
            until[sel] = quarter + length
            rest_until[sel] = rest
        return float(cumulative[take - 1]) if take else 0.0

    def comfort_steps(self) -> NDArray[np.int64]:
        """5-minute steps below comfort, per device (tanks first, then rooms)."""
        return np.concatenate([self.tank_below_steps, self.room_below_steps])
