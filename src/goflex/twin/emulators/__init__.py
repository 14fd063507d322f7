"""Device emulators of the digital twin: real device output from a simulated house (goflex.twin.signals).

* :class:`E450Emulator`: the smart meter's CII pushes as real HDLC frames in a pseudo-terminal.
* :class:`EmulatedZWave`: the room and tank sensors and the Home Energy Meter, with irregular report intervals.
* :class:`EmulatedRelayBoard`: the gateway's relays and On-Auto switch.
* :class:`TankHouse`: a one-house :class:`~goflex.twin.signals.HousePort` for a gateway on its own.
"""

from goflex.twin.emulators.e450 import E450Emulator, PushSchedule, build_push, register_values
from goflex.twin.emulators.readings import DeviceReading
from goflex.twin.emulators.relays import EmulatedRelayBoard
from goflex.twin.emulators.tank_house import TankHouse
from goflex.twin.emulators.zwave import (
    AEOTEC_HEM_GEN5,
    PHILIO_PAT02B,
    QUBINO_ZMNHID,
    EmulatedZWave,
    ReportProfile,
    ZWaveDevices,
)

__all__ = [
    "AEOTEC_HEM_GEN5",
    "PHILIO_PAT02B",
    "QUBINO_ZMNHID",
    "DeviceReading",
    "E450Emulator",
    "EmulatedRelayBoard",
    "EmulatedZWave",
    "PushSchedule",
    "ReportProfile",
    "TankHouse",
    "ZWaveDevices",
    "build_push",
    "register_values",
]
