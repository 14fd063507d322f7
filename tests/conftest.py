"""Test-wide fixtures: which real services exist, and fresh PostgreSQL databases.

Tests that need Mosquitto or PostgreSQL skip with a reason naming the missing service on a newcomer's laptop,
and fail instead when ``GOFLEX_REQUIRE_SERVICES=1`` (set by ``.ci/run``), so that CI can never go green by
skipping.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest

REQUIRE_SERVICES = os.environ.get("GOFLEX_REQUIRE_SERVICES", "") not in ("", "0")
PG_ADMIN_URL = os.environ.get("GOFLEX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

# The Mosquitto fixtures live in a plugin module so that tests/integration and tests/fault share them.
pytest_plugins = ["tests.fixtures_mosquitto"]


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """Undo what a test's ``goflex`` command did to the root logger.

    ``goflex.cli.main.main()`` installs a handler on the stream that is ``sys.stderr`` at that moment: pytest's
    capture of that test, closed afterwards. Left in place, every later log line would fail with "I/O
    operation on closed file" on stderr.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def service_missing(service: str, why: str) -> None:
    """Skip (laptop) or fail (CI) because ``service`` is not available."""
    message = f"{service} is not available: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (GOFLEX_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def mosquitto_binary() -> str:
    """Path of the mosquitto binary, or skip/fail."""
    path = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None
    )
    if path is None:
        service_missing("Mosquitto", "no 'mosquitto' binary on PATH or in /usr/sbin")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Admin URL of a reachable PostgreSQL server, or skip/fail."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        service_missing("PostgreSQL", f"cannot connect to {PG_ADMIN_URL}: {exc}".strip())
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = f"goflex_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
