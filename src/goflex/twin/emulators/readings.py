"""What a Z-Wave device tells the gateway, in the pilot's names (pure).

The hardware driver (zwave-js) and the twin's emulated devices both produce :class:`DeviceReading` values, so
the gateway cannot tell them apart: a reading names the cloud.iO node (``ambientSensor-1``, ``boilerSensor-1``,
``powerMeter-1``) and object (``temperature``, ``wattsClamp1`` ... ``kWhTotal``) of seed Appendix 4.1.1-4.1.3.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceReading:
    """One value reported by a device.

    Attributes:
        node: cloud.iO node name (``ambientSensor-#``, ``boilerSensor-#``, ``powerMeter-#``).
        obj: object name (``temperature`` [C]; ``wattsClamp1..3``/``wattsTotal`` [W];
            ``kWhClamp1..3``/``kWhTotal`` [kWh]).
        value: the value in the unit above.
    """

    node: str
    obj: str
    value: float
