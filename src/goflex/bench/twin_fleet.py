"""The fleet side of ``goflex bench twin``: a :class:`~goflex.sim.runner.TwinFleet` in a process of its own.

Run as ``python -m goflex.bench.twin_fleet`` with a JSON configuration as the first line of stdin. The fleet
runs in this process and ingest in the parent so that the two never share one event loop (or one core's worth of
Python); with ``shards`` > 1 the parent starts several of these processes, each with every ``shards``-th house.
Stdout carries JSON lines: ``{"event": "connected"}`` once every gateway is connected, after which the process
waits for a line on stdin (the parent's "go", sent when every shard is connected), ``{"event": "started"}``
(the measured window opens),
``{"event": "cut"}`` after ``seconds`` of wall-clock time (the window closes: the parent samples its own and the
broker's CPU at both), then the figures as the last line. After the cut the meters and the physics stop and
the gateways keep running until their outboxes are empty (every value confirmed by ingest after its commit) or
``drain_seconds`` pass; Z-Wave devices and held-value heartbeats keep trickling meanwhile.

The simulated clock starts in the past, so that the fleet's timestamps stay behind the real time ingest checks
them against (ingest refuses values more than 10 min in the future; 60 s at 10x is already 10 min ahead).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from goflex.bench.twin import cpu_seconds
from goflex.common import SimClock
from goflex.sim.runner import FleetOptions, TwinFleet
from goflex.twin.fleet_generator import pilot_fleet

_POLL_S = 0.5  # real seconds between two looks at the outboxes while draining


@dataclass(frozen=True)
class Counters:
    """The fleet's counters at one instant."""

    wall_s: float
    sim_s: float
    cpu_s: float
    emitted: int
    pushes: int
    published: int

    @classmethod
    def of(cls, fleet: TwinFleet) -> Counters:
        stats = [h.gateway.stats() for h in fleet.houses]
        return cls(
            wall_s=time.monotonic(),
            sim_s=fleet.clock.time(),
            cpu_s=cpu_seconds(),
            emitted=sum(h.meter.pushes for h in fleet.houses),
            pushes=sum(s.pushes for s in stats),
            published=sum(s.published for s in stats),
        )


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def backlog(fleet: TwinFleet) -> int:
    """Values handed to the outboxes and not yet confirmed by ingest (sum of the outboxes' pending counts)."""
    return sum(h.gateway.endpoint.outbox.pending_count for h in fleet.houses)


def build_fleet(cfg: dict[str, Any]) -> TwinFleet:
    """The pilot fleet of ``cfg["houses"]`` houses on a clock that starts far enough in the past."""
    speed = float(cfg["speed"])
    horizon_s = (cfg["connect_seconds"] + cfg["seconds"] + cfg["drain_seconds"] + 60.0) * speed
    clock = SimClock(datetime.now(UTC) - timedelta(seconds=horizon_s), speed=speed)
    shard, shards = int(cfg.get("shard", 0)), int(cfg.get("shards", 1))
    specs = pilot_fleet(int(cfg["houses"]), seed=int(cfg["seed"]))[shard::shards]
    options = FleetOptions(
        broker_url=cfg["broker_url"],
        pki_dir=Path(cfg["pki_dir"]),
        data_dir=Path(cfg["data_dir"]),
        seed=int(cfg["seed"]),
        days=horizon_s / 86400.0 + 0.05,
        publish=str(cfg.get("publish", "update")),
    )
    return TwinFleet(specs, options, clock)


async def _wait(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_S)
    return True


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connect the fleet, run it for ``seconds``, stop the meters, drain, report (see the module docstring)."""
    fleet = build_fleet(cfg)
    n = len(fleet.houses)
    t0 = time.monotonic()
    producers = [asyncio.create_task(fleet.physics_loop(), name="physics")]
    producers += [asyncio.create_task(h.meter.run(), name=f"meter {h.spec.name}") for h in fleet.houses]
    gateways = [asyncio.create_task(h.gateway.run(), name=f"gateway {h.spec.name}") for h in fleet.houses]
    connected = await _wait(lambda: fleet.online() == n, cfg["connect_seconds"])
    connect_s = time.monotonic() - t0
    print(f"bench twin: {fleet.online()}/{n} gateways connected in {connect_s:.1f} s", file=sys.stderr)
    _emit({"event": "connected"})
    await asyncio.to_thread(sys.stdin.readline)  # the parent's "go": every shard is connected
    start = Counters.of(fleet)
    _emit({"event": "started"})
    await asyncio.sleep(cfg["seconds"])
    cut = Counters.of(fleet)
    _emit({"event": "cut"})
    backlog_at_cut = backlog(fleet)
    for task in producers:
        task.cancel()
    await asyncio.gather(*producers, return_exceptions=True)
    print(f"bench twin: window closed, {backlog_at_cut} values waiting in the outboxes; draining", file=sys.stderr)
    drain_t0 = time.monotonic()
    drained = await _wait(lambda: backlog(fleet) == 0, cfg["drain_seconds"])
    drain_s = time.monotonic() - drain_t0
    for h in fleet.houses:
        await h.gateway.stop()
    await asyncio.gather(*gateways, return_exceptions=True)
    end = Counters.of(fleet)  # after the stop: what a gateway published while stopping counts too
    left = backlog(fleet)
    for h in fleet.houses:
        with contextlib.suppress(OSError):
            h.meter.close()
    return {
        "houses": n,
        "connected": connected,
        "connect_seconds": round(connect_s, 2),
        "window_wall_seconds": round(cut.wall_s - start.wall_s, 3),
        "window_simulated_seconds": round(cut.sim_s - start.sim_s, 1),
        "pushes_emitted": cut.emitted - start.emitted,
        "pushes_received": cut.pushes - start.pushes,
        "published_in_window": cut.published - start.published,
        "published_total": end.published,
        "backlog_at_cut": backlog_at_cut,
        "backlog_end": left,
        "drained": drained,
        "drain_seconds": round(drain_s, 2),
        "cpu_seconds_window": round(cut.cpu_s - start.cpu_s, 2),
        "cpu_seconds_total": round(end.cpu_s, 2),
    }


def main() -> None:
    """Read the configuration from stdin, run, print the figures as the last line of stdout."""
    cfg = json.loads(sys.stdin.readline())
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format="fleet %(levelname)s %(name)s: %(message)s")
    profile = cfg.get("profile")
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    result = asyncio.run(run(cfg))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    _emit(result)


if __name__ == "__main__":
    main()
