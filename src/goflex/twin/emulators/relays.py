"""The gateway's relays and On-Auto switch, emulated on a simulated house (seed 3.2.5.6).

Relay closed = heating enabled (seed 3.2.5.4 rule 5). The switch belongs to the inhabitant: in the twin it is
turned through :meth:`HousePort.set_switch_auto`, and the gateway reads it here.
"""

from __future__ import annotations

from goflex.twin.signals import HousePort


class EmulatedRelayBoard:
    """Relays and switch of the gateway bound to a :class:`HousePort` (same interface as the GPIO board)."""

    def __init__(self, port: HousePort) -> None:
        self._port = port

    def set_relay(self, relay: int, closed: bool) -> None:
        """Drive relay 1 or 2 (True = closed).

        Raises:
            ValueError: ``relay`` is not 1 or 2.
        """
        if relay not in (1, 2):
            raise ValueError(f"relay must be 1 or 2, got {relay}")
        self._port.set_relay(relay, closed)

    def relay_closed(self, relay: int) -> bool:
        """The relay's position as the house's wiring sees it."""
        return self._port.snapshot().relay_closed[relay - 1]

    def switch_auto(self) -> bool:
        """The On-Auto switch (True = auto)."""
        return self._port.snapshot().switch_auto

    def close(self) -> None:
        """Nothing to release (the interface's counterpart frees GPIO pins)."""
