"""``goflex doms run`` (the live DOMS) and ``goflex doms grid-meter`` (the TG8000-like grid endpoint).

::

    goflex doms run --broker mqtts://localhost:8883 --pki DIR --market http://127.0.0.1:8470/api/v1 \\
        --token-file dso.token --scenario SCENARIO_DIR [--dayahead-dir DIR] [--scale 1] [--port 8472] \\
        [--api-token-file doms-operator-token.txt] [--prices two-price|single-price|flat]
    goflex doms grid-meter --broker mqtts://localhost:8883 --pki DIR --scenario SCENARIO_DIR [--scale 1]

``run`` needs the application certificate ``doms`` in ``--pki`` (``goflex pki issue doms --kind application``) and
a broker grant of READ on ``goflex-grid-tg8000``; ``--token-file`` holds its FMAR ``buyer`` token. Both run on the
real clock until Ctrl-C. Bad options end with exit code 2 and a message naming the option or file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from goflex.common import ConfigError


def add_run(commands: Any) -> None:
    """Add ``run`` and ``grid-meter`` to the ``doms`` group."""
    p = commands.add_parser("run", help="the live DOMS: grid load via the broker -> buy orders on FMAR")
    p.add_argument("--broker", required=True, help="mqtts://host:port")
    p.add_argument("--pki", type=Path, required=True, help="directory with ca.crt and doms.crt/doms.key")
    p.add_argument("--market", required=True, help="FMAR base URL, e.g. http://127.0.0.1:8470/api/v1")
    p.add_argument("--token-file", type=Path, required=True, help="DOMS's FMAR buyer token")
    p.add_argument("--scenario", type=Path, required=True, metavar="DIR", help="grid.csv with day-ahead and prices")
    p.add_argument("--dayahead-dir", type=Path, default=None, help="file drop of dayahead*.csv (re-read on change)")
    p.add_argument("--scale", type=float, default=1.0, help="demo balance group: MW per MW of the scenario")
    p.add_argument("--prices", choices=("two-price", "single-price", "flat"), default="two-price")
    p.add_argument("--identity", default="doms", help="certificate CN (default doms)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8472, help="state API port (default 8472)")
    p.add_argument(
        "--api-token-file",
        type=Path,
        default=Path("doms-operator-token.txt"),
        help="the state API's token (created, mode 0600, if missing)",
    )
    p.set_defaults(handler=_run)
    g = commands.add_parser("grid-meter", help="replay a scenario's load as the grid endpoint goflex-grid-tg8000")
    g.add_argument("--broker", required=True, help="mqtts://host:port")
    g.add_argument("--pki", type=Path, required=True, help="CA directory (the endpoint's certificate is issued)")
    g.add_argument("--scenario", type=Path, required=True, metavar="DIR")
    g.add_argument("--scale", type=float, default=1.0, help="MW published per MW of the scenario")
    g.add_argument("--outbox", type=Path, default=Path("grid-tg8000-outbox.db"))
    g.set_defaults(handler=_grid_meter)


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("--token-file", f"{path} cannot be read ({exc.strerror})") from exc
    if not token:
        raise ConfigError("--token-file", f"{path} is empty")
    return token


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _run(args: argparse.Namespace) -> int:
    import httpx  # noqa: PLC0415 - lazy: every goflex command would pay for these imports

    from goflex.common.clock import RealClock  # noqa: PLC0415
    from goflex.doms.live import DomsSettings  # noqa: PLC0415
    from goflex.doms.live_runner import LiveOptions, live_doms  # noqa: PLC0415
    from goflex.doms.prices import PRICE_MODELS  # noqa: PLC0415

    if not args.scale > 0:
        raise ConfigError("--scale", "must be > 0")
    token = _read_token(args.token_file)
    options = LiveOptions(
        broker_url=args.broker,
        pki=args.pki,
        scenario=args.scenario,
        token_file=args.api_token_file,
        identity=args.identity,
        dayahead_dir=args.dayahead_dir,
        host=args.host,
        port=args.port,
        settings=DomsSettings(scale=args.scale, prices=PRICE_MODELS[args.prices]),
    )

    async def main() -> None:
        clock = RealClock()
        headers = {"Authorization": f"Bearer {token}"}
        market = httpx.AsyncClient(base_url=args.market, headers=headers, timeout=10.0)
        async with market, live_doms(options, clock, market) as live:
            print(f"goflex doms: state on {live.url}/api/v1/state (token in {args.api_token_file})", file=sys.stderr)
            await _until_signal()

    asyncio.run(main())
    return 0


def _grid_meter(args: argparse.Namespace) -> int:
    from goflex.common.clock import RealClock  # noqa: PLC0415 - lazy
    from goflex.demo.grid_meter import GridMeter, open_endpoint  # noqa: PLC0415
    from goflex.doms.live_inputs import ScenarioReplay  # noqa: PLC0415

    if not args.scale > 0:
        raise ConfigError("--scale", "must be > 0")
    replay = ScenarioReplay.read(args.scenario, scale=args.scale)

    async def main() -> None:
        clock = RealClock()
        endpoint = open_endpoint(pki=args.pki, broker_url=args.broker, outbox=args.outbox, clock=clock)
        async with endpoint:
            meter = asyncio.create_task(GridMeter(replay, endpoint, clock).run())
            print("goflex doms grid-meter: publishing every 5 minutes (Ctrl-C to stop)", file=sys.stderr)
            await _until_signal()
            meter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meter

    asyncio.run(main())
    return 0
