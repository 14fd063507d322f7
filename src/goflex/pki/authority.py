"""The private certificate authority of a goflex installation (file I/O only).

Directory layout (``DIR``)::

    ca.crt  ca.key (0600)  crl.pem  index.json  NAME.crt  NAME.key (0600) ...

All identities share one namespace: a name issued as an endpoint can never be issued as a service, application
or server. This matters because Mosquitto's ACL ``pattern`` lines apply to every user (reliability.md), so a
service called like an endpoint would inherit that endpoint's rights.

Keys are written atomically with mode 0600 and are never logged; log lines name the identity and the serial.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from goflex.common import Clock, RealClock
from goflex.pki import certificates as certs
from goflex.pki.errors import AlreadyIssued, PkiError, UnknownIdentity
from goflex.pki.files import PRIVATE_MODE, PUBLIC_MODE, directory_lock, write_atomic, write_new_private
from goflex.pki.index import CertificateIndex, CertificateRecord, read_index, write_index
from goflex.pki.names import CertificateKind, validate_identity

log = logging.getLogger("goflex.pki")

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
CRL_FILE = "crl.pem"
DEFAULT_CA_NAME = "goflex private CA"
CA_DAYS = 3650
DEFAULT_DAYS = 397
"""Default leaf validity [days] (the CA/Browser Forum ceiling for server certificates)."""
CRL_DAYS = 365
"""CRL validity [days]. OpenSSL rejects *every* client once the CRL's nextUpdate has passed, so the CRL is
re-signed on every issue, revoke and ``goflex broker render``; a long validity keeps a forgotten refresh from
locking the whole fleet out. Freshness does not need a short nextUpdate here: the CA pushes its CRL to its own
broker directly."""
_BACKDATE = timedelta(minutes=5)  # tolerate small clock differences between CA host and broker


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate just written to the CA directory.

    Attributes:
        name: Common Name.
        kind: Kind of holder.
        cert_path: ``DIR/NAME.crt``.
        key_path: ``DIR/NAME.key`` (mode 0600).
        serial: Serial number.
        not_after: End of validity (aware UTC).
    """

    name: str
    kind: CertificateKind
    cert_path: Path
    key_path: Path
    serial: int
    not_after: datetime


class CertificateAuthority:
    """A CA directory: issue, renew and revoke certificates and keep the CRL current.

    Use :meth:`init` to create one and :meth:`load` to open an existing one.
    """

    def __init__(
        self, directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, *, clock: Clock
    ) -> None:
        self.directory = directory
        self.certificate = cert
        self._key = key
        self._clock = clock

    # -- opening -------------------------------------------------------------------------------------------------

    @classmethod
    def init(
        cls, directory: Path | str, *, common_name: str = DEFAULT_CA_NAME, clock: Clock | None = None
    ) -> CertificateAuthority:
        """Create a new CA in ``directory`` (created if missing): ca.crt, ca.key (0600), an empty crl.pem.

        Raises:
            PkiError: the directory already holds a CA key.
        """
        clock = clock or RealClock()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        key = certs.new_key()
        now = clock.now()
        cert = certs.build_ca(key, certs.ca_subject(common_name), now - _BACKDATE, now + timedelta(days=CA_DAYS))
        try:
            write_new_private(path / CA_KEY_FILE, certs.key_pem(key))
        except FileExistsError as exc:
            raise PkiError(f"{path} already holds a certificate authority ({CA_KEY_FILE} exists)") from exc
        write_atomic(path / CA_CERT_FILE, certs.cert_pem(cert), mode=PUBLIC_MODE)
        ca = cls(path, cert, key, clock=clock)
        with directory_lock(path):
            ca._write_crl(read_index(path))
        log.info("created certificate authority %r in %s", common_name, path)
        return ca

    @classmethod
    def load(cls, directory: Path | str, *, clock: Clock | None = None) -> CertificateAuthority:
        """Open the CA in ``directory``.

        Raises:
            PkiError: no CA there, or its files cannot be read.
        """
        path = Path(directory)
        try:
            cert = x509.load_pem_x509_certificate((path / CA_CERT_FILE).read_bytes())
            key = serialization.load_pem_private_key((path / CA_KEY_FILE).read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise PkiError(f"{path} holds no certificate authority (run 'goflex pki init --dir {path}')") from exc
        except (ValueError, TypeError) as exc:
            raise PkiError(f"the certificate authority in {path} cannot be read: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{path / CA_KEY_FILE} is not an EC private key")
        return cls(path, cert, key, clock=clock or RealClock())

    # -- paths ---------------------------------------------------------------------------------------------------

    @property
    def ca_cert_path(self) -> Path:
        """``DIR/ca.crt``: what every client and the broker trust."""
        return self.directory / CA_CERT_FILE

    @property
    def crl_path(self) -> Path:
        """``DIR/crl.pem``: the current certificate revocation list."""
        return self.directory / CRL_FILE

    def cert_path(self, name: str) -> Path:
        """``DIR/NAME.crt`` (the name is validated first, so it cannot escape the directory)."""
        return self.directory / f"{validate_identity(name)}.crt"

    def key_path(self, name: str) -> Path:
        """``DIR/NAME.key``."""
        return self.directory / f"{validate_identity(name)}.key"

    # -- issuing -------------------------------------------------------------------------------------------------

    def issue(
        self,
        name: str,
        kind: CertificateKind | str = CertificateKind.ENDPOINT,
        *,
        days: int = DEFAULT_DAYS,
        sans: Sequence[str] = (),
        renew: bool = False,
        valid_from: datetime | None = None,
    ) -> IssuedCertificate:
        """Issue a key and certificate for ``name`` and write ``NAME.crt`` and ``NAME.key``.

        Args:
            name: Identity (cloud.iO name rules, see :func:`validate_identity`).
            kind: endpoint, service, application or server.
            days: Validity [days], at least 1.
            sans: Server only: extra DNS names or IP addresses, added to localhost, 127.0.0.1 and ::1.
            renew: Issue although the name has a valid certificate; the old one stays valid until it expires,
                so a device can switch over without a gap.
            valid_from: Start of validity (aware UTC); default now. Tests use it for expired certificates.

        Returns:
            Where the files are, the serial and the end of validity.

        Raises:
            InvalidIdentity: the name is not acceptable.
            AlreadyIssued: the name has a valid certificate and ``renew`` is false, or it belongs to another kind.
            PkiError: ``days`` < 1, or SANs were given for a client kind.
        """
        kind = CertificateKind(kind)
        validate_identity(name)
        if days < 1:
            raise PkiError(f"validity must be at least 1 day, not {days}")
        if sans and kind.is_client:
            raise PkiError("--san applies to server certificates only")
        start = valid_from or self._clock.now() - _BACKDATE
        with directory_lock(self.directory):
            index = read_index(self.directory)
            self._check_may_issue(index, name, kind, renew=renew)
            cert, key = self._build(name, kind, start=start, days=days, sans=sans)
            issued = self._store(index, name, kind, cert, key)
        log.info("issued %s certificate for %r, serial %x, valid until %s", kind, name, issued.serial, issued.not_after)
        return issued

    def issue_many(
        self, names: Sequence[str], kind: CertificateKind | str = CertificateKind.ENDPOINT, *, days: int = DEFAULT_DAYS
    ) -> list[IssuedCertificate]:
        """Issue certificates for many new client names at once (provisioning a fleet).

        One lock and one index write for the whole set: issuing one by one rewrites ``index.json`` each time,
        which is quadratic (11,687 gateways took minutes). Every name is checked before anything is written.

        Raises:
            InvalidIdentity: a name is not acceptable.
            AlreadyIssued: a name is given twice or was issued before (use :meth:`issue` to renew).
            PkiError: ``days`` < 1, or ``kind`` is not a client kind.
        """
        kind = CertificateKind(kind)
        if not kind.is_client:
            raise PkiError("issue_many is for client certificates; issue server certificates one by one")
        if days < 1:
            raise PkiError(f"validity must be at least 1 day, not {days}")
        for name in names:
            validate_identity(name)
        if len(set(names)) != len(names):
            raise AlreadyIssued(next(n for n in names if names.count(n) > 1), "is given twice")
        start = self._clock.now() - _BACKDATE
        with directory_lock(self.directory):
            index = read_index(self.directory)
            taken = {r.name for r in index.records}
            clash = next((n for n in names if n in taken), None)
            if clash is not None:
                raise AlreadyIssued(clash, "was issued before (use 'goflex pki issue --renew' for a successor)")
            issued: list[IssuedCertificate] = []
            records: list[CertificateRecord] = []
            for name in names:
                cert, key = self._build(name, kind, start=start, days=days, sans=())
                issued.append(self._write_pair(name, kind, cert, key))
                records.append(_record(name, kind, cert))
            write_index(self.directory, CertificateIndex((*index.records, *records)))
        log.info("issued %d %s certificates", len(issued), kind)
        return issued

    def _build(
        self, name: str, kind: CertificateKind, *, start: datetime, days: int, sans: Sequence[str]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = certs.new_key()
        san = (
            certs.client_sans(name, kind) if kind.is_client else certs.server_sans((*certs.DEFAULT_SERVER_SANS, *sans))
        )
        cert = certs.build_leaf(
            ca_cert=self.certificate,
            ca_key=self._key,
            public_key=key.public_key(),
            subject=certs.leaf_subject(name, kind),
            sans=san,
            usages=certs.usages_for(kind),
            not_before=start,
            not_after=start + timedelta(days=days),
            serial=x509.random_serial_number(),
        )
        return cert, key

    def _check_may_issue(self, index: CertificateIndex, name: str, kind: CertificateKind, *, renew: bool) -> None:
        taken_by = index.kind_of(name)
        if taken_by is not None and taken_by is not kind:
            raise AlreadyIssued(name, f"is already used by a {taken_by} (one namespace for all kinds)")
        now = self._clock.now()
        if not renew and any(r.is_valid_at(now) for r in index.for_name(name)):
            raise AlreadyIssued(name, "already has a valid certificate (use --renew to issue a successor)")

    def _store(
        self,
        index: CertificateIndex,
        name: str,
        kind: CertificateKind,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
    ) -> IssuedCertificate:
        issued = self._write_pair(name, kind, cert, key)
        write_index(self.directory, index.add(_record(name, kind, cert)))
        return issued

    def _write_pair(
        self, name: str, kind: CertificateKind, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
    ) -> IssuedCertificate:
        # Key first: a crash between the writes leaves a key without its certificate, never the reverse.
        write_atomic(self.key_path(name), certs.key_pem(key), mode=PRIVATE_MODE)
        write_atomic(self.cert_path(name), certs.cert_pem(cert), mode=PUBLIC_MODE)
        return IssuedCertificate(
            name=name,
            kind=kind,
            cert_path=self.cert_path(name),
            key_path=self.key_path(name),
            serial=cert.serial_number,
            not_after=cert.not_valid_after_utc,
        )

    # -- revocation ----------------------------------------------------------------------------------------------

    def revoke(self, name: str) -> int:
        """Revoke every unrevoked certificate of ``name`` (old and renewed) and rewrite the CRL.

        Returns:
            The serial of the name's newest certificate.

        Raises:
            UnknownIdentity: nothing was ever issued for ``name``.
        """
        with directory_lock(self.directory):
            index = read_index(self.directory)
            records = index.for_name(name)
            if not records:
                raise UnknownIdentity(name)
            index = index.revoke(name, self._clock.now())
            write_index(self.directory, index)
            self._write_crl(index)
        log.info("revoked %r (newest serial %x)", name, records[-1].serial)
        return records[-1].serial

    def is_revoked(self, name: str) -> bool:
        """True if the newest certificate of ``name`` is revoked.

        Raises:
            UnknownIdentity: nothing was ever issued for ``name``.
        """
        records = read_index(self.directory).for_name(name)
        if not records:
            raise UnknownIdentity(name)
        return records[-1].revoked_at is not None

    def kind_of(self, name: str) -> CertificateKind | None:
        """The kind ``name`` was issued as, or None."""
        return read_index(self.directory).kind_of(name)

    def records(self) -> tuple[CertificateRecord, ...]:
        """Every certificate ever issued, oldest first."""
        return read_index(self.directory).records

    def refresh_crl(self) -> Path:
        """Re-sign the CRL with a fresh nextUpdate (``goflex broker render`` calls this); returns its path."""
        with directory_lock(self.directory):
            self._write_crl(read_index(self.directory))
        return self.crl_path

    def _write_crl(self, index: CertificateIndex) -> None:
        number = 1
        if self.crl_path.exists():
            try:
                old = x509.load_pem_x509_crl(self.crl_path.read_bytes())
                number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
            except (ValueError, x509.ExtensionNotFound):
                number = 1
        now = self._clock.now()
        crl = certs.build_crl(
            ca_cert=self.certificate,
            ca_key=self._key,
            revoked=[(r.serial, r.revoked_at) for r in index.revoked() if r.revoked_at is not None],
            last_update=now - _BACKDATE,
            next_update=now + timedelta(days=CRL_DAYS),
            number=number,
        )
        write_atomic(self.crl_path, crl.public_bytes(serialization.Encoding.PEM), mode=PUBLIC_MODE)

    # -- provisioning ------------------------------------------------------------------------------------------

    def bundle(self, name: str) -> bytes:
        """A zip archive to provision a device: ``ca.crt``, ``NAME.crt`` and ``NAME.key``.

        The archive contains the private key: hand it over on a trusted channel and delete it afterwards.

        Raises:
            UnknownIdentity: no certificate files for ``name``.
        """
        cert_path, key_path = self.cert_path(name), self.key_path(name)
        if not cert_path.exists() or not key_path.exists():
            raise UnknownIdentity(name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(CA_CERT_FILE, self.ca_cert_path.read_bytes())
            archive.writestr(cert_path.name, cert_path.read_bytes())
            info = zipfile.ZipInfo(key_path.name)
            info.external_attr = (PRIVATE_MODE | 0o100000) << 16  # regular file, mode 0600 when extracted
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, key_path.read_bytes())
        return buffer.getvalue()


def _record(name: str, kind: CertificateKind, cert: x509.Certificate) -> CertificateRecord:
    return CertificateRecord(
        name=name,
        kind=kind,
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
