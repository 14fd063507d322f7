"""``goflex broker ...`` (being written)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``broker`` command group."""
    broker = sub.add_parser("broker", help="MQTT broker: render a Mosquitto configuration, run the embedded broker")
    broker.add_subparsers(dest="broker_command", metavar="BROKER_COMMAND", required=True)
