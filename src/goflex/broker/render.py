"""Render a complete, locked-down Mosquitto 2 configuration for a goflex CA (``goflex broker render``).

What it writes to ``out_dir``::

    mosquitto.conf   one TLS listener, certificates required, identity = username = client id, no anonymous
    acl              pattern lines confining every endpoint to its own topics + one user block per service/app
    ca.crt crl.pem server.crt server.key(0600)   copies: the broker never needs the CA directory (or ca.key)
    data/            persistence (queued QoS 1 messages survive a graceful restart; autosave every second)

Facts this relies on (reliability.md, checked on Mosquitto 2.0.11): ``pattern`` lines apply to *every* user, so
services must never share a name with an endpoint (the PKI keeps one namespace); a broker started as root drops to
the ``mosquitto`` user before reading these files, so they are chowned to it (or ``user`` names the current user);
the default queue of 1,000 messages per client silently drops data during an ingest outage, so the limits are
raised; a CRL reload only refuses new connections (see :mod:`goflex.broker.revocation`).
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import pwd
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from goflex.broker.acl import ENDPOINT_PUBLISH, ENDPOINT_SUBSCRIBE, Grant, grants_for_application, is_valid_filter
from goflex.common import ConfigError
from goflex.pki import CertificateAuthority, CertificateKind, InvalidIdentity, validate_identity
from goflex.pki.files import PRIVATE_MODE, PUBLIC_MODE, write_atomic

SERVER_NAME = "broker"
"""Identity of the broker's own certificate, issued by render if missing (docs/production.md)."""
ADMIN_NAME = "broker-admin"
"""Service identity that may send dynamic-security commands (it disconnects revoked clients)."""
DYNSEC_PLUGIN_GLOBS = (
    "/usr/lib/*/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto/mosquitto_dynamic_security.so",
)
DYNSEC_TOPIC = "$CONTROL/dynamic-security/#"
BROKER_USER = "mosquitto"

# Queue limits per client, sized for an ingest outage of minutes rather than seconds (reliability.md: the default
# 1,000 messages dropped 2,000 of 3,000 while the publisher got PUBACKs). The gateways' durable outboxes remain the
# real buffer; these bound the broker's memory: 1e6 messages or 1 GiB per client, whichever comes first.
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 1 << 30
MAX_INFLIGHT_MESSAGES = 1000  # per client; ingest keeps up only with a deep pipeline
MAX_PACKET_SIZE = 4 << 20  # [bytes]; a @delayed backlog of 10,000 updates fits, a 10 MB payload does not
PERSISTENT_CLIENT_EXPIRATION = "30d"  # abandoned sessions (decommissioned devices) stop holding queues


@dataclass(frozen=True)
class RenderedConfig:
    """Paths and settings of a rendered configuration.

    Attributes:
        conf_path: ``mosquitto.conf``; start with ``mosquitto -c conf_path``.
        acl_path: The ACL file.
        ca_path: CA certificate the broker trusts.
        crl_path: The broker's copy of the CRL (refresh with :func:`install_crl`).
        cert_path: Server certificate.
        key_path: Server private key (0600).
        persistence_dir: Where Mosquitto saves its database.
        port: TLS port.
        bind_address: Listening address ("" = all interfaces).
        admin_cert_path: Certificate of :data:`ADMIN_NAME` (for :mod:`goflex.broker.revocation`).
        admin_key_path: Its key (0600).
        dynsec_path: The dynamic-security plugin's state file, or None if the plugin is not loaded.
    """

    conf_path: Path
    acl_path: Path
    ca_path: Path
    crl_path: Path
    cert_path: Path
    key_path: Path
    persistence_dir: Path
    port: int
    bind_address: str
    admin_cert_path: Path
    admin_key_path: Path
    dynsec_path: Path | None


def render_mosquitto(
    pki_dir: Path | str,
    out_dir: Path | str,
    *,
    port: int = 8883,
    grants: Iterable[Grant],
    persistence_dir: Path | str | None = None,
    run_as_current_user: bool = False,
    bind_address: str = "",
    server_sans: Sequence[str] = (),
    log_types: Sequence[str] = ("error", "warning", "notice", "information"),
    dynsec_plugin: Path | str | None = "auto",
) -> RenderedConfig:
    """Write ``mosquitto.conf``, ``acl`` and the TLS files for the CA in ``pki_dir`` into ``out_dir``.

    Args:
        pki_dir: CA directory (``goflex pki init``). The ``broker`` server certificate is issued if missing.
        out_dir: Output directory (created).
        port: TLS listener port, 1-65535.
        grants: Rights of services and applications (e.g. :func:`goflex.broker.acl.ingest_grants`).
        persistence_dir: Mosquitto's database directory; default ``out_dir/data``.
        run_as_current_user: Write ``user <current user>`` so that a root-started broker keeps the current
            user (tests); otherwise a root-run render hands the files to the ``mosquitto`` user.
        bind_address: Address to listen on; "" for all interfaces.
        server_sans: Extra DNS names / IPs for a newly issued server certificate.
        log_types: Mosquitto ``log_type`` values.
        dynsec_plugin: Path of ``mosquitto_dynamic_security.so`` (loaded only so that a revoked client's open
            session can be closed, see :mod:`goflex.broker.revocation`); "auto" searches the usual places;
            None leaves it out (revocation then cannot close open sessions).

    Returns:
        Where everything was written.

    Raises:
        ConfigError: invalid port or grant (bad name or filter, or a grant to an endpoint or server identity), or
            ``dynsec_plugin`` names a missing file.
        PkiError: the CA cannot be opened or the server certificate cannot be issued.
    """
    if not 0 < port < 65536:
        raise ConfigError("port", f"{port} is not a TCP port")
    ca = CertificateAuthority.load(pki_dir)
    grants = list(grants)
    _check_grants(ca, grants)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(persistence_dir) if persistence_dir is not None else out / "data"
    data.mkdir(parents=True, exist_ok=True)
    plugin = _find_plugin(dynsec_plugin)
    if not any(r.name == SERVER_NAME and r.revoked_at is None for r in ca.records()):
        ca.issue(SERVER_NAME, CertificateKind.SERVER, sans=server_sans)
    if not any(r.name == ADMIN_NAME and r.revoked_at is None for r in ca.records()):
        ca.issue(ADMIN_NAME, CertificateKind.SERVICE)
    ca.refresh_crl()

    config = RenderedConfig(
        conf_path=out / "mosquitto.conf",
        acl_path=out / "acl",
        ca_path=out / "ca.crt",
        crl_path=out / "crl.pem",
        cert_path=out / "server.crt",
        key_path=out / "server.key",
        persistence_dir=data,
        port=port,
        bind_address=bind_address,
        admin_cert_path=out / f"{ADMIN_NAME}.crt",
        admin_key_path=out / f"{ADMIN_NAME}.key",
        dynsec_path=data / "dynamic-security.json" if plugin else None,
    )
    write_atomic(config.admin_cert_path, ca.cert_path(ADMIN_NAME).read_bytes(), mode=PUBLIC_MODE)
    write_atomic(config.admin_key_path, ca.key_path(ADMIN_NAME).read_bytes(), mode=PRIVATE_MODE)
    if config.dynsec_path is not None:
        write_atomic(config.dynsec_path, _dynsec_state().encode(), mode=PRIVATE_MODE)
    write_atomic(config.ca_path, ca.ca_cert_path.read_bytes(), mode=PUBLIC_MODE)
    write_atomic(config.cert_path, ca.cert_path(SERVER_NAME).read_bytes(), mode=PUBLIC_MODE)
    write_atomic(config.key_path, ca.key_path(SERVER_NAME).read_bytes(), mode=PRIVATE_MODE)
    install_crl(ca, config)
    write_atomic(config.acl_path, render_acl(grants).encode(), mode=PUBLIC_MODE)
    user = pwd.getpwuid(os.getuid()).pw_name if run_as_current_user else BROKER_USER
    write_atomic(config.conf_path, _conf_text(config, user, log_types, plugin).encode(), mode=PUBLIC_MODE)
    if os.getuid() == 0 and not run_as_current_user:
        _hand_over(config, user)
    return config


def read_rendered(out_dir: Path | str) -> RenderedConfig:
    """The :class:`RenderedConfig` of a directory written by :func:`render_mosquitto` (parses its mosquitto.conf).

    Raises:
        ConfigError: no rendered configuration there.
    """
    out = Path(out_dir)
    try:
        settings = parse_conf((out / "mosquitto.conf").read_text(encoding="utf-8"))
        listener = settings["listener"][0].split()
        return RenderedConfig(
            conf_path=out / "mosquitto.conf",
            acl_path=Path(settings["acl_file"][0]),
            ca_path=Path(settings["cafile"][0]),
            crl_path=Path(settings["crlfile"][0]),
            cert_path=Path(settings["certfile"][0]),
            key_path=Path(settings["keyfile"][0]),
            persistence_dir=Path(settings["persistence_location"][0]),
            port=int(listener[0]),
            bind_address=listener[1] if len(listener) > 1 else "",
            admin_cert_path=out / f"{ADMIN_NAME}.crt",
            admin_key_path=out / f"{ADMIN_NAME}.key",
            dynsec_path=Path(settings["plugin_opt_config_file"][0]) if "plugin_opt_config_file" in settings else None,
        )
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise ConfigError("out", f"{out} holds no configuration rendered by 'goflex broker render': {exc}") from exc


def parse_conf(text: str) -> dict[str, list[str]]:
    """Mosquitto config text -> ``{option: [value, ...]}`` in file order (comments and blank lines dropped)."""
    options: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        options.setdefault(key, []).append(value.strip())
    return options


def load_grants(db_url: str) -> list[Grant]:
    """Grants of every enabled application from the access-rights database at ``db_url``.

    Each effective endpoint permission (``RightsRepository.topic_grants()``) becomes topic grants through
    :func:`goflex.broker.acl.grants_for_application` (READ reads the data topics, WRITE also writes ``@set``).
    ``goflex.store`` is imported here, not at module level, so that the broker part stays light without it.

    Raises:
        ConfigError: the store does not provide the rights repository, or the database cannot be read.
    """
    store = importlib.import_module("goflex.store")
    if not hasattr(store, "RightsRepository") or not hasattr(store, "open_database"):
        raise ConfigError("db", "the access-rights store is not wired into 'goflex broker render' (goflex.store)")
    try:
        database = store.open_database(db_url)
        try:
            rows = store.RightsRepository(database).topic_grants()
        finally:
            database.close()
    except store.StoreError as exc:
        raise ConfigError("db", f"cannot read the access rights at {db_url}: {exc}") from exc
    grants: list[Grant] = []
    for row in rows:
        grants += grants_for_application(str(row.principal), str(row.endpoint), int(row.level))
    return grants


def install_crl(ca: CertificateAuthority, config: RenderedConfig) -> None:
    """Copy the CA's current CRL over the broker's copy (atomically: the broker never reads half a file)."""
    write_atomic(config.crl_path, ca.crl_path.read_bytes(), mode=PUBLIC_MODE)


def render_acl(grants: Iterable[Grant]) -> str:
    """The Mosquitto ACL file text: endpoint ``pattern`` lines, then one ``user`` block per grantee."""
    lines = [
        "# Rendered by 'goflex broker render'. Do not edit: re-render and send SIGHUP.",
        "# Endpoints: own cloud.iO topics only (%u = certificate CN). Pattern lines apply to every user; the PKI",
        "# keeps endpoint, service and application names in one namespace so that this gives nobody else anything.",
    ]
    lines += [f"pattern write {_to_mosquitto(t)}" for t in ENDPOINT_PUBLISH]
    lines += [f"pattern read {_to_mosquitto(t)}" for t in ENDPOINT_SUBSCRIBE]
    by_user: dict[str, list[str]] = {}
    for grant in grants:
        access = {(True, True): "readwrite", (True, False): "read", (False, True): "write"}.get(
            (grant.read, grant.write)
        )
        if access is not None:
            by_user.setdefault(grant.principal, []).append(f"topic {access} {grant.pattern}")
    for user in sorted(by_user):
        lines += ["", f"user {user}", *by_user[user]]
    return "\n".join(lines) + "\n"


def _to_mosquitto(template: str) -> str:
    return template.replace("{name}", "%u")


def _check_grants(ca: CertificateAuthority, grants: Iterable[Grant]) -> None:
    for grant in grants:
        try:
            validate_identity(grant.principal)
        except InvalidIdentity as exc:
            raise ConfigError("grants", str(exc)) from exc
        # A newline or control character would inject lines into the ACL file.
        if not is_valid_filter(grant.pattern) or any(ord(c) < 32 or c.isspace() for c in grant.pattern):
            raise ConfigError("grants", f"{grant.pattern!r} (for {grant.principal!r}) is not a valid topic filter")
        if grant.principal in (SERVER_NAME, ADMIN_NAME):
            raise ConfigError("grants", f"{grant.principal!r} is the broker's own identity and gets no grants")
        kind = ca.kind_of(grant.principal)
        if kind in (CertificateKind.ENDPOINT, CertificateKind.SERVER):
            raise ConfigError("grants", f"{grant.principal!r} is a {kind}: only services and applications get grants")


def _find_plugin(setting: Path | str | None) -> Path | None:
    if setting is None:
        return None
    if setting != "auto":
        if not Path(setting).is_file():
            raise ConfigError("dynsec_plugin", f"{setting} does not exist")
        return Path(setting)
    found = sorted(p for pattern in DYNSEC_PLUGIN_GLOBS for p in glob.glob(pattern))
    return Path(found[0]) if found else None


def _dynsec_state() -> str:
    """Initial dynamic-security state: only the admin, only on $CONTROL/dynamic-security.

    Clients unknown to the plugin (every endpoint and service) are deferred to the ACL file, so the plugin changes
    nobody's rights; it is there for ``disableClient``, which kicks a connected username (checked on 2.0.11).
    """
    acls = [
        {"acltype": acltype, "topic": DYNSEC_TOPIC, "priority": 0, "allow": True}
        for acltype in ("publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern")
    ]
    doc = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [{"username": ADMIN_NAME, "textname": "goflex revocation", "roles": [{"rolename": "goflex-admin"}]}],
        "groups": [],
        "roles": [{"rolename": "goflex-admin", "acls": acls}],
    }
    return json.dumps(doc, indent=1) + "\n"


def _conf_text(config: RenderedConfig, user: str, log_types: Sequence[str], plugin: Path | None) -> str:
    listener = f"listener {config.port} {config.bind_address}".rstrip()
    lines = [
        "# Rendered by 'goflex broker render'. Do not edit: re-render and send SIGHUP.",
        "# Mosquitto 2: TLS only, client certificate required, certificate CN = username = client id.",
        f"user {user}",
        "per_listener_settings false",
        "allow_anonymous false",
        f"acl_file {config.acl_path}",
        "",
        "# Persistence: queued QoS 1 messages survive a graceful restart; autosave narrows a kill -9 to ~1 s.",
        "persistence true",
        f"persistence_location {config.persistence_dir}/",
        "autosave_interval 1",
        "autosave_on_changes false",
        f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}",
        "",
        "# Queues sized for an ingest outage (the default of 1,000 messages per client silently drops data).",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "max_keepalive 300",
        "set_tcp_nodelay true",
        "",
        "log_dest stderr",
        *(f"log_type {t}" for t in log_types),
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "",
        "# The only listener. No plaintext listener, not even on loopback.",
        listener,
        "protocol mqtt",
        f"cafile {config.ca_path}",
        f"certfile {config.cert_path}",
        f"keyfile {config.key_path}",
        f"crlfile {config.crl_path}",
        "tls_version tlsv1.2",
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
    ]
    if plugin is not None and config.dynsec_path is not None:
        lines += [
            "",
            "# Dynamic security: only so that goflex can disconnect a revoked client (goflex.broker.revocation);",
            "# clients it does not know are left to acl_file.",
            f"plugin {plugin}",
            f"plugin_opt_config_file {config.dynsec_path}",
        ]
    return "\n".join(lines) + "\n"


def _hand_over(config: RenderedConfig, user: str) -> None:
    """Root render for a broker that drops to ``user``: it must be able to read its key and write its data."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError as exc:
        raise ConfigError("user", f"the broker user {user!r} does not exist (or use run_as_current_user)") from exc
    shutil.chown(config.key_path, entry.pw_uid, entry.pw_gid)
    os.chmod(config.key_path, PRIVATE_MODE)
    shutil.chown(config.persistence_dir, entry.pw_uid, entry.pw_gid)
    if config.dynsec_path is not None:
        shutil.chown(config.dynsec_path, entry.pw_uid, entry.pw_gid)
