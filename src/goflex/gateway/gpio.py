"""The relays and the On-Auto switch on the gateway's GPIO pins (gpiozero).

The pilot's gateway drives bi-stable relays that isolate it from the heating controls (seed 3.2.5.7); the
board's driver stage is switched by one GPIO output per relay. The On-Auto switch is read on one input pin
(pull-up; which level means "auto" is configurable). Pins use BCM numbering. At start the relays are closed
(heating enabled, Appendix 4.2.1 default true) before the program decides anything.
"""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice, OutputDevice


class GpioRelayBoard:
    """Relays and switch on GPIO pins.

    Args:
        relay_pins: BCM pins of relay 1 and relay 2.
        switch_pin: BCM pin of the On-Auto switch.
        relay_active_high: the relay closes when its pin is high.
        switch_auto_level: the pin level read when the switch is on auto.
        pin_factory: a gpiozero pin factory (tests pass ``MockFactory()``); default: the platform's.
    """

    def __init__(
        self,
        relay_pins: tuple[int, int],
        switch_pin: int,
        *,
        relay_active_high: bool = True,
        switch_auto_level: bool = True,
        pin_factory: Any = None,
    ) -> None:
        self._relays = [
            OutputDevice(pin, active_high=relay_active_high, initial_value=True, pin_factory=pin_factory)
            for pin in relay_pins
        ]
        self._switch = DigitalInputDevice(switch_pin, pull_up=True, pin_factory=pin_factory)
        self._auto_level = switch_auto_level

    def set_relay(self, relay: int, closed: bool) -> None:
        """Drive relay 1 or 2 (True = closed = heating enabled).

        Raises:
            ValueError: ``relay`` is not 1 or 2.
        """
        if relay not in (1, 2):
            raise ValueError(f"relay must be 1 or 2, got {relay}")
        device = self._relays[relay - 1]
        if closed:
            device.on()
        else:
            device.off()

    def relay_closed(self, relay: int) -> bool:
        """The commanded position of relay 1 or 2 (the output pin's state)."""
        return bool(self._relays[relay - 1].value)

    def switch_auto(self) -> bool:
        """True when the On-Auto switch is on auto."""
        # DigitalInputDevice with pull_up reads "active" (1) when the pin is pulled low.
        level_high = not bool(self._switch.value)
        return level_high == self._auto_level

    def close(self) -> None:
        """Release the pins."""
        for device in (*self._relays, self._switch):
            device.close()
