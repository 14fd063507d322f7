"""The platform process: ingest and the HTTP API in one event loop, sharing one database (DESIGN.md 1).

Start-up order matters for a utility that restarts services in any order (reliability.md P2): migrate the
database (idempotent, locked), make sure the first administrator exists, connect ingest (it retries until the
broker answers), then serve the API. Several platform processes may run side by side: ingest shares its load
through the MQTT 5 shared subscription, and storage is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from goflex.api import create_app
from goflex.api.publisher import MqttSetPublisher
from goflex.cloudio.topics import TopicForm
from goflex.cloudio.transport import TransportSettings
from goflex.common import Clock, ConfigError, GoflexSettings, RealClock
from goflex.ingest import IngestService
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.runtime.tasks import bounded
from goflex.store import Database, RightsRepository, open_database
from goflex.store.errors import Conflict

log = logging.getLogger(__name__)

INGEST_IDENTITY = "ingest"
API_IDENTITY = "api"


class PlatformSettings(GoflexSettings):
    """Settings of ``goflex serve`` (environment ``GOFLEX_...``, TOML table ``[serve]``)."""

    api_host: str = "127.0.0.1"
    check_hostname: bool = True


def ensure_service_identities(pki_dir: Path) -> None:
    """Issue the ``ingest`` and ``api`` service certificates if the CA has none yet (first start)."""
    ca = CertificateAuthority.load(pki_dir)
    for name in (INGEST_IDENTITY, API_IDENTITY):
        if not (pki_dir / f"{name}.crt").is_file():
            ca.issue(name, CertificateKind.SERVICE)
            log.info("issued service certificate %s", name)


def ensure_admin(db: Database, password_file: Path, password: str | None) -> None:
    """Create user ``admin`` on first start; a generated password goes to ``password_file`` (0600), not to logs."""
    rights = RightsRepository(db)
    if rights.get_user("admin") is not None:
        return
    if password is None:
        password = secrets.token_urlsafe(18)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        fd = password_file.open("w", encoding="utf-8")
        with fd:
            password_file.chmod(0o600)
            fd.write(password + "\n")
        log.info("created user 'admin'; its password is in %s", password_file)
    with contextlib.suppress(Conflict):  # another platform process created it first
        rights.create_user("admin", password, admin=True)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a larger program: the program, not uvicorn, owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Platform:
    """Ingest + API sharing a database. Use :meth:`run` (until cancelled) or start/stop around a block."""

    db_url: str
    broker_url: str
    pki_dir: Path
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    clock: Clock | None = None
    admin_password: str | None = None
    check_hostname: bool = True
    serve_api: bool = True
    stop_stage_s: float = 30.0  # each stop stage (API, publisher, ingest) is cut after this, naming what hung

    def __post_init__(self) -> None:
        self._clock: Clock = self.clock or RealClock()
        self.db: Database | None = None
        self.ingest: IngestService | None = None
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._publisher: MqttSetPublisher | None = None

    @property
    def api_url(self) -> str:
        port = self.bound_port or self.api_port
        return f"http://{self.api_host}:{port}/api/v1"

    @property
    def bound_port(self) -> int | None:
        """The API's actual port (useful with ``api_port=0``)."""
        if self._server is None or not self._server.servers:
            return None
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1]) if sockets else None

    async def start(self) -> None:
        """Migrate, connect ingest, serve the API; returns once the API listens."""
        pki = Path(self.pki_dir)
        if not (pki / "ca.crt").is_file():
            raise ConfigError("pki_dir", f"{pki} holds no CA (run 'goflex pki init --dir {pki}')")
        await asyncio.to_thread(ensure_service_identities, pki)
        self.db = await asyncio.to_thread(open_database, self.db_url)
        await asyncio.to_thread(self.db.migrate)
        await asyncio.to_thread(ensure_admin, self.db, pki.parent / "admin-password.txt", self.admin_password)
        self.ingest = IngestService(
            db=self.db,
            broker=self.broker_url,
            ca_file=pki / "ca.crt",
            cert_file=pki / f"{INGEST_IDENTITY}.crt",
            key_file=pki / f"{INGEST_IDENTITY}.key",
            clock=self._clock,
            tls_hostname_check=self.check_hostname,
        )
        await self.ingest.start()
        transport = TransportSettings.from_files(
            self.broker_url,
            ca_file=pki / "ca.crt",
            cert_file=pki / f"{API_IDENTITY}.crt",
            key_file=pki / f"{API_IDENTITY}.key",
            check_hostname=self.check_hostname,
        )
        self._publisher = MqttSetPublisher(transport, identity=API_IDENTITY, form=TopicForm.LONG)  # the pilot's form
        ingest = self.ingest
        app = create_app(
            db=self.db,
            publisher=self._publisher,
            clock=self._clock,
            health_sources={"ingest": lambda: ingest.health().status.value == "ok"},
            metrics_sources=[ingest.metrics.registry],
        )
        if not self.serve_api:
            return
        # a request still running at shutdown gets stop_stage_s / 3 to finish, then its connection is closed
        config = uvicorn.Config(
            app,
            host=self.api_host,
            port=self.api_port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=max(1, int(self.stop_stage_s / 3)),
        )
        self._server = _EmbeddedServer(config)
        self._tasks.append(asyncio.create_task(self._server.serve(), name="api"))
        while not self._server.started:
            if self._tasks[-1].done():
                self._tasks[-1].result()  # raises the bind error
            await asyncio.sleep(0.02)
        log.info("API on %s", self.api_url)

    async def stop(self) -> None:
        """Stop the API, then ingest (which flushes what it holds), then close the database.

        Each stage is bounded by ``stop_stage_s`` (:func:`goflex.runtime.tasks.bounded`): a stage that hangs is cut
        and the pending tasks are logged, so the process still exits.
        """
        if self._server is not None:
            self._server.should_exit = True
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await bounded(f"platform: the {task.get_name()} task", task, self.stop_stage_s)
        self._tasks.clear()
        if self._publisher is not None:
            await bounded("platform: closing the @set publisher", self._publisher.close(), self.stop_stage_s)
        if self.ingest is not None:
            await bounded("platform: stopping ingest", self.ingest.stop(), self.stop_stage_s)
        if self.db is not None:
            self.db.close()

    async def run(self) -> None:
        """Start, then wait until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()
