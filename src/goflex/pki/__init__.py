"""The installation's private certificate authority: issue, renew, revoke, CRL, device bundles (file I/O only).

Public API::

    ca = CertificateAuthority.init("pki")            # or CertificateAuthority.load("pki")
    ca.issue("goflex-dc-004", CertificateKind.ENDPOINT)
    ca.revoke("goflex-dc-004"); ca.crl_path

Forged credentials for security tests live in :mod:`goflex.pki.testing`.
"""

from goflex.pki.authority import CertificateAuthority, IssuedCertificate
from goflex.pki.errors import AlreadyIssued, InvalidIdentity, PkiError, UnknownIdentity
from goflex.pki.index import CertificateRecord
from goflex.pki.names import MAX_NAME_LENGTH, CertificateKind, validate_identity

__all__ = [
    "MAX_NAME_LENGTH",
    "AlreadyIssued",
    "CertificateAuthority",
    "CertificateKind",
    "CertificateRecord",
    "InvalidIdentity",
    "IssuedCertificate",
    "PkiError",
    "UnknownIdentity",
    "validate_identity",
]
