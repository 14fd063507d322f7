"""Putting a configured gateway together: hardware drivers on a Pi, or the twin's emulators on a simulated house.

``driver = "hardware"``: the meter on its serial device, the Z-Wave devices through the zwave-js server, the
relays and switch on GPIO, real time. ``driver = "twin"``: a one-tank simulated house
(:class:`~goflex.twin.emulators.TankHouse`) on a simulated clock running ``twin.speed`` times real time, its
E450 writing into a pseudo-terminal that the *same* :class:`SerialMeter` reads, emulated Z-Wave devices and
relays. A fleet of houses is the fleet runner's job; it builds :class:`Gateway` objects directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from goflex.common import RealClock, SimClock
from goflex.gateway.config import Driver, GatewayConfig
from goflex.gateway.program import Gateway
from goflex.gateway.serial_meter import SerialMeter, SerialSettings

log = logging.getLogger(__name__)


def _serial(config: GatewayConfig) -> SerialSettings:
    m = config.meter
    return SerialSettings(m.baudrate, m.bytesize, m.parity, m.stopbits)


@contextlib.asynccontextmanager
async def configured_gateway(config: GatewayConfig) -> AsyncIterator[Gateway]:
    """The gateway a configuration describes, with its drivers opened; they are released on exit."""
    if config.driver is Driver.HARDWARE:
        async with _hardware(config) as gateway:
            yield gateway
    else:
        async with _twin(config) as gateway:
            yield gateway


@contextlib.asynccontextmanager
async def _hardware(config: GatewayConfig) -> AsyncIterator[Gateway]:
    from goflex.gateway.gpio import GpioRelayBoard  # noqa: PLC0415 - GPIO libraries only on a Pi
    from goflex.gateway.zwave_js import ZWaveJsSource  # noqa: PLC0415

    clock = RealClock()
    r = config.relays
    relays = GpioRelayBoard(
        (r.relay1_pin, r.relay2_pin),
        r.switch_pin,
        relay_active_high=r.relay_active_high,
        switch_auto_level=r.switch_auto_level,
    )
    try:
        meter = SerialMeter(
            config.meter.device,
            clock=clock,
            settings=_serial(config),
            model=config.meter.model,
            key=config.meter.key,
            auth_key=config.meter.auth_key,
        )
        zwave = ZWaveJsSource(config.zwave.server_url, config.zwave.nodes, clock=clock) if config.zwave.nodes else None
        yield Gateway.from_config(config, relays=relays, clock=clock, meter=meter, zwave=zwave)
    finally:
        relays.close()


@contextlib.asynccontextmanager
async def _twin(config: GatewayConfig) -> AsyncIterator[Gateway]:
    from goflex.twin.emulators import (  # noqa: PLC0415
        E450Emulator,
        EmulatedRelayBoard,
        EmulatedZWave,
        TankHouse,
    )

    clock = SimClock(datetime.now(UTC), speed=config.twin.speed)
    house = TankHouse(config.name, clock, seed=config.twin.seed)
    emulator = E450Emulator(house, clock, model=config.meter.model)
    device = emulator.open()
    log.info("gateway %s: twin meter on %s (x%g)", config.name, device, config.twin.speed)
    meter_task = asyncio.create_task(emulator.run(), name=f"e450 {config.name}")
    try:
        meter = SerialMeter(device, clock=clock, settings=_serial(config), model=config.meter.model)
        zwave = EmulatedZWave(house, clock, rng=random.Random(config.twin.seed))
        yield Gateway.from_config(config, relays=EmulatedRelayBoard(house), clock=clock, meter=meter, zwave=zwave)
    finally:
        meter_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await meter_task
        emulator.close()
