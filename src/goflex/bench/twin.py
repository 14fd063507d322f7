"""``goflex bench twin``: how many twin houses one machine runs in real time, full stack vs. physics only.

One run, one machine, three parts:

1. *Full stack*: a private CA (the ingest service and one endpoint certificate per house, named like the houses),
   Mosquitto with the rendered production configuration (mutual TLS; the ACL's endpoint patterns confine every
   house to its own topics by certificate CN), the ingest service storing into the database in this process,
   and a :class:`~goflex.sim.runner.TwinFleet` of N pilot houses at ``speed`` in a child process
   (:mod:`goflex.bench.twin_fleet`): per house an E450 emulator writing CII frames into a pty that the gateway's
   serial reader decodes, Z-Wave and relay emulators, a gateway with its endpoint and durable outbox. CPU time of
   the fleet, of ingest and of Mosquitto is read from ``/proc`` over the measured window.
2. *Detailed physics*: :class:`~goflex.twin.fleet.FleetPhysics` of the same houses with meter synthesis, stepped
   as fast as it goes (no clock, no I/O).
3. *Territory*: :func:`~goflex.twin.territory.simulate_territory` of the territory's receivers on every core.

Human progress goes to stderr, the figures (one JSON document) to stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from goflex.bench.ingest import _free_port, _mosquitto, _wait_port
from goflex.broker.acl import ingest_grants
from goflex.broker.render import render_mosquitto
from goflex.ingest import IngestService
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.store import Database, open_database
from goflex.store.schema import attribute, history
from goflex.twin.fleet import FleetPhysics
from goflex.twin.fleet_generator import pilot_fleet, territory_fleet
from goflex.twin.territory import simulate_territory

TECHNICAL_PUSH_S = 5.0  # seed Table 3: the E450's technical push (+P/-P, voltages, currents) every 5 s
ENERGY_PUSH_S = 300.0  # seed Table 3: the energy registers every 5 min
PHYSICS_START = datetime(2026, 1, 12, tzinfo=UTC)  # a winter week: space heating runs, the physics works hardest
PUSH_TARGET = 0.95  # share of the expected meter pushes the gateways must receive to keep up
STORED_TARGET = 0.99  # share of the published values stored after the drain
BACKLOG_TARGET = 0.01  # outbox backlog at the end, as a share of the values published


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process from ``/proc/<pid>/stat`` [s] (Linux)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    # The command name (field 2) may contain spaces: count the fields after its closing parenthesis.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class TwinBenchOptions:
    """Options of ``goflex bench twin`` (durations in wall-clock seconds unless named simulated)."""

    houses: int = 200
    speed: float = 10.0
    seconds: float = 60.0
    db_url: str | None = None
    territory_houses: int = 11_687
    territory_days: float = 7.0
    physics_days: float = 1.0
    seed: int = 1
    drain_seconds: float = 30.0
    connect_seconds: float = 60.0
    keep: bool = False
    profile: Path | None = None
    publish: str = "update"
    shards: int = 1


def _prepare(root: Path, names: list[str]) -> tuple[Path, Path, int]:
    """CA with the ingest and house certificates, rendered broker config: (CA dir, mosquitto.conf, port)."""
    ca = CertificateAuthority.init(root / "pki")
    ca.issue("ingest", CertificateKind.SERVICE)
    ca.issue_many(names, CertificateKind.ENDPOINT)
    port = _free_port()
    rendered = render_mosquitto(
        ca.directory,
        root / "broker",
        port=port,
        grants=ingest_grants(),  # houses need no grant: the ACL's endpoint patterns cover them by CN
        run_as_current_user=True,
        dynsec_plugin=None,
        log_types=("error", "warning"),
    )
    return ca.directory, rendered.conf_path, port


def _stored(db: Database, names: list[str]) -> int:
    """History rows of the houses' attributes."""
    with db.transaction() as conn:
        ids = sa.select(attribute.c.id).where(attribute.c.endpoint.in_(names)).scalar_subquery()
        count = conn.execute(
            sa.select(sa.func.count()).select_from(history).where(history.c.attribute_id.in_(ids))
        ).scalar_one()
    return int(count)


@dataclass
class _Window:
    """CPU of this process and of the broker, and the stored rows, at the window's start and end."""

    broker_pid: int
    db: Database
    names: list[str]
    marks: dict[str, tuple[float, float, float, int]]

    async def mark(self, event: str) -> None:
        stored = await asyncio.to_thread(_stored, self.db, self.names)
        self.marks[event] = (time.monotonic(), cpu_seconds(), cpu_seconds(self.broker_pid), stored)


async def _run_fleet(config: dict[str, Any], window: _Window, shards: int) -> dict[str, Any]:
    """Start ``shards`` fleet processes, open the window when all are connected, return their summed figures."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "goflex.bench.twin_fleet",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(shards)
    ]
    for shard, process in enumerate(processes):
        assert process.stdin is not None
        process.stdin.write(json.dumps({**config, "shard": shard, "shards": shards}).encode() + b"\n")
        await process.stdin.drain()

    async def next_record(process: asyncio.subprocess.Process) -> dict[str, Any]:
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"a fleet process ended early (exit code {await process.wait()})")
        record: dict[str, Any] = json.loads(line)
        return record

    for event in ("connected", "started", "cut"):
        records = await asyncio.gather(*(next_record(p) for p in processes))
        if any(r.get("event") != event for r in records):
            raise RuntimeError(f"fleet processes out of step: expected {event!r}, got {records}")
        if event == "connected":
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(b"go\n")
                await process.stdin.drain()
        else:
            await window.mark(event)
        print(f"bench twin: fleet {event} ({shards} process(es))", file=sys.stderr)
    results = await asyncio.gather(*(next_record(p) for p in processes))
    for process in processes:
        if await process.wait() != 0:
            raise RuntimeError(f"a fleet process failed with exit code {process.returncode}")
    return _sum_shards(results)


def _sum_shards(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One fleet's figures from its shards': counts add up, times are the slowest shard's."""
    total: dict[str, Any] = {}
    for key in results[0]:
        values = [r[key] for r in results]
        if isinstance(values[0], bool):
            total[key] = all(values)
        elif key.endswith("_seconds") and not key.startswith("cpu"):
            total[key] = max(values)
        else:
            total[key] = round(sum(values), 2) if isinstance(values[0], float) else sum(values)
    return total


async def _settle(ingest: IngestService, quiet_s: float = 1.0, timeout_s: float = 15.0) -> None:
    """Wait until ingest has received nothing for ``quiet_s`` (the last PUBACKed values reach the database)."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = ingest.metrics.snapshot().received
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        await asyncio.sleep(0.2)


async def full_stack(options: TwinBenchOptions) -> dict[str, Any]:
    """Part 1: broker + ingest here, the fleet in a child process; the figures of the measured window."""
    mosquitto = _mosquitto()
    root = Path(tempfile.mkdtemp(prefix="goflex-bench-twin-"))
    names = [s.name for s in pilot_fleet(options.houses, seed=options.seed)]
    db_url = options.db_url or f"sqlite:///{root / 'bench.db'}"
    print(f"bench twin: issuing {len(names) + 1} certificates in {root}", file=sys.stderr)
    t0 = time.monotonic()
    pki, conf, port = await asyncio.to_thread(_prepare, root, names)
    certificates_s = time.monotonic() - t0
    broker = await asyncio.create_subprocess_exec(
        mosquitto, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await asyncio.to_thread(_wait_port, port)
        db = await asyncio.to_thread(open_database, db_url)
        await asyncio.to_thread(db.migrate)
        ingest = IngestService(
            db=db,
            broker=f"mqtts://localhost:{port}",
            ca_file=pki / "ca.crt",
            cert_file=pki / "ingest.crt",
            key_file=pki / "ingest.key",
        )
        await ingest.start()
        window = _Window(broker.pid, db, names, {})
        config = {
            "broker_url": f"mqtts://localhost:{port}",
            "pki_dir": str(pki),
            "data_dir": str(root / "fleet"),
            "houses": options.houses,
            "speed": options.speed,
            "seconds": options.seconds,
            "seed": options.seed,
            "drain_seconds": options.drain_seconds,
            "connect_seconds": options.connect_seconds,
            "profile": str(options.profile) if options.profile else None,
            "publish": options.publish,
        }
        print(f"bench twin: {options.houses} houses x{options.speed:g} for {options.seconds:g} s", file=sys.stderr)
        try:
            fleet = await _run_fleet(config, window, options.shards)
            await _settle(ingest)
        finally:
            await ingest.stop()
        rejected = ingest.metrics.snapshot().rejected
        stored = await asyncio.to_thread(_stored, db, names)
        db.close()
    finally:
        broker.terminate()
        await broker.wait()
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    figures = _figures(options, fleet, window, stored)
    figures.update(
        database="postgresql" if db_url.startswith("postgres") else "sqlite",
        ingest_rejected=rejected,
        certificates_seconds=round(certificates_s, 1),
    )
    return figures


def _figures(options: TwinBenchOptions, fleet: dict[str, Any], window: _Window, stored: int) -> dict[str, Any]:
    (w0, self0, broker0, stored0), (w1, self1, broker1, stored1) = window.marks["started"], window.marks["cut"]
    wall = w1 - w0
    sim = fleet["window_simulated_seconds"]
    cpu = {
        "fleet": fleet["cpu_seconds_window"],
        "ingest": round(self1 - self0, 2),
        "mosquitto": round(broker1 - broker0, 2),
    }
    cpu_total = sum(cpu.values())
    expected = options.houses * sim * (1 / TECHNICAL_PUSH_S + 1 / ENERGY_PUSH_S)
    published = fleet["published_total"]
    push_ratio = fleet["pushes_received"] / expected if expected else 0.0
    stored_ratio = stored / published if published else 0.0
    cores = cpu_total / wall if wall else 0.0
    kept_up = (
        push_ratio >= PUSH_TARGET
        and stored_ratio >= STORED_TARGET
        and fleet["backlog_end"] <= BACKLOG_TARGET * published
    )
    return {
        "houses": options.houses,
        "speed": options.speed,
        "publish": options.publish,
        "fleet_processes": options.shards,
        "wall_seconds": round(wall, 2),
        "simulated_seconds": sim,
        "meter_pushes_expected": round(expected),
        "meter_pushes_emitted": fleet["pushes_emitted"],
        "meter_pushes_received": fleet["pushes_received"],
        "meter_push_ratio": round(push_ratio, 3),
        "values_published_in_window": fleet["published_in_window"],
        "values_published": published,
        "values_stored": stored,
        "stored_published_ratio": round(stored_ratio, 4),
        "values_stored_per_s": round((stored1 - stored0) / wall, 1) if wall else None,
        "outbox_backlog_at_cut": fleet["backlog_at_cut"],
        "outbox_backlog_end": fleet["backlog_end"],
        "drained": fleet["drained"],
        "drain_seconds": fleet["drain_seconds"],
        "cpu_seconds": {**cpu, "total": round(cpu_total, 2)},
        "cores_used": round(cores, 2),
        "houses_per_core_realtime": round(options.houses * options.speed / cores, 1) if cores else None,
        # what the CPU time bought, counting only the meter pushes that got through (= the figure above if kept up)
        "houses_per_core_realtime_effective": round(options.houses * options.speed * min(1.0, push_ratio) / cores, 1)
        if cores
        else None,
        "fleet_cpu_ms_per_value": _per_value(cpu["fleet"], fleet["published_in_window"]),
        "ingest_cpu_ms_per_value": _per_value(cpu["ingest"], stored1 - stored0),
        "house_days_per_s": round(options.houses * sim / 86400.0 / wall, 5) if wall else None,
        "kept_up": kept_up,
        "connect_seconds": fleet["connect_seconds"],
        "all_connected": fleet["connected"],
    }


def _per_value(cpu_s: float, values: int) -> float | None:
    """CPU milliseconds per value [ms]."""
    return round(1000.0 * cpu_s / values, 3) if values else None


def detailed_physics(options: TwinBenchOptions) -> dict[str, Any]:
    """Part 2: the same houses' :class:`FleetPhysics` with meter synthesis, as fast as it steps."""
    specs = pilot_fleet(options.houses, seed=options.seed)
    dt_s = 10.0  # the step of TwinFleet's physics (FleetOptions.physics_dt_s)
    t0 = time.perf_counter()
    fleet = FleetPhysics(specs, start=PHYSICS_START, seed=options.seed, dt_s=dt_s, days=options.physics_days)
    fleet.advance_to(fleet.start_s + options.physics_days * 86400.0)
    wall = time.perf_counter() - t0
    return {
        "houses": options.houses,
        "simulated_days": options.physics_days,
        "dt_s": dt_s,
        "wall_seconds": round(wall, 2),
        "house_days_per_s": round(options.houses * options.physics_days / wall, 1),
    }


def territory(options: TwinBenchOptions) -> dict[str, Any]:
    """Part 3: the territory's receivers, physics only (no meters), on every core."""
    workers = os.cpu_count() or 1
    specs = territory_fleet(seed=options.seed, receivers=options.territory_houses)
    result = simulate_territory(
        specs, start=PHYSICS_START, days=options.territory_days, seed=options.seed, workers=workers
    )
    return {
        "houses": result.houses,
        "simulated_days": options.territory_days,
        "dt_s": 300.0,
        "workers": workers,
        "wall_seconds": round(result.wall_s, 2),
        "house_days_per_s": round(result.house_days_per_s, 1),
    }


async def bench_twin(options: TwinBenchOptions) -> dict[str, Any]:
    """Run the three parts and return the figures (see the module docstring)."""
    stack = await full_stack(options)
    print(f"bench twin: detailed physics, {options.houses} houses x {options.physics_days:g} d", file=sys.stderr)
    detailed = await asyncio.to_thread(detailed_physics, options)
    print(f"bench twin: territory, {options.territory_houses} houses x {options.territory_days:g} d", file=sys.stderr)
    terr = await asyncio.to_thread(territory, options)
    base = stack["house_days_per_s"]
    return {
        "full_stack": stack,
        "physics_detailed": detailed,
        "territory": terr,
        "speedup_detailed_vs_full_stack": round(detailed["house_days_per_s"] / base, 2) if base else None,
        "speedup_territory_vs_full_stack": round(terr["house_days_per_s"] / base, 1) if base else None,
        "kept_up": stack["kept_up"],
        "houses_per_core_realtime": stack["houses_per_core_realtime"],
    }
