"""Mosquitto fixtures shared by tests/integration and tests/fault (registered in tests/conftest.py).

* ``mosquitto`` (session): one running Mosquitto 2 with the rendered production configuration, for tests that
  leave it running.
* ``private_mosquitto`` (function): a broker of the test's own, for tests that restart or kill it, so that a
  fault injected in one test never reaches another.

The broker itself (fresh CA, rendered TLS config, free port, restart/kill9) is tests/integration/mosquitto.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import mosquitto_binary
from tests.integration.mosquitto import MosquittoBroker, default_grants


def _running_broker(factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(binary=mosquitto_binary(), root=factory.mktemp("mosquitto"), grants=default_grants())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A running Mosquitto 2 with the rendered production configuration, a fresh CA and a free port.

    Pre-issued identities: services ``ingest`` (ingest grants) and ``api`` (writes ``@set/+/#``), endpoints
    ``ep-a`` and ``ep-b``. Issue more with ``mosquitto.issue(name)``. Do not restart or kill it: use
    ``private_mosquitto`` for that.
    """
    yield from _running_broker(tmp_path_factory)


@pytest.fixture
def private_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """Like ``mosquitto``, but started for this test alone (restart it, ``kill9()`` it, start it again)."""
    yield from _running_broker(tmp_path_factory)
