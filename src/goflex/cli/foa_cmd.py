"""``goflex foa ...``: FlexOffer Agents (issue 4 section 2, docs/foa.md).

``goflex foa run --fman URL --token-file F [--houses N] [--twin] [--heartbeat-s 60] ...`` runs the Direct Control
aggregator: one FOA for the pilot's houses (``goflex-dc-001`` ... , delegated trading, seed 2.2). With ``--twin``
the houses are a digital twin stepped by the agent's clock (``--speed`` simulated seconds per real second);
without it the relays are commanded through the cloud.iO broker (``--broker``, ``--pki-dir``, ``--identity``: the
agent's certificate needs WRITE on the houses). On exit (Ctrl-C, or ``--duration-s`` of platform time) the
agent's counters are printed as one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goflex.cli.arguments import house_count, positive
from goflex.common import ConfigError

if TYPE_CHECKING:
    from goflex.flex.foa.agent import AgentSettings


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def register(sub: Any) -> None:
    """Add the ``foa`` command group."""
    group = sub.add_parser("foa", help="FlexOffer Agents")
    commands = group.add_subparsers(dest="foa_command", metavar="COMMAND", required=True)
    run = commands.add_parser("run", help="run the Direct Control FOA for the pilot's houses")
    run.add_argument("--fman", required=True, help="FMAN's URL, e.g. http://127.0.0.1:8471")
    run.add_argument("--token-file", type=Path, required=True, help="file holding the agent's FMAN token")
    run.add_argument("--houses", type=house_count, default=10, help="houses goflex-dc-001.. (default 10)")
    run.add_argument("--seed", type=int, default=1, help="seed of the pilot fleet's metadata (and the twin)")
    run.add_argument("--twin", action="store_true", help="drive a digital twin of the houses instead of the IoT layer")
    run.add_argument("--speed", type=positive, default=1.0, help="twin: simulated seconds per real second")
    run.add_argument("--days", type=positive, default=2.0, help="twin: simulated horizon [d] (default 2)")
    run.add_argument("--heartbeat-s", type=positive, default=60.0, help="seconds between heartbeats (default 60)")
    run.add_argument("--duration-s", type=positive, default=None, help="stop after this much platform time [s]")
    run.add_argument("--price-down", type=float, default=0.06, help="EUR/kWh asked for not consuming")
    run.add_argument("--tank-min-c", type=float, default=45.0, help="comfort: least tank temperature [C]")
    run.add_argument("--room-min-c", type=float, default=19.0, help="comfort: least room temperature [C]")
    run.add_argument(
        "--submission-margin-s",
        type=_non_negative,
        default=300.0,
        help="least time between an offer's creation and its acceptBeforeTime [s] (default 300)",
    )
    run.add_argument(
        "--metering-wait-s",
        type=_non_negative,
        default=1800.0,
        help="how long after an offer's end to wait for a silent meter before metering what is known [s]",
    )
    run.add_argument("--location-id", default=None, help="grid location written into the offers")
    run.add_argument("--broker", default=None, help="IoT layer: mqtts://host:port")
    run.add_argument("--pki-dir", type=Path, default=None, help="IoT layer: ca.crt and IDENTITY.crt/.key")
    run.add_argument("--identity", default="foa", help="IoT layer: the agent's certificate name (default foa)")
    run.set_defaults(handler=_run)


def _token(path: Path) -> str:
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("token-file", f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not token:
        raise ConfigError("token-file", f"{path}: is empty")
    return token


def agent_settings(args: argparse.Namespace) -> AgentSettings:
    """The agent's settings from ``goflex foa run``'s options."""
    from goflex.flex.foa.agent import AgentSettings  # noqa: PLC0415
    from goflex.flex.foa.direct_control import ComfortSettings  # noqa: PLC0415

    return AgentSettings(
        heartbeat_s=args.heartbeat_s,
        comfort=ComfortSettings(tank_min_c=args.tank_min_c, room_min_c=args.room_min_c),
        price_down_eur_per_kwh=args.price_down,
        location_id=args.location_id,
        submission_margin_s=args.submission_margin_s,
        metering_wait_s=args.metering_wait_s,
    )


def _run(args: argparse.Namespace) -> int:
    if args.price_down < 0:
        raise ConfigError("price-down", "must be >= 0")
    if not args.twin and (args.broker is None or args.pki_dir is None):
        raise ConfigError("broker", "without --twin the agent needs --broker and --pki-dir (the IoT layer)")
    counters = asyncio.run(_main(args, _token(args.token_file)))
    print(json.dumps(counters, sort_keys=True))
    return 0


async def _main(args: argparse.Namespace, token: str) -> dict[str, int]:
    # Lazy imports: the twin loads numpy and pvlib, the IoT layer aiomqtt; other commands need neither.
    from goflex.common.clock import Clock, RealClock, SimClock  # noqa: PLC0415
    from goflex.flex.foa.agent import DirectControlAgent  # noqa: PLC0415
    from goflex.flex.foa.fman_client import FmanClient  # noqa: PLC0415
    from goflex.twin.fleet_generator import pilot_fleet  # noqa: PLC0415

    specs = pilot_fleet(args.houses, seed=args.seed)
    clock: Clock = SimClock(datetime.now(UTC), speed=args.speed) if args.twin else RealClock()
    settings = agent_settings(args)
    duration_s = args.duration_s
    if args.twin:
        duration_s = min(duration_s or float("inf"), args.days * 86400.0 - 3600.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FmanClient(args.fman, token) as fman, contextlib.AsyncExitStack() as stack:
        if args.twin:
            from goflex.flex.foa.devices import TwinHouses  # noqa: PLC0415
            from goflex.twin.fleet import FleetPhysics  # noqa: PLC0415

            physics = FleetPhysics(specs, start=clock.now(), seed=args.seed, dt_s=60.0, days=args.days, detailed=False)
            devices: Any = TwinHouses(physics, clock)
        else:
            devices = await stack.enter_async_context(_iot(args, specs, clock))
        agent = DirectControlAgent(
            houses=specs, fman=fman, devices=devices, reader=devices, clock=clock, settings=settings
        )
        print(f"goflex foa: {len(specs)} houses, FMAN {args.fman}", file=sys.stderr)
        task = asyncio.create_task(agent.run(stop))
        if duration_s is not None and duration_s != float("inf"):
            watch = asyncio.create_task(clock.sleep(duration_s))
            await asyncio.wait({task, watch, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
            watch.cancel()
        else:
            await stop.wait()
        stop.set()
        await task
    return dataclasses.asdict(agent.counters)


@contextlib.asynccontextmanager
async def _iot(args: argparse.Namespace, specs: Any, clock: Any) -> Any:
    from goflex.cloudio.application import Application  # noqa: PLC0415
    from goflex.flex.foa.iot_devices import CloudioHouses  # noqa: PLC0415

    pki = args.pki_dir.expanduser()
    app = Application(
        args.identity,
        broker=args.broker,
        ca_file=pki / "ca.crt",
        cert_file=pki / f"{args.identity}.crt",
        key_file=pki / f"{args.identity}.key",
        clock=clock,
    )
    async with app:
        houses = CloudioHouses(app, specs, clock)
        await houses.start()
        try:
            yield houses
        finally:
            await houses.stop()
