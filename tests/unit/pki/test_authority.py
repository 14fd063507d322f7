"""The private CA: profiles of what it issues, name rules, renewal, revocation, file modes."""

from __future__ import annotations

import io
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from goflex.cli.main import main
from goflex.pki import (
    AlreadyIssued,
    CertificateAuthority,
    CertificateKind,
    InvalidIdentity,
    PkiError,
    UnknownIdentity,
)
from goflex.pki.testing import fake_root, issue_expired, issue_without_client_auth


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "pki")


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_ca_with_ca_profile_and_private_key_0600(ca: CertificateAuthority) -> None:
    cert = _cert(ca.ca_cert_path)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert bc.ca
    assert bc.path_length == 0
    assert ku.key_cert_sign
    assert ku.crl_sign
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert _mode(ca.directory / "ca.key") == 0o600
    crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert crl.is_signature_valid(cert.public_key())
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > datetime.now(UTC) + timedelta(days=30)


def test_init_refuses_to_overwrite_an_existing_ca(ca: CertificateAuthority) -> None:
    with pytest.raises(PkiError, match="already holds"):
        CertificateAuthority.init(ca.directory)


def test_endpoint_certificate_profile(ca: CertificateAuthority) -> None:
    issued = ca.issue("goflex-dc-004", CertificateKind.ENDPOINT)
    cert = _cert(issued.cert_path)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "goflex-dc-004"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "endpoint"
    assert cert.issuer == ca.certificate.subject
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:goflex:endpoint:goflex-dc-004"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca.certificate)
    assert _mode(issued.key_path) == 0o600
    assert issued.serial == cert.serial_number


def test_server_certificate_has_server_auth_and_default_and_extra_sans(ca: CertificateAuthority) -> None:
    issued = ca.issue("broker", CertificateKind.SERVER, sans=["mqtt.example.org", "10.0.0.7"])
    cert = _cert(issued.cert_path)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "mqtt.example.org"}
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1", "10.0.0.7"}


@pytest.mark.parametrize(
    "name", ["", "#", "+", "a/b", "a.b", "a*", "dc 1", "tab\there", "nul\x00", "zw\u200bsp", "x" * 65, "x" * 300, "ca"]
)
def test_invalid_names_are_refused_and_nothing_is_written(ca: CertificateAuthority, name: str) -> None:
    before = set(ca.directory.iterdir())
    with pytest.raises(InvalidIdentity):
        ca.issue(name)
    assert set(ca.directory.iterdir()) == before


def test_a_64_character_name_is_accepted(ca: CertificateAuthority) -> None:
    ca.issue("x" * 64)


def test_a_valid_certificate_is_not_issued_twice_unless_renewed(ca: CertificateAuthority) -> None:
    first = ca.issue("ep-1")
    with pytest.raises(AlreadyIssued, match="renew"):
        ca.issue("ep-1")
    second = ca.issue("ep-1", renew=True)
    assert second.serial != first.serial
    # No gap: the old certificate stays out of the CRL and valid until it expires.
    crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(first.serial) is None
    assert not ca.is_revoked("ep-1")


def test_one_namespace_for_all_kinds(ca: CertificateAuthority) -> None:
    ca.issue("ingest", CertificateKind.SERVICE)
    with pytest.raises(AlreadyIssued, match="service"):
        ca.issue("ingest", CertificateKind.ENDPOINT, renew=True)


def test_revocation_lists_every_certificate_of_the_name_in_the_crl(ca: CertificateAuthority) -> None:
    old = ca.issue("ep-2")
    new = ca.issue("ep-2", renew=True)
    other = ca.issue("ep-3")
    assert ca.revoke("ep-2") == new.serial
    crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert crl.is_signature_valid(ca.certificate.public_key())
    assert crl.get_revoked_certificate_by_serial_number(old.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(new.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(other.serial) is None
    assert ca.is_revoked("ep-2")
    assert not ca.is_revoked("ep-3")
    # A revoked name may be issued again (a deliberate re-provisioning).
    ca.issue("ep-2")


def test_unknown_names(ca: CertificateAuthority) -> None:
    with pytest.raises(UnknownIdentity):
        ca.revoke("nobody")
    with pytest.raises(UnknownIdentity):
        ca.bundle("nobody")


def test_load_reopens_the_same_ca(ca: CertificateAuthority) -> None:
    ca.issue("ep-4")
    again = CertificateAuthority.load(ca.directory)
    assert again.certificate == ca.certificate
    with pytest.raises(AlreadyIssued):
        again.issue("ep-4")


def test_load_of_an_empty_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="pki init"):
        CertificateAuthority.load(tmp_path)


def test_bundle_holds_ca_cert_and_key(ca: CertificateAuthority) -> None:
    issued = ca.issue("ep-5")
    with zipfile.ZipFile(io.BytesIO(ca.bundle("ep-5"))) as archive:
        assert sorted(archive.namelist()) == ["ca.crt", "ep-5.crt", "ep-5.key"]
        assert archive.read("ep-5.key") == issued.key_path.read_bytes()
        assert (archive.getinfo("ep-5.key").external_attr >> 16) & 0o777 == 0o600


def test_forgeries_for_tests(ca: CertificateAuthority, tmp_path: Path) -> None:
    fake = fake_root(tmp_path / "fake", ca)
    assert fake.certificate.subject == ca.certificate.subject
    assert fake.certificate.public_key() != ca.certificate.public_key()
    expired = _cert(issue_expired(ca, "old").cert_path)
    assert expired.not_valid_after_utc < datetime.now(UTC)
    no_client = _cert(issue_without_client_auth(ca, "noclient").cert_path)
    eku = no_client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH not in list(eku)


def test_cli_init_issue_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "pki")
    assert main(["pki", "init", "--dir", d]) == 0
    assert main(["pki", "issue", "ep-6", "--dir", d, "--kind", "endpoint", "--days", "30"]) == 0
    assert main(["pki", "revoke", "ep-6", "--dir", d]) == 0
    err = capsys.readouterr().err
    assert "PRIVATE KEY" not in err
    assert CertificateAuthority.load(d).is_revoked("ep-6")


@pytest.mark.parametrize("name", ["#", "+", "a/b", "", "x" * 300])
def test_cli_refuses_bad_names_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    d = str(tmp_path / "pki")
    assert main(["pki", "init", "--dir", d]) == 0
    assert main(["pki", "issue", name, "--dir", d]) != 0
    assert "invalid identity" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "pki").glob("*.key")] == ["ca.key"]


def test_issue_many_writes_every_pair_and_one_index(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    names = [f"goflex-dc-{i:03d}" for i in range(1, 51)]
    issued = ca.issue_many(names)
    assert [c.name for c in issued] == names
    assert all(c.cert_path.is_file() and (c.key_path.stat().st_mode & 0o777) == 0o600 for c in issued)
    with pytest.raises(AlreadyIssued, match="goflex-dc-007"):
        ca.issue_many(["goflex-dc-100", "goflex-dc-007"])
    assert not (tmp_path / "ca" / "goflex-dc-100.crt").exists()  # checked before anything was written
    with pytest.raises(InvalidIdentity):
        ca.issue_many(["ok-name", "bad#name"])
