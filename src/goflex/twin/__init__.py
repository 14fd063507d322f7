"""Digital twin of the pilot's houses (DESIGN.md 2: physics pure, vectorised over houses with numpy).

* devices: :mod:`~goflex.twin.tank` (one- and two-node water heaters), :mod:`~goflex.twin.space_heating` with
  :mod:`~goflex.twin.building` (1R1C / 2R2C) and :mod:`~goflex.twin.heat_pump` (COP, heating curve);
  :mod:`~goflex.twin.water_heater` is the scalar view of one tank;
* environment: :mod:`~goflex.twin.weather` (Sion), :mod:`~goflex.twin.solar` (pvlib), :mod:`~goflex.twin.base_load`
  (demandlib BDEW), :mod:`~goflex.twin.dhw` (hot-water draws);
* houses and fleets: :mod:`~goflex.twin.house` (the metadata record, seed 3.2.5.3-3.2.5.4),
  :mod:`~goflex.twin.fleet_generator` (the pilot's mix, the territory), :mod:`~goflex.twin.fleet` (all houses
  stepped together, with what their devices observe), :mod:`~goflex.twin.territory` (physics only, per 15 min);
* :mod:`~goflex.twin.signals`: the contract between the physics and :mod:`goflex.twin.emulators` (E450 frames on a
  pseudo-terminal, Z-Wave devices, relays), which the gateway program reads like real devices.

Only the scalar water heater is imported here: the fleet modules load pvlib and pandas, which a gateway does not
need.
"""

from goflex.twin.water_heater import TankParameters, TankState, draw_profile_l_per_s, step_tank

__all__ = ["TankParameters", "TankState", "draw_profile_l_per_s", "step_tank"]
