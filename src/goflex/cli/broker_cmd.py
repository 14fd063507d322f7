"""``goflex broker render|revoke|run``: the MQTT broker (DESIGN.md 5.2).

``render`` writes a locked-down Mosquitto 2 configuration; ``revoke`` revokes an identity and closes its open
session on a running Mosquitto; ``run --embedded`` starts the in-process broker (implemented in
``goflex.broker.embedded``, imported lazily so that ``render`` works without it). Other modules may add further
``broker`` sub-commands through :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goflex.broker.acl import api_grants, ingest_grants
from goflex.broker.render import load_grants, read_rendered, render_mosquitto
from goflex.broker.revocation import revoke_and_disconnect


def _add_render(commands: Any) -> None:
    render = commands.add_parser("render", help="write mosquitto.conf + acl (+ TLS files) for a goflex CA")
    render.add_argument("--pki", required=True, help="CA directory (goflex pki init)")
    render.add_argument("--out", required=True, help="output directory")
    render.add_argument("--port", type=int, default=8883, help="TLS port (default 8883)")
    render.add_argument("--bind", default="", help="listen address (default: all interfaces)")
    render.add_argument("--db", default=None, help="access-rights database URL: grants for applications")
    render.add_argument("--san", action="append", default=[], help="extra DNS name / IP for the server certificate")
    render.add_argument("--run-as-current-user", action="store_true", help="keep the current user instead of mosquitto")
    render.set_defaults(handler=_render)


def _add_revoke(commands: Any) -> None:
    revoke = commands.add_parser("revoke", help="revoke NAME, reload the broker's CRL, close NAME's open session")
    revoke.add_argument("name", metavar="NAME")
    revoke.add_argument("--pki", required=True, help="CA directory")
    revoke.add_argument("--out", required=True, help="the broker's rendered configuration directory")
    revoke.add_argument("--pid", type=int, default=None, help="process id of the running mosquitto")
    revoke.add_argument("--host", default="localhost", help="broker host name (as in its certificate)")
    revoke.set_defaults(handler=_revoke)


def _add_run(commands: Any) -> None:
    run = commands.add_parser("run", help="run the embedded broker (--embedded)")
    run.add_argument("--embedded", action="store_true", required=True, help="the in-process Python broker")
    run.add_argument("--pki", default=None, help="CA directory")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8883)
    run.add_argument("--db", default=None, help="access-rights database URL")
    run.set_defaults(handler=_run)


SUBCOMMANDS: list[Callable[[Any], None]] = [_add_render, _add_revoke, _add_run]
"""Functions adding a ``broker`` sub-command; append to extend (or replace ``_add_run``'s options)."""


def register(sub: Any) -> None:
    """Add the ``broker`` command group to the top-level sub-parsers."""
    broker = sub.add_parser("broker", help="MQTT broker: render a Mosquitto configuration, revoke, run embedded")
    commands = broker.add_subparsers(dest="broker_command", metavar="BROKER_COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(commands)


def _render(args: argparse.Namespace) -> int:
    grants = [*ingest_grants(), *api_grants()]
    if args.db:
        grants += load_grants(args.db)
    # Absolute paths in mosquitto.conf: Mosquitto resolves relative ones against its working directory, so a
    # configuration rendered with '--out broker' would break when started from anywhere else.
    config = render_mosquitto(
        Path(args.pki).resolve(),
        Path(args.out).resolve(),
        port=args.port,
        grants=grants,
        bind_address=args.bind,
        server_sans=args.san,
        run_as_current_user=args.run_as_current_user,
    )
    print(
        f"rendered {config.conf_path} (TLS on port {config.port}); start: mosquitto -c {config.conf_path}",
        file=sys.stderr,
    )
    if config.dynsec_path is None:
        print("warning: no dynamic-security plugin found: revocation cannot close open sessions", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    config = read_rendered(Path(args.out))
    serial = revoke_and_disconnect(args.pki, config, args.name, pid=args.pid, host=args.host)
    action = "open session closed" if args.pid else "no --pid given: reload the broker and close the session"
    print(f"revoked {args.name!r} (serial {serial:x}); {action}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    embedded = importlib.import_module("goflex.broker.embedded")
    code: int = embedded.run_from_args(args)
    return code
