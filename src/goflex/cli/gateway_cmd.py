"""``goflex gateway run --config FILE``: the Direct Control gateway program (DESIGN.md 5.2, docs/gateway.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goflex.gateway.config import GatewayConfig


def register(sub: Any) -> None:
    """Add the ``gateway`` command group."""
    gateway = sub.add_parser("gateway", help="the Direct Control gateway program (one house)")
    commands = gateway.add_subparsers(dest="gateway_command", required=True)
    run = commands.add_parser("run", help="run the gateway with a TOML configuration (see docs/gateway.md)")
    run.add_argument("--config", type=Path, required=True, help="the gateway's TOML configuration file")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from goflex.gateway.config import load_config  # noqa: PLC0415 - lazy: every goflex command would pay for it

    config = load_config(args.config)  # ConfigError names the bad key; main prints it
    asyncio.run(_serve(config))
    return 0


async def _serve(config: GatewayConfig) -> None:
    from goflex.gateway.assembly import configured_gateway  # noqa: PLC0415

    async with configured_gateway(config) as gateway:
        task = asyncio.create_task(gateway.run())
        loop = asyncio.get_running_loop()
        stopping: set[asyncio.Task[None]] = set()

        def on_signal() -> None:
            # The first SIGTERM/SIGINT is a planned stop (the outbox gets stop_grace_s to be confirmed); a second
            # one does not wait.
            if stopping:
                task.cancel()
            else:
                stopping.add(loop.create_task(gateway.stop()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        with contextlib.suppress(asyncio.CancelledError):
            await task
