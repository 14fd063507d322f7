"""The gateway's three field interfaces (seed 3.2.5.6), as small interfaces with a hardware and a twin side.

=============  ======================================  ==================================================
interface      hardware                                twin (goflex.twin.emulators)
=============  ======================================  ==================================================
MeterSource    :class:`~goflex.gateway.serial_meter.   the same SerialMeter on the pty of an
               SerialMeter` (USB M-Bus adapter, CII)   :class:`~goflex.twin.emulators.E450Emulator`
ZWaveSource    :class:`~goflex.gateway.zwave_js.       :class:`~goflex.twin.emulators.EmulatedZWave`
               ZWaveJsSource` (zwave-js server)
RelayBoard     :class:`~goflex.gateway.gpio.           :class:`~goflex.twin.emulators.EmulatedRelayBoard`
               GpioRelayBoard` (gpiozero)
=============  ======================================  ==================================================
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from goflex.dlms import Push
from goflex.twin.emulators.readings import DeviceReading


class MeterSource(Protocol):
    """The smart meter: decoded pushes as they arrive."""

    def pushes(self) -> AsyncIterator[Push]:
        """Yield pushes until cancelled (survives a lost line by reopening it)."""
        ...


class ZWaveSource(Protocol):
    """The Z-Wave devices: batches of readings in the pilot's names."""

    def readings(self) -> AsyncIterator[list[DeviceReading]]:
        """Yield each batch of readings received together, until cancelled."""
        ...


class RelayBoard(Protocol):
    """The two relays (closed = heating enabled) and the On-Auto switch."""

    def set_relay(self, relay: int, closed: bool) -> None:
        """Drive relay 1 or 2."""
        ...

    def relay_closed(self, relay: int) -> bool:
        """Where relay 1 or 2 is."""
        ...

    def switch_auto(self) -> bool:
        """The On-Auto switch: True = auto, False = manual."""
        ...

    def close(self) -> None:
        """Release the hardware."""
        ...
