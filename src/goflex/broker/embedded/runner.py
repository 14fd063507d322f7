"""``goflex broker run --embedded``: the embedded broker on a PKI directory, with the platform's ACL policy."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
from pathlib import Path

from goflex.broker.acl import AccessPolicy, PrincipalKind, api_grants, grants_for_application, ingest_grants
from goflex.broker.acl import Principal as AclPrincipal
from goflex.broker.embedded.auth import Authorizer, PrincipalLike
from goflex.broker.embedded.server import EmbeddedBroker
from goflex.broker.embedded.tls import server_ssl_context
from goflex.common import ConfigError, GoflexSettings, load_settings, setup_logging

log = logging.getLogger("goflex.broker.embedded")

DEFAULT_PORT = 8883
_DECISION_CACHE_SIZE = 200_000
DEFAULT_SERVER_NAME = "broker"
"""Name of the broker's server certificate in the PKI directory (docs/production.md: ``goflex pki issue broker``)."""


class AccessPolicyAuthorizer:
    """Adapts :class:`goflex.broker.acl.AccessPolicy` (which takes its own ``Principal``) to :class:`Authorizer`.

    A principal whose kind is not a known :class:`PrincipalKind` gets nothing (deny by default). Publish and
    receive decisions are cached (at most :data:`_DECISION_CACHE_SIZE`), so the policy must not change while
    the broker runs; build a new broker (or authorizer) when rights change.
    """

    def __init__(self, policy: AccessPolicy) -> None:
        self._policy = policy
        self._principals: dict[tuple[str, str], AclPrincipal | None] = {}
        self._decisions: dict[tuple[str, str, str, str], bool] = {}

    def _principal(self, principal: PrincipalLike) -> AclPrincipal | None:
        key = (principal.name, principal.kind)
        if key not in self._principals:
            try:
                self._principals[key] = AclPrincipal(principal.name, PrincipalKind(principal.kind))
            except ValueError:
                self._principals[key] = None
        return self._principals[key]

    def _decide(self, action: str, principal: PrincipalLike, topic: str) -> bool:
        # The policy is fixed for the broker's lifetime, so decisions are cached: topics repeat (every reading of
        # an attribute goes to the same topic) and the policy's pattern walk is the costliest step per message.
        key = (action, principal.name, principal.kind, topic)
        decision = self._decisions.get(key)
        if decision is None:
            acl_principal = self._principal(principal)
            check = getattr(self._policy, action)
            decision = acl_principal is not None and bool(check(acl_principal, topic))
            if len(self._decisions) >= _DECISION_CACHE_SIZE:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def may_publish(self, principal: PrincipalLike, topic: str) -> bool:
        return self._decide("may_publish", principal, topic)

    def may_subscribe(self, principal: PrincipalLike, topic_filter: str) -> bool:
        acl_principal = self._principal(principal)
        return acl_principal is not None and self._policy.may_subscribe(acl_principal, topic_filter)

    def may_receive(self, principal: PrincipalLike, topic: str) -> bool:
        return self._decide("may_receive", principal, topic)


def platform_authorizer(db_url: str | None = None) -> Authorizer:
    """Endpoints confined to their own topics; the ``ingest`` and ``api`` services with their grants.

    Args:
        db_url: Access-rights database; when given, applications also get what it grants them (the same
            grants ``goflex broker render`` writes into Mosquitto's ACL). Read once, at start.
    """
    grants = [*ingest_grants(), *api_grants()]
    if db_url:
        from goflex.store import open_database  # noqa: PLC0415 - only the --db case needs the store
        from goflex.store.rights import RightsRepository  # noqa: PLC0415

        database = open_database(db_url)
        try:
            for grant in RightsRepository(database).topic_grants():
                grants += grants_for_application(grant.principal, grant.endpoint, int(grant.level))
        finally:
            database.close()
    return AccessPolicyAuthorizer(AccessPolicy(grants))


def ssl_context_from_pki(pki_dir: Path | str, server_name: str = DEFAULT_SERVER_NAME) -> ssl.SSLContext:
    """The broker's TLS context from a goflex PKI directory (``ca.crt``, ``crl.pem``, ``NAME.crt``/``NAME.key``).

    Raises:
        ConfigError: the CA or the server certificate is missing or unreadable.
    """
    directory = Path(pki_dir)
    cert, key = directory / f"{server_name}.crt", directory / f"{server_name}.key"
    if not (directory / "ca.crt").is_file():
        raise ConfigError("pki", f"{directory} holds no CA certificate (run 'goflex pki init --dir {directory}')")
    if not cert.is_file() or not key.is_file():
        hint = f"goflex pki issue {server_name} --dir {directory} --kind server"
        raise ConfigError("pki", f"no server certificate {cert} (run '{hint}')")
    crl = directory / "crl.pem"
    return server_ssl_context(directory / "ca.crt", cert, key, crl if crl.is_file() else None)


async def serve(broker: EmbeddedBroker) -> None:
    """Run ``broker`` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with broker:
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_from_args(args: argparse.Namespace) -> int:
    """Start the embedded broker from parsed arguments and run until SIGINT/SIGTERM.

    Args:
        args: ``pki`` (directory; default the ``pki_dir`` setting), ``port`` (default 8883, 0 picks a free
            one), ``host`` (default 127.0.0.1), optionally ``db`` (access-rights database URL), ``server_name``
            (certificate name, default ``broker``) and ``log_level``.

    Returns:
        Exit code 0.

    Raises:
        ConfigError: the PKI directory lacks the CA or the server certificate.
    """
    setup_logging(getattr(args, "log_level", None) or "INFO")
    port = getattr(args, "port", None)
    pki = getattr(args, "pki", None) or load_settings(GoflexSettings).pki_dir
    broker = EmbeddedBroker(
        host=getattr(args, "host", None) or "127.0.0.1",
        port=DEFAULT_PORT if port is None else int(port),
        ssl_context=ssl_context_from_pki(pki, getattr(args, "server_name", None) or DEFAULT_SERVER_NAME),
        authorizer=platform_authorizer(getattr(args, "db", None)),
    )
    asyncio.run(serve(broker))
    return 0
