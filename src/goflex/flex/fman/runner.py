"""Running FMAN as a process (``goflex fman serve``) and creating its principals (``goflex fman agent add``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import uvicorn
from argon2 import PasswordHasher

from goflex.common.clock import Clock, RealClock
from goflex.flex.fman.app import create_app
from goflex.flex.fman.credentials import new_token
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.repository import AgentRecord, FmanStore, migrate
from goflex.flex.fman.settings import FmanSettings
from goflex.store.database import open_database

OPERATOR = "operator"

log = logging.getLogger(__name__)


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)


def add_principal(
    store: FmanStore,
    hasher: PasswordHasher,
    principal_id: str,
    *,
    role: str,
    now: datetime,
    callback_url: str | None = None,
    prosumers: tuple[str, ...] = (),
) -> str:
    """Create an agent (role ``agent``) or the operator; returns its token (shown once, stored hashed).

    Raises:
        goflex.store.errors.Conflict: the id is taken.
    """
    token = new_token(principal_id)
    record = AgentRecord(principal_id, role, hasher.hash(token), callback_url, prosumers)
    with store.write() as tx:
        tx.add_agent(record, now)
    return token


def ensure_operator(store: FmanStore, hasher: PasswordHasher, token_file: Path, now: datetime) -> bool:
    """At first start (no operator yet) create ``operator`` and write its token to ``token_file`` (0600, not logged).

    Returns:
        Whether an operator was created.
    """
    with store.read() as tx:
        if tx.has_role(OPERATOR):
            return False
    token = add_principal(store, hasher, OPERATOR, role=OPERATOR, now=now)
    write_secret(token_file, token)
    log.info("created the FMAN operator; its token is in %s", token_file)
    return True


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a program that owns SIGINT/SIGTERM itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class FmanProcess:
    """``goflex fman serve``: migrate, make sure an operator exists, serve the API with the loops running."""

    db_url: str
    market_url: str | None
    market_token: str | None
    settings: FmanSettings
    operator_token_file: Path
    host: str = "127.0.0.1"
    port: int = 8471
    clock: Clock | None = None

    def __post_init__(self) -> None:
        self._server: uvicorn.Server | None = None

    def stop(self) -> None:
        """Ask the server to finish (the loops stop and pushes drain in its shutdown)."""
        if self._server is not None:
            self._server.should_exit = True

    async def run(self) -> None:
        """Serve until :meth:`stop`."""
        clock = self.clock or RealClock()
        db = await asyncio.to_thread(open_database, self.db_url)
        try:
            await asyncio.to_thread(migrate, db)
            store = FmanStore(db)
            hasher = PasswordHasher()
            await asyncio.to_thread(ensure_operator, store, hasher, self.operator_token_file, clock.now())
            market = None
            if self.market_url and self.market_token:
                market = MarketClient(self.market_url, self.market_token)
            app = create_app(store, clock, self.settings, market=market, hasher=hasher, background=True)
            config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="on")
            server = self._server = _EmbeddedServer(config)
            log.info("FMAN on http://%s:%d/api/v1 (market %s)", self.host, self.port, self.market_url or "none")
            try:
                await server.serve()
            finally:
                if market is not None:
                    await market.close()
        finally:
            db.close()
