"""Revoke an identity and close its open MQTT session on a running Mosquitto (reliability.md S6).

A CRL reload (SIGHUP) makes Mosquitto refuse *new* handshakes, but an open TLS session stays up and keeps
publishing (reliability.md; confirmed again on 2.0.11 while writing this module). Three ways to close it were
tried against Mosquitto 2.0.11 with ``use_identity_as_username``:

(a) SIGHUP with a changed ACL file: the reload re-applies ACLs but never closes a connection. Rejected.
(b) The dynamic-security plugin's ``createClient`` + ``disableClient`` for the revoked username: the broker logs
    "Client ... been disconnected by administrative action" and the session closes within ~0.3 s, although the
    client authenticated by certificate, not by password. Clients unknown to the plugin are deferred to the ACL
    file, so loading it changes nobody's rights. **Chosen.**
(c) A graceful restart after the CRL update: closes the session, but also every other one. With the whole ESR
    territory (~11,700 gateways) each revocation would cost a reconnect storm of ~11,700 TLS handshakes and a
    window in which queued messages depend on persistence. Kept as the manual fallback when the plugin is absent.
(Also works but rejected: taking the client id over with a freshly minted certificate for the revoked name; that
mints a credential for an identity we are revoking.)

Cost of (b) at scale: one plugin hash lookup per ACL check (the plugin defers unknown usernames), one admin
connection per revocation, O(1) work in the broker per kick; no other client notices. The admin identity
(:data:`goflex.broker.render.ADMIN_NAME`) may only use ``$CONTROL/dynamic-security/#``; its key sits next to the
server key. The plugin's record of the revoked name is deleted right after the kick, so a later re-provisioning
of the same name is governed by the ACL file again.

Flow: :func:`revoke_and_disconnect` = revoke in the PKI -> rewrite the CRL -> copy it to the broker ->
SIGHUP (new connections refused) -> dynamic-security kick (open session closed) -> confirm.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from goflex.broker.render import ADMIN_NAME, RenderedConfig, install_crl
from goflex.common import GoflexError
from goflex.pki import CertificateAuthority

log = logging.getLogger("goflex.broker.revocation")

DYNSEC_REQUEST = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE = "$CONTROL/dynamic-security/v1/response"


class RevocationError(GoflexError):
    """The certificate was revoked but the open session could not be closed; the message says what to do."""


def revoke_and_disconnect(
    pki_dir: Path | str,
    config: RenderedConfig,
    name: str,
    *,
    pid: int | None,
    host: str = "localhost",
    timeout_s: float = 10.0,
) -> int:
    """Revoke ``name``, make the running broker refuse it, and close its open session.

    Args:
        pki_dir: CA directory.
        config: The broker's rendered configuration (where its CRL copy and admin credentials are).
        name: Identity to revoke.
        pid: Process id of the running Mosquitto, signalled with SIGHUP to reload the CRL; None if no broker runs.
        host: Broker host name as in its certificate's SAN.
        timeout_s: How long to wait for the broker's answer [s].

    Returns:
        The serial of the revoked newest certificate.

    Raises:
        UnknownIdentity: nothing was issued for ``name``.
        RevocationError: the broker did not confirm the disconnect (the CRL is updated regardless).
    """
    ca = CertificateAuthority.load(pki_dir)
    serial = ca.revoke(name)
    install_crl(ca, config)
    if pid is None:
        return serial
    os.kill(pid, signal.SIGHUP)  # reload the CRL: new handshakes with the revoked certificate fail
    disconnect_client(config, name, host=host, timeout_s=timeout_s)
    return serial


def disconnect_client(
    config: RenderedConfig, username: str, *, host: str = "localhost", timeout_s: float = 10.0
) -> None:
    """Close every open session of ``username`` through the dynamic-security plugin (see module docstring).

    Raises:
        RevocationError: the plugin is not loaded, or the broker did not answer within ``timeout_s`` [s].
    """
    if config.dynsec_path is None:
        raise RevocationError(
            "the broker runs without the dynamic-security plugin: restart it gracefully to close the revoked session"
        )
    commands = [
        {"command": "createClient", "username": username},  # the plugin can only disable clients it knows
        {"command": "disableClient", "username": username},  # kicks the open session
        {"command": "deleteClient", "username": username},  # leave the name to the ACL file again
    ]
    responses = _dynsec_request(config, commands, host=host, timeout_s=timeout_s)
    failed = [r for r in responses if r.get("error") and r.get("command") != "createClient"]
    if failed:
        raise RevocationError(f"the broker refused to disconnect {username!r}: {failed}")
    log.info("disconnected revoked client %r", username)


def _dynsec_request(
    config: RenderedConfig, commands: list[dict[str, str]], *, host: str, timeout_s: float
) -> list[dict[str, str]]:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(config.ca_path))
    context.load_cert_chain(config.admin_cert_path, config.admin_key_path)
    answered = threading.Event()
    subscribed = threading.Event()
    result: list[dict[str, str]] = []

    def on_connect(client: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if not rc.is_failure:
            client.subscribe(DYNSEC_RESPONSE, qos=1)

    def on_subscribe(_c: mqtt.Client, _u: object, _m: int, _rc: object, _p: object) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            result.extend(json.loads(message.payload)["responses"])
        except (ValueError, KeyError, TypeError):
            result.append({"error": "unreadable response"})
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=ADMIN_NAME, protocol=mqtt.MQTTv5)
    client.tls_set_context(context)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(host, config.port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        raise RevocationError(f"cannot reach the broker at {host}:{config.port}: {exc}") from exc
    client.loop_start()
    try:
        if not subscribed.wait(timeout_s):
            raise RevocationError(f"the broker at {host}:{config.port} did not accept the admin connection")
        client.publish(DYNSEC_REQUEST, json.dumps({"commands": commands}), qos=1)
        if not answered.wait(timeout_s):
            raise RevocationError(f"no answer from the dynamic-security plugin within {timeout_s} s")
    finally:
        client.disconnect()
        client.loop_stop()
    return result
