"""Forged and broken credentials, FOR SECURITY TESTS ONLY (reliability.md S4, S5).

Nothing in goflex calls these functions; they exist so that tests can check that the broker refuses what an
attacker or a broken device would present. Each writes ``NAME.crt`` / ``NAME.key`` into the given CA directory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from goflex.pki import certificates as certs
from goflex.pki.authority import CertificateAuthority, IssuedCertificate
from goflex.pki.files import directory_lock
from goflex.pki.index import read_index
from goflex.pki.names import CertificateKind


def foreign_authority(directory: Path) -> CertificateAuthority:
    """A separate CA that the broker does not trust."""
    return CertificateAuthority.init(directory, common_name="some other CA")


def fake_root(directory: Path, genuine: CertificateAuthority) -> CertificateAuthority:
    """A self-signed CA with exactly the same subject DN as ``genuine`` but another key."""
    common_name = genuine.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    fake = CertificateAuthority.init(directory, common_name=str(common_name))
    assert fake.certificate.subject == genuine.certificate.subject
    return fake


def issue_expired(ca: CertificateAuthority, name: str) -> IssuedCertificate:
    """An endpoint certificate that expired yesterday."""
    return ca.issue(name, CertificateKind.ENDPOINT, days=1, valid_from=datetime.now(UTC) - timedelta(days=2))


def issue_not_yet_valid(ca: CertificateAuthority, name: str) -> IssuedCertificate:
    """An endpoint certificate that becomes valid tomorrow."""
    return ca.issue(name, CertificateKind.ENDPOINT, days=30, valid_from=datetime.now(UTC) + timedelta(days=1))


def issue_without_client_auth(ca: CertificateAuthority, name: str) -> IssuedCertificate:
    """An endpoint certificate whose extendedKeyUsage lists emailProtection instead of clientAuth."""
    key = certs.new_key()
    now = datetime.now(UTC)
    cert = certs.build_leaf(
        ca_cert=ca.certificate,
        ca_key=ca._key,
        public_key=key.public_key(),
        subject=certs.leaf_subject(name, CertificateKind.ENDPOINT),
        sans=certs.client_sans(name, CertificateKind.ENDPOINT),
        usages=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30),
        serial=x509.random_serial_number(),
    )
    with directory_lock(ca.directory):
        return ca._store(read_index(ca.directory), name, CertificateKind.ENDPOINT, cert, key)
