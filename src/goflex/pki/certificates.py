"""X.509 building blocks: EC P-256 keys, the CA certificate, leaf certificates and the CRL.

Profiles (RFC 5280):

* CA: basicConstraints CA:true, pathlen 0 (it signs only leaves), keyUsage keyCertSign + cRLSign, SKI.
* Leaf: basicConstraints CA:false, keyUsage digitalSignature (ECDHE-ECDSA needs nothing else),
  extendedKeyUsage clientAuth (endpoint, service, application) or serverAuth (server), SAN, SKI and AKI.
  Subject ``O=goflex, OU=<kind>, CN=<name>``: the broker uses CN as identity and the embedded broker reads OU.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from goflex.pki.names import CertificateKind

ORGANISATION = "goflex"
DEFAULT_SERVER_SANS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of ``key``, unencrypted (it is protected by file mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of ``cert``."""
    return cert.public_bytes(serialization.Encoding.PEM)


def ca_subject(common_name: str) -> x509.Name:
    """Distinguished name of a goflex CA."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def leaf_subject(name: str, kind: CertificateKind) -> x509.Name:
    """Distinguished name of a leaf: ``O=goflex, OU=<kind>, CN=<name>``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind.value),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def build_ca(
    key: ec.EllipticCurvePrivateKey, subject: x509.Name, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    """Self-signed CA certificate (pathlen 0, keyCertSign + cRLSign)."""
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def client_sans(name: str, kind: CertificateKind) -> list[x509.GeneralName]:
    """SAN of a client certificate: ``URI:urn:goflex:<kind>:<name>`` (name percent-encoded: URIs are ASCII)."""
    return [x509.UniformResourceIdentifier(f"urn:goflex:{kind.value}:{quote(name, safe='-_~')}")]


def server_sans(entries: Iterable[str]) -> list[x509.GeneralName]:
    """SAN of a server certificate: each entry becomes an IP address if it parses as one, else a DNS name."""
    names: list[x509.GeneralName] = []
    for entry in entries:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            names.append(x509.DNSName(entry))
    return names


def build_leaf(
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName],
    usages: Sequence[x509.ObjectIdentifier],
    not_before: datetime,
    not_after: datetime,
    serial: int,
) -> x509.Certificate:
    """A leaf certificate signed by the CA (``usages`` empty leaves extendedKeyUsage out: for tests only)."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def usages_for(kind: CertificateKind) -> list[x509.ObjectIdentifier]:
    """extendedKeyUsage of a kind: clientAuth only for clients, serverAuth only for servers."""
    return [ExtendedKeyUsageOID.SERVER_AUTH if kind is CertificateKind.SERVER else ExtendedKeyUsageOID.CLIENT_AUTH]


def build_crl(
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    revoked: Iterable[tuple[int, datetime]],
    last_update: datetime,
    next_update: datetime,
    number: int,
) -> x509.CertificateRevocationList:
    """A CRL listing ``(serial, revocation time)`` pairs, with a CRL number and AKI."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(last_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())
