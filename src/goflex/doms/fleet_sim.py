"""The evaluation's fleet: device physics stepped every 5 minutes, and the FOAs that execute DOMS's orders (pure).

Physics: the twin's vectorised tank and space-heating models (:mod:`goflex.twin.tank`,
:mod:`goflex.twin.space_heating`) for every device of :class:`goflex.doms.fleet_flex.FleetModel`, under the
twin's weather and hot-water draws (same seed, so every case of an evaluation sees the same draws and weather).

Execution (the FOAs' part, flexoffer.md 2). DOMS orders, per device group, the *baseline power to hold blocked*
(a target [MW], changed at most every 5 minutes). Every 5 minutes, before the physics step:

1. Comfort first: a blocked device at its release threshold (its comfort limit plus a margin for the worst
   plausible 5-minute draw or heat loss, :mod:`goflex.doms.fleet_flex`), or that would reach it within the
   step, is released, whatever DOMS ordered.
2. The group's blocked expected power is brought to the target: above it, the devices with the least headroom
   are released first; below it, eligible devices are blocked in a seeded random order (random, so that the
   blocked set's thermostat phases are those of the group and its expected power is what is withheld).
   Eligible: not blocked, not recovering, at least :data:`MIN_HEADROOM_S` of headroom, and for rooms a heater
   strong enough to recover (:func:`spare_heat_ok`).
3. A released device *recovers*: its thermostat calls and it heats at full power until it is satisfied; it is
   not blocked again meanwhile.

Bookkeeping, per device, as an FOA with sub-meters would keep it: the *deficit* grows by the device's expected
power while blocked, and shrinks by its power above the expected while recovering (recovery ends when the
thermostat is satisfied or the deficit is made up). :meth:`FleetSim.group_states` reports per group what the
optimiser's store model needs (:class:`goflex.doms.optimiser.ShedOffer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.fleet_flex import (
    INTERNAL_GAINS_W,
    FleetModel,
    local_hour,
    room_cop,
    room_headroom_s,
    room_loss_w,
    room_power_w,
    room_release_c,
    tank_headroom_s,
    tank_power_w,
    tank_release_c,
)
from goflex.twin.dhw import DhwDraws
from goflex.twin.space_heating import SpaceHeatingStates, step_space_heating
from goflex.twin.tank import TankStates, step_tanks
from goflex.twin.weather import Weather

F64 = NDArray[np.float64]
B = NDArray[np.bool_]
STEP_S: Final = 300.0
DHW_REFERENCE_C: Final = 60.0
RECOVERY_SPARE: Final = 1.5
"""A room heater may be blocked only if its power is at least this multiple of the room's loss at the coldest
outdoor temperature of the next :data:`COLD_LOOKAHEAD_H` hours (the weather forecast)."""
COLD_LOOKAHEAD_H: Final = 12
"""How far the FOA looks for the coldest hour: a heat pump blocked in the afternoon and just strong enough for it
cannot catch up the withheld heat on the cold night that follows, and its room falls below comfort earlier than
the baseline's (seen on the 28-day territory scenario with 1.5 x the current loss only)."""
MIN_HEADROOM_S: Final = 1800.0
"""A device is blocked only if it can stay blocked at least two quarters (no block-release flicker)."""
HOLD_MAX_H: Final = 8.0
"""Upper bound of the headroom reported to the optimiser [h] (rooms that do not cool report 1e9 s)."""
TOLERANCE_MW: Final = 0.001
SHED_TANKS: Final = False
"""Whether water heaters are blocked by default. They are not: a tank blocked for even 5 minutes just before a
run of large draws stays ~1.5 K below its baseline until the run ends (its element runs flat out in both cases,
so the withheld heat cannot be caught up), and whenever the baseline tank itself comes that close to its minimum
the block causes a comfort violation. On the 7-day territory scenario (seed 1) the oracle with tanks blocked left
26 tanks 94 five-minute steps below 45 C beyond their baseline; tanks hold under a tenth of the sheddable power."""


def spare_heat_ok(model: FleetModel, t_in_c: F64, t_out_c: float) -> B:
    """Heaters strong enough to recover after a block (an undersized heat pump on a cold day is not: it would
    leave its room below comfort for hours after the release)."""
    loss_w = room_loss_w(model, t_in_c, t_out_c)
    return np.asarray(model.rooms.q_nom_w >= RECOVERY_SPARE * np.maximum(loss_w, 0.0), dtype=np.bool_)


@dataclass(frozen=True)
class GroupState:
    """One device group as the FOAs see it now (units as in :class:`goflex.doms.optimiser.ShedOffer`).

    Attributes:
        available_mw: expected power of the devices blocked or eligible now [MW].
        hold_h: deficit those devices may hold per MW of expected power [h] (their headroom).
        recovery_share: share of a newly released deficit made up per quarter [-].
        held_mwh: deficit of the blocked devices [MWh].
        recovering_mwh: deficit of the recovering devices [MWh].
        recovering_share: share of it made up in the coming quarter [-].
        blocked_mw: expected power of the blocked devices [MW].
        effect_mw: measured effect over the last step [MW] (withheld negative, recovery positive).
    """

    available_mw: float
    hold_h: float
    recovery_share: float
    held_mwh: float
    recovering_mwh: float
    recovering_share: float
    blocked_mw: float
    effect_mw: float


@dataclass
class FleetSim:
    """All devices of a fleet (tanks first, then rooms), with their relays and the FOAs' bookkeeping.

    Args:
        model: the devices.
        weather: the site's weather over the scenario.
        start_s: first 5-minute interval, Unix [s].
        seed: draws and device choice.
        shed_tanks: water heaters may be blocked (off by default, see :data:`SHED_TANKS`).
    """

    model: FleetModel
    weather: Weather
    start_s: float
    seed: int
    shed_tanks: bool = SHED_TANKS
    tank_state: TankStates = field(init=False)
    room_state: SpaceHeatingStates = field(init=False)
    blocked: B = field(init=False)
    recovering: B = field(init=False)
    deficit_j: F64 = field(init=False)
    below_steps: NDArray[np.int64] = field(init=False)
    targets_mw: F64 = field(init=False)
    shed_energy_mwh: float = 0.0

    def __post_init__(self) -> None:
        m = self.model
        self.tank_state = TankStates.initial(m.tanks, np.random.default_rng([self.seed, 0x7A]))
        t_out0 = float(self.weather.temperature_c(self.start_s))
        self.room_state = SpaceHeatingStates.initial(m.rooms, np.random.default_rng([self.seed, 0x7B]), t_out_c=t_out0)
        self.draws = DhwDraws(m.tank_persons.astype(np.int64), seed=self.seed)
        self.n_tanks = m.tanks.n
        n = m.tanks.n + m.rooms.n
        self.group = np.concatenate([m.tank_group, m.room_group]).astype(np.int64)
        self.n_groups = len(m.group_names)
        self.phi = m.rebound_factor[self.group] if n else np.zeros(0)
        self.blocked = np.zeros(n, dtype=np.bool_)
        self.recovering = np.zeros(n, dtype=np.bool_)
        self.deficit_j = np.zeros(n)
        self.below_steps = np.zeros(n, dtype=np.int64)
        self.targets_mw = np.zeros(self.n_groups)
        self.last_w = np.zeros(n)
        self.effect_w = np.zeros(n)
        self._order = np.random.default_rng([self.seed, 0x0D])
        self._view = self._look(self.start_s)

    # -- what the FOAs see ----------------------------------------------------------------------------------
    def _look(self, time_s: float) -> _View:
        """Expected and full power, headroom and eligibility of every device at ``time_s``."""
        m = self.model
        t_out = float(self.weather.temperature_c(time_s + STEP_S / 2))
        hour = local_hour(np.array([time_s + STEP_S / 2]))
        expected = np.concatenate([tank_power_w(m, hour)[:, 0], room_power_w(m, np.array([t_out]))[:, 0]])
        cop = room_cop(m, np.array([t_out]))[:, 0]
        full = np.concatenate([m.tanks.power_w, m.rooms.q_nom_w / cop])
        head = np.concatenate([tank_headroom_s(m, self.tank_state), room_headroom_s(m, self.room_state, t_out)])
        low_rel, up_rel = tank_release_c(m)
        ts = self.tank_state
        at_risk = np.concatenate(
            [(ts.lower_c < low_rel) | (ts.upper_c < up_rel), self.room_state.t_in_c < room_release_c(m)]
        )
        tanks_ok = np.full(m.tanks.n, self.shed_tanks, dtype=np.bool_)
        coldest = float(np.min(self.weather.temperature_c(time_s + 3600.0 * np.arange(COLD_LOOKAHEAD_H + 1))))
        strong = np.concatenate([tanks_ok, spare_heat_ok(m, self.room_state.t_in_c, min(t_out, coldest))])
        return _View(t_out, expected, full, head, at_risk | (head < STEP_S), strong & (head >= MIN_HEADROOM_S))

    def set_targets(self, targets_mw: dict[str, float]) -> None:
        """DOMS's order: baseline power to hold blocked per group name (groups not named: none) [MW]."""
        index = {name: i for i, name in enumerate(self.model.group_names)}
        self.targets_mw = np.zeros(self.n_groups)
        for name, value in targets_mw.items():
            self.targets_mw[index[name]] = max(0.0, value)

    def release_all(self) -> None:
        """Close every relay from the next step on (DOMS stopped, or the dead band reached)."""
        self.targets_mw = np.zeros(self.n_groups)

    # -- the step --------------------------------------------------------------------------------------------
    def step(self, time_s: float) -> float:
        """Advance 5 minutes from ``time_s``: comfort releases, the orders, the physics. Returns the power [MW]."""
        view = self._look(time_s)
        self._release(self.blocked & view.at_risk)
        self._match(view)
        enabled = ~self.blocked
        power = np.zeros(self.blocked.size)
        m, nt = self.model, self.n_tanks
        if m.tanks.n:
            state = self.tank_state
            litres_60 = self.draws.litres(time_s, time_s + STEP_S)
            ratio = (DHW_REFERENCE_C - m.tanks.cold_c) / np.maximum(state.upper_c - m.tanks.cold_c, 1.0)
            self.tank_state, power[:nt] = step_tanks(
                m.tanks,
                state,
                STEP_S,
                enabled=enabled[:nt],
                draw_l=litres_60 * np.clip(ratio, 0.5, 3.0),
                max_substep_s=STEP_S,
            )
            self.below_steps[:nt] += self.tank_state.upper_c < m.tank_min_c
        if m.rooms.n:
            self.room_state, power[nt:] = step_space_heating(
                m.rooms,
                self.room_state,
                STEP_S,
                enabled=enabled[nt:],
                t_out_c=view.t_out_c,
                gains_w=INTERNAL_GAINS_W,
                max_substep_s=STEP_S,
            )
            self.below_steps[nt:] += self.room_state.t_in_c < m.room_min_c
        self._account(view, power)
        self.last_w = power
        self._view = self._look(time_s + STEP_S)
        return float(power.sum()) / 1e6

    def _release(self, which: B) -> None:
        if which.any():
            self.blocked[which] = False
            self.recovering[which] = self.deficit_j[which] > 0
            self.deficit_j[which] *= self.phi[which]  # from now on: the energy still to draw

    def _match(self, view: _View) -> None:
        """Bring every group's blocked expected power to its target (see the module docstring)."""
        p = view.expected_w / 1e6
        blocked_mw = np.bincount(self.group, weights=p * self.blocked, minlength=self.n_groups)
        for g in np.flatnonzero(np.abs(blocked_mw - self.targets_mw) > TOLERANCE_MW):
            target, now = float(self.targets_mw[g]), float(blocked_mw[g])
            members = self.group == g
            if now > target:
                cand = np.flatnonzero(members & self.blocked)
                cand = cand[np.argsort(view.headroom_s[cand], kind="stable")]
                drop = _prefix(p[cand], now - target)
                release = np.zeros(self.blocked.size, np.bool_)
                release[cand[:drop]] = True
                self._release(release)
            else:
                cand = np.flatnonzero(members & ~self.blocked & ~self.recovering & view.eligible & (p > 0))
                cand = cand[self._order.permutation(cand.size)]
                take = _prefix(p[cand], target - now)
                self.blocked[cand[:take]] = True

    def _account(self, view: _View, power_w: F64) -> None:
        """Deficits, recovery ends and the measured effect of the step."""
        dt = STEP_S
        p = view.expected_w
        self.deficit_j = np.where(self.blocked, self.deficit_j + p * dt, self.deficit_j)
        extra = power_w - p
        self.deficit_j = np.where(self.recovering, self.deficit_j - extra * dt, self.deficit_j)
        satisfied = np.concatenate([~self.tank_state.heating, ~self.room_state.calling])
        done = self.recovering & ((self.deficit_j <= 0) | satisfied)
        self.recovering &= ~done
        self.deficit_j[done] = 0.0
        self.effect_w = np.where(self.blocked, -p, np.where(self.recovering | done, extra, 0.0))
        self.shed_energy_mwh += float((p * self.blocked).sum()) * dt / 3.6e9

    # -- reports ---------------------------------------------------------------------------------------------
    def group_power_mw(self) -> F64:
        """Power of each group over the last step [MW]."""
        return np.bincount(self.group, weights=self.last_w, minlength=self.n_groups) / 1e6

    def expected_mw(self, time_s: F64, t_out_c: F64) -> F64:
        """Expected power of the devices available now per group at future times [MW], shape (groups, len)."""
        m, nt = self.model, self.n_tanks
        avail = ~self.recovering & (self.blocked | self._view.eligible)
        out = np.zeros((self.n_groups, time_s.size))
        if m.tanks.n:
            w = tank_power_w(m, local_hour(time_s)) * avail[:nt, None]
            np.add.at(out, m.tank_group, w / 1e6)
        if m.rooms.n:
            w = room_power_w(m, t_out_c) * avail[nt:, None]
            np.add.at(out, m.room_group, w / 1e6)
        return out

    def group_states(self) -> list[GroupState]:
        """Every group's state for the optimiser (after the last step)."""
        v = self._view
        p = v.expected_w / 1e6
        avail = ~self.recovering & (self.blocked | v.eligible)
        g, n = self.group, self.n_groups

        def per(values: F64) -> F64:
            return np.asarray(np.bincount(g, weights=values, minlength=n), dtype=np.float64)

        avail_mw = per(p * avail)
        reserve_mwh = per(np.where(avail, self.deficit_j / 3.6e9 + p * np.minimum(v.headroom_s, 3.6e5) / 3600, 0.0))
        spare = np.maximum(v.full_w / 1e6 - p, 0.0)
        spare_avail = per(spare * avail)
        held = per(self.deficit_j * self.blocked) / 3.6e9
        pending = per(self.deficit_j * self.recovering) / 3.6e9
        spare_rec = per(spare * self.recovering)
        blocked_mw = per(p * self.blocked)
        effect = per(self.effect_w) / 1e6
        states = []
        for i in range(n):
            hold = float(np.clip(reserve_mwh[i] / avail_mw[i], 0.05, HOLD_MAX_H)) if avail_mw[i] > 1e-9 else 0.05
            ratio = float(spare_avail[i] / avail_mw[i]) if avail_mw[i] > 1e-9 else 1.0
            k_new = float(np.clip(0.25 * ratio / float(np.clip(0.5 * hold, 0.25, 2.0)), 0.05, 1.0))
            k_now = float(np.clip(0.25 * spare_rec[i] / pending[i], 0.05, 1.0)) if pending[i] > 1e-9 else k_new
            states.append(
                GroupState(
                    float(avail_mw[i]),
                    hold,
                    k_new,
                    float(held[i]),
                    float(pending[i]),
                    k_now,
                    float(blocked_mw[i]),
                    float(effect[i]),
                )
            )
        return states

    def comfort_steps(self) -> NDArray[np.int64]:
        """5-minute steps below comfort, per device (tanks first, then rooms)."""
        return self.below_steps.copy()


@dataclass(frozen=True)
class _View:
    t_out_c: float
    expected_w: F64
    full_w: F64
    headroom_s: F64
    at_risk: B
    eligible: B


def _prefix(power: F64, amount: float) -> int:
    """How many of ``power`` (in order) to take so that their sum is closest to ``amount`` (0 when none fits)."""
    if power.size == 0 or amount <= 0:
        return 0
    total = np.cumsum(power)
    k = int(np.searchsorted(total, amount))
    if k >= power.size:
        return int(power.size)
    below = float(total[k - 1]) if k > 0 else 0.0
    return k + 1 if float(total[k]) - amount < amount - below else k
