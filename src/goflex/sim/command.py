"""``goflex twin run``: a twin fleet against a running broker, with a status line per simulated quarter hour.

The simulated run ends at the real "now": it starts ``--hours`` (default 30 days) in the past, so that an
accelerated fleet never stamps values in the platform's future.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from goflex.common import ConfigError, SimClock
from goflex.pki import CertificateAuthority
from goflex.sim.process import FleetProcess, FleetStatus, combined
from goflex.sim.runner import FleetOptions, issue_missing_certificates
from goflex.twin.fleet_generator import pilot_fleet
from goflex.twin.house import HouseSpec, HouseSpecError

log = logging.getLogger(__name__)
STATUS_EVERY_S = 900.0  # simulated seconds between two status lines


@dataclass(frozen=True)
class TwinRunOptions:
    """Options of ``goflex twin run``."""

    houses: int
    speed: float
    seed: int
    hours: float | None
    broker_url: str
    pki_dir: Path
    fleet_file: Path | None
    directory: Path
    processes: int = 1


def load_fleet(path: Path) -> list[HouseSpec]:
    """House records from a JSON file (a list of objects, as ``goflex twin fleet`` prints them).

    Raises:
        ConfigError: the file is missing, is not JSON, or a record is invalid (the message names which).
    """
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("--fleet", f"{path}: {exc}") from exc
    if not isinstance(records, list) or not records:
        raise ConfigError("--fleet", f"{path}: expected a non-empty JSON list of house records")
    specs = []
    for i, record in enumerate(records):
        try:
            specs.append(HouseSpec.from_json(json.dumps(record)))
        except (HouseSpecError, ValueError, TypeError) as exc:
            raise ConfigError("--fleet", f"{path}: record {i}: {exc}") from exc
    return specs


def issue_house_certificates(pki_dir: Path, names: list[str]) -> None:
    """Issue the certificates the houses lack from the CA in ``pki_dir``.

    Raises:
        ConfigError: ``pki_dir`` holds no CA (run ``goflex pki init`` first).
    """
    if not (pki_dir / "ca.crt").is_file():
        raise ConfigError("--pki", f"{pki_dir}: no CA here (goflex pki init --dir {pki_dir})")
    issue_missing_certificates(CertificateAuthority.load(pki_dir), names)


async def run_twin(options: TwinRunOptions) -> int:
    """Run the fleet until Ctrl-C or ``options.hours`` of simulated time; returns the exit code."""
    specs = load_fleet(options.fleet_file) if options.fleet_file else pilot_fleet(options.houses, seed=options.seed)
    await asyncio.to_thread(issue_house_certificates, options.pki_dir, [s.name for s in specs])
    # The platform refuses values stamped in its future (ingest validation), and an accelerated clock would run
    # ahead of it: the simulated run is placed so that it ends now, like a replay of the last hours.
    hours = options.hours or 24 * 30
    clock = SimClock(datetime.now(UTC) - timedelta(hours=hours), speed=options.speed)
    days = hours / 24 + 1
    fleet_options = FleetOptions(
        broker_url=options.broker_url,
        pki_dir=options.pki_dir,
        data_dir=options.directory,
        seed=options.seed,
        days=days,
    )
    processes = max(1, min(options.processes, len(specs)))
    # every k-th house in process k: each process gets the same mix of house types
    fleets = [
        FleetProcess(specs[k::processes], fleet_options, start=clock.now(), speed=options.speed)
        for k in range(processes)
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    end = clock.time() + hours * 3600
    print(
        f"goflex twin: {len(specs)} houses x{options.speed:g} in {processes} process(es) -> {options.broker_url}",
        file=sys.stderr,
    )
    for fleet in fleets:
        await fleet.start()
    try:
        while not stop.is_set() and clock.time() < end and all(f.running for f in fleets):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(STATUS_EVERY_S / options.speed, 5.0))
            statuses = [f.status for f in fleets if f.status is not None]
            if len(statuses) == len(fleets):
                print(status_line(combined(statuses), clock), file=sys.stderr)
    finally:
        codes = await asyncio.gather(*(f.stop() for f in fleets))
    if any(code not in (0, None) for code in codes):
        print(f"goflex twin: a fleet process failed (exit codes {codes})", file=sys.stderr)
        return 1
    return 0


def status_line(status: FleetStatus, clock: SimClock) -> str:
    """One line: simulated time, houses online, values published, relays open, tank temperatures."""
    s = status.summary
    return (
        f"{clock.now():%Y-%m-%d %H:%M} UTC  online {status.online}/{s.houses}  published {status.published:,}  "
        f"relays open {s.relays_open}  tanks {s.tank_min_c:.1f}/{s.tank_mean_c:.1f}/{s.tank_max_c:.1f} C  "
        f"load {s.total_power_w / 1000:.1f} kW  (real {time.strftime('%H:%M:%S')})"
    )
