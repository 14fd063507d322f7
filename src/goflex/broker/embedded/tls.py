"""TLS for the embedded broker: the server context and the client identity (Mosquitto's mTLS settings).

Equivalent Mosquitto 2 listener options: ``require_certificate true``, ``cafile``, ``certfile``, ``keyfile``,
``crlfile``, ``tls_version tlsv1.2`` (minimum), ``use_identity_as_username true``.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Final

from cryptography import x509

from goflex.broker.embedded.auth import Principal
from goflex.common import ConfigError

# Characters that would widen an ACL pattern if substituted for %u (reliability.md S7); goflex.pki never issues
# such names, the broker refuses them anyway in case a certificate comes from elsewhere.
_FORBIDDEN_IN_NAME: Final = frozenset("/+#\x00")

PeerCert = dict[str, object]


def server_ssl_context(
    ca_file: Path | str, cert_file: Path | str, key_file: Path | str, crl_file: Path | str | None = None
) -> ssl.SSLContext:
    """A server-side TLS context that requires a client certificate signed by ``ca_file``.

    Args:
        ca_file: PEM CA certificate that client certificates must chain to.
        cert_file: PEM server certificate.
        key_file: PEM private key of the server certificate (never logged).
        crl_file: PEM certificate revocation list; when given, client certificates are checked against it
            (``VERIFY_CRL_CHECK_LEAF``).

    Returns:
        The context: TLS 1.2 or newer, ``CERT_REQUIRED``.

    Raises:
        ConfigError: a file is missing or unreadable, or the key does not fit the certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
        context.load_verify_locations(cafile=str(ca_file))
        if crl_file is not None:
            context.load_verify_locations(cafile=str(crl_file))
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("pki", f"cannot load the broker's TLS files: {exc}") from exc
    return context


def principal_from_peercert(cert: PeerCert | None) -> Principal | None:
    """The client's identity from a verified peer certificate (``SSLObject.getpeercert()``).

    Returns:
        ``Principal(CN, OU)``, or None if there is no certificate, not exactly one CN, or a CN that is empty or
        contains ``/ + #`` or U+0000.
    """
    if not cert:
        return None
    subject = cert.get("subject", ())
    names: list[str] = []
    units: list[str] = []
    if isinstance(subject, tuple):
        for rdn in subject:
            for attribute in rdn:
                if attribute[0] == "commonName":
                    names.append(str(attribute[1]))
                elif attribute[0] == "organizationalUnitName":
                    units.append(str(attribute[1]))
    if len(names) != 1 or not names[0] or _FORBIDDEN_IN_NAME.intersection(names[0]):
        return None
    return Principal(names[0], units[0] if len(units) == 1 else "")


def revoked_serials(crl_file: Path | str) -> frozenset[int]:
    """Serial numbers listed in a PEM CRL.

    Raises:
        ConfigError: the file is missing or not a PEM CRL.
    """
    try:
        crl = x509.load_pem_x509_crl(Path(crl_file).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError("crl", f"cannot read the CRL {crl_file}: {exc}") from exc
    return frozenset(entry.serial_number for entry in crl)


def peer_serial(cert: PeerCert | None) -> int | None:
    """The serial number of a verified peer certificate (``getpeercert()`` gives it in hexadecimal)."""
    text = cert.get("serialNumber") if cert else None
    return int(text, 16) if isinstance(text, str) else None
