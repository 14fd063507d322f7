"""Digital twin of the pilot's houses (DESIGN.md 2: physics pure).

So far: the one-node electric water heater that the demo houses run. The full twin (two-node tanks, heat pumps
and buildings, PV, base load profiles, device emulators, fleets) arrives with its own issue.
"""

from goflex.twin.water_heater import TankParameters, TankState, draw_profile_l_per_s, step_tank

__all__ = ["TankParameters", "TankState", "draw_profile_l_per_s", "step_tank"]
