"""The smart meter's serial line (CII through a USB M-Bus slave adapter), read with pyserial.

E450 CII: 2400 baud 8E1; E360 P1: 9600 8N1 (meter-cii.md). The port is opened non-blocking and its file
descriptor watched by the event loop (``loop.add_reader``), so a gateway costs no thread, and two hundred of them
can share one process in the twin. Bytes go to :class:`goflex.dlms.PushDecoder`, which takes any chunking and
never raises.

An unplugged adapter (or a closed pseudo-terminal in the twin) shows as a read error or as a readable port that
returns no data (end of file); the meter then reopens the device with capped, jittered backoff until it is back,
with a fresh decoder (a half-received push from before the break must not be glued to the next bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import serial

from goflex.cloudio.backoff import Backoff
from goflex.common import Clock
from goflex.dlms import Push, PushDecoder

log = logging.getLogger(__name__)

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_READ_SIZE = 4096


@dataclass(frozen=True)
class SerialSettings:
    """Line settings.

    Attributes:
        baudrate: [bit/s]; 2400 for the E450 CII, 9600 for the E360 P1 port.
        bytesize: data bits.
        parity: ``"N"``, ``"E"`` or ``"O"``.
        stopbits: 1 or 2.
    """

    baudrate: int = 2400
    bytesize: int = 8
    parity: str = "E"
    stopbits: int = 1

    @classmethod
    def for_model(cls, model: str) -> SerialSettings:
        """The line of a meter model (``e450`` or ``e360``)."""
        return cls(9600, 8, "N", 1) if model == "e360" else cls()


class SerialMeter:
    """Pushes from a meter on a serial device.

    Args:
        device: the serial device path (``/dev/ttyUSB0``, a ``/dev/serial/by-id/...`` link, or a pty).
        clock: for the reopen backoff.
        settings: line settings.
        model: meter model for the decoder's scaling table.
        key, auth_key: AES-128 keys if the meter encrypts (the pilot's do not).
        backoff: delays between reopen attempts [s].
        rng: jitter source.
    """

    def __init__(
        self,
        device: str,
        *,
        clock: Clock,
        settings: SerialSettings | None = None,
        model: str = "e450",
        key: bytes | None = None,
        auth_key: bytes | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.device = device
        self._clock = clock
        self._settings = settings or SerialSettings.for_model(model)
        self._model = model
        self._key = key
        self._auth_key = auth_key
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._rng = rng or random.Random()
        self.opens = 0
        self.bytes_read = 0
        self.rejected = 0

    def _open(self) -> serial.Serial:
        s = self._settings
        return serial.Serial(
            self.device,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=_PARITY[s.parity],
            stopbits=s.stopbits,
            timeout=0,  # non-blocking: reads return what is there
        )

    async def pushes(self) -> AsyncIterator[Push]:
        """Yield decoded pushes until cancelled; reopen the device whenever it goes away."""
        attempt = 0
        while True:
            try:
                port = self._open()
            except (serial.SerialException, OSError) as exc:
                delay = self._backoff.delay(attempt, self._rng)
                attempt += 1
                log.warning("meter %s: cannot open (%s); retrying in %.1f s", self.device, exc, delay)
                await self._clock.sleep(delay)
                continue
            attempt = 0
            self.opens += 1
            log.info("meter %s: open (%d baud)", self.device, self._settings.baudrate)
            decoder = PushDecoder(model=self._model, key=self._key, auth_key=self._auth_key)
            try:
                async for push in self._read(port, decoder):
                    yield push
            finally:
                self.rejected += decoder.stats.rejected
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
            log.warning("meter %s: line lost; reopening", self.device)

    async def _read(self, port: serial.Serial, decoder: PushDecoder) -> AsyncIterator[Push]:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

        def readable() -> None:
            # The loop already knows the descriptor is readable and the port is non-blocking, so read it
            # directly: pyserial's read() would select() again, and select() refuses descriptors >= 1024, which
            # a fleet of simulated gateways in one process reaches (docs/benchmarks.md).
            try:
                data = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                return  # a spurious wake-up: nothing yet
            except OSError:
                data = b""  # unplugged: EIO (a pty whose other side closed, a USB adapter gone)
            if not data:  # readable with no data: end of file, the device went away
                loop.remove_reader(fd)
                chunks.put_nowait(None)
            else:
                chunks.put_nowait(data)

        fd = port.fileno()
        loop.add_reader(fd, readable)
        seen = dict(decoder.stats.rejected_by_reason)
        try:
            while (data := await chunks.get()) is not None:
                self.bytes_read += len(data)
                pushes = decoder.feed(data)
                if decoder.stats.rejected_by_reason != seen:
                    seen = self._report_rejections(decoder, seen, joined=decoder.stats.pushes == 0)
                for push in pushes:
                    yield push
        finally:
            loop.remove_reader(fd)

    def _report_rejections(self, decoder: PushDecoder, seen: dict[str, int], *, joined: bool) -> dict[str, int]:
        """Log pushes the decoder refused (bad CRC, broken block sequence, failed tag): the good ones go on.

        ``joined``: no push decoded on this line yet. Opening the port in the middle of a push (the meter never
        waits) loses that push's first blocks: expected, so not a warning.
        """
        now = dict(decoder.stats.rejected_by_reason)
        for reason, count in now.items():
            new = count - seen.get(reason, 0)
            if new > 0:
                level = logging.INFO if joined and reason == "block_sequence" else logging.WARNING
                log.log(
                    level,
                    "meter %s: %d push(es) rejected (%s); %d rejected on this line so far",
                    self.device,
                    new,
                    reason,
                    decoder.stats.rejected,
                )
        return now
