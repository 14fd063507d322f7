"""The simulated pilot: twin houses with their real gateway programs, against a broker (``goflex twin run``).

:mod:`goflex.twin` computes the houses and emulates their devices; :mod:`goflex.gateway` is the program that runs
on each house's Raspberry Pi. This part puts the two together, one gateway per house, each with its own
certificate, outbox and pseudo-terminal, so ``goflex demo``, ``goflex twin run`` and ``goflex bench twin`` run
the same stack as the field.
"""

from goflex.sim.runner import FleetOptions, TwinFleet, house_devices, prepare_pki

__all__ = ["FleetOptions", "TwinFleet", "house_devices", "prepare_pki"]
