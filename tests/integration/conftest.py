"""Integration fixtures: a real Mosquitto per test session (see tests/integration/mosquitto.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import mosquitto_binary
from tests.integration.mosquitto import MosquittoBroker, default_grants


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A running Mosquitto 2 with the rendered production configuration, a fresh CA and a free port.

    Pre-issued identities: services ``ingest`` (ingest grants) and ``api`` (writes ``@set/+/#``), endpoints
    ``ep-a`` and ``ep-b``. Issue more with ``mosquitto.issue(name)``.
    """
    binary = mosquitto_binary()
    broker = MosquittoBroker(binary=binary, root=Path(tmp_path_factory.mktemp("mosquitto")), grants=default_grants())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
