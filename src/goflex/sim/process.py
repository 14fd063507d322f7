"""A twin fleet in a child process, reporting its status as JSON lines (``python -m goflex.sim.process``).

The gateways of a fleet share one event loop and, in Python, one core. Beside a broker and ingest in the same
process they compete for it: from about a hundred houses at 10x the all-in-one demo starved ingest's database
thread (values published, hardly any stored). Running the fleet in its own process gives it its own core, as
real gateways have their own Raspberry Pis, and keeps the demo one command.

Protocol: the parent writes one JSON line (the configuration) to the child's stdin and keeps stdin open; the
child prints one status line per second (``{"online": ..., "published": ..., "summary": {...}}``); when its
stdin closes (the parent stops or dies) the child stops its gateways (outboxes closed cleanly) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goflex.common import SimClock
from goflex.common.logs import RedactingFilter
from goflex.runtime.tasks import bounded
from goflex.sim.runner import FleetOptions, TwinFleet
from goflex.twin.fleet import FleetSummary
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)
STATUS_PERIOD_S = 1.0  # real seconds between two status lines


@dataclass(frozen=True)
class FleetStatus:
    """What the fleet process last reported.

    Attributes:
        online: gateways connected to the broker.
        published: values the gateways have handed to their outboxes.
        summary: the physics' figures (relays open, temperatures, power).
    """

    online: int
    published: int
    summary: FleetSummary


class FleetProcess:
    """Twin houses with their gateways in a child process, on a clock started at ``start``.

    Args:
        specs: the houses (their metadata records are handed to the child).
        options: broker, certificates, directories, seed.
        start: the simulated start (the parent's clock now).
        speed: simulated seconds per real second.
        log_file: where the child logs (appended; default its stderr, warnings only).
    """

    def __init__(
        self,
        specs: Sequence[HouseSpec],
        options: FleetOptions,
        *,
        start: datetime,
        speed: float,
        log_file: Path | None = None,
    ) -> None:
        self._config = {
            "log_file": str(log_file) if log_file else None,
            "specs": [spec.to_dict() for spec in specs],
            "seed": options.seed,
            "broker_url": options.broker_url,
            "pki_dir": str(options.pki_dir),
            "data_dir": str(options.data_dir),
            "days": options.days,
            "publish": options.publish,
            "start": start.timestamp(),
            "speed": speed,
        }
        self.status: FleetStatus | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and the reading of its status lines."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "goflex.sim.process", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(self._config).encode() + b"\n")
        await self._process.stdin.drain()
        self._reader = asyncio.create_task(self._read(), name="fleet status")

    @property
    def running(self) -> bool:
        """True while the child runs."""
        return self._process is not None and self._process.returncode is None

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            record = json.loads(line)
            self.status = FleetStatus(record["online"], record["published"], FleetSummary(**record["summary"]))

    async def stop(self, timeout_s: float = 20.0) -> int | None:
        """Close the child's stdin (it stops its gateways and exits); kill it after ``timeout_s``."""
        process = self._process
        if process is None:
            return None
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                # EOF comes with the child's exit, unless something it started still holds the pipe
                await bounded("fleet: reading the child's last output", self._reader, 5.0)
        return process.returncode


def _status_line(fleet: TwinFleet) -> str:
    summary = dataclasses.asdict(fleet.summary())
    return json.dumps({"online": fleet.online(), "published": fleet.published(), "summary": summary})


async def run_child(config: dict[str, Any]) -> None:
    """The child's side: run the fleet, report, stop when stdin closes."""
    clock = SimClock(datetime.fromtimestamp(float(config["start"]), UTC), speed=float(config["speed"]))
    specs = [HouseSpec.from_dict(record) for record in config["specs"]]
    options = FleetOptions(
        broker_url=str(config["broker_url"]),
        pki_dir=Path(config["pki_dir"]),
        data_dir=Path(config["data_dir"]),
        seed=int(config["seed"]),
        days=float(config["days"]),
        publish=str(config["publish"]),
    )
    fleet = TwinFleet(specs, options, clock)
    running = asyncio.create_task(fleet.run(), name="fleet")
    closed = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))  # EOF: the parent is done
    try:
        while not closed.done() and not running.done():
            sys.stdout.write(_status_line(fleet) + "\n")
            sys.stdout.flush()
            await asyncio.wait([closed, running], timeout=STATUS_PERIOD_S)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def main() -> None:
    """Entry point of ``python -m goflex.sim.process``."""
    # Ctrl-C in a terminal reaches the whole process group; the parent owns the shutdown (it closes our stdin
    # once its own services are ready for the gateways to flush), so the child must not die on it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.stdin.readline())
    fmt = "%(asctime)s %(levelname)-7s fleet %(name)s: %(message)s"
    if config.get("log_file"):
        handler: logging.Handler = logging.FileHandler(config["log_file"], encoding="utf-8")
        level = logging.INFO
    else:
        handler, level = logging.StreamHandler(sys.stderr), logging.WARNING
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, handlers=[handler])
    asyncio.run(run_child(config))


if __name__ == "__main__":
    main()


def combined(statuses: Sequence[FleetStatus]) -> FleetStatus:
    """One status for several fleet processes: counts add up, temperatures are the extremes and house-weighted means.

    Raises:
        ValueError: no status.
    """
    if not statuses:
        raise ValueError("no fleet status to combine")
    summaries = [s.summary for s in statuses]
    houses = sum(s.houses for s in summaries)

    def values(field: str) -> list[tuple[float, int]]:
        pairs = [(float(getattr(s, field)), s.houses) for s in summaries]
        return [(v, n) for v, n in pairs if not math.isnan(v)]  # nan: a process without tanks or heated rooms

    def mean(field: str) -> float:
        pairs = values(field)
        weight = sum(n for _, n in pairs)
        return sum(v * n for v, n in pairs) / weight if weight else math.nan

    def extreme(field: str, pick: Callable[[list[float]], float]) -> float:
        found = [v for v, _ in values(field)]
        return pick(found) if found else math.nan

    summary = dataclasses.replace(
        summaries[0],
        houses=houses,
        relays_open=sum(s.relays_open for s in summaries),
        boilers_heating=sum(s.boilers_heating for s in summaries),
        space_heaters_running=sum(s.space_heaters_running for s in summaries),
        tank_mean_c=mean("tank_mean_c"),
        tank_min_c=extreme("tank_min_c", min),
        tank_max_c=extreme("tank_max_c", max),
        room_mean_c=mean("room_mean_c"),
        room_min_c=extreme("room_min_c", min),
        room_max_c=extreme("room_max_c", max),
        total_power_w=sum(s.total_power_w for s in summaries),
    )
    return FleetStatus(sum(s.online for s in statuses), sum(s.published for s in statuses), summary)
