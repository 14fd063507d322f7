"""The rendered Mosquitto configuration (S8): TLS only, certificates required, no anonymous access, ACL."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import goflex.store
from goflex.broker.acl import EndpointPermission, Grant, grants_for_application, ingest_grants
from goflex.broker.render import load_grants, parse_conf, read_rendered, render_mosquitto
from goflex.cli.main import main
from goflex.common import ConfigError
from goflex.pki import CertificateAuthority, CertificateKind


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca = CertificateAuthority.init(tmp_path / "pki")
    ca.issue("ep-1")
    ca.issue("ingest", CertificateKind.SERVICE)
    return ca.directory


def test_rendered_config_is_tls_only_with_identity_and_no_anonymous_access(pki: Path, tmp_path: Path) -> None:
    config = render_mosquitto(pki, tmp_path / "out", port=18883, grants=ingest_grants(), run_as_current_user=True)
    conf = parse_conf(config.conf_path.read_text())
    assert conf["listener"] == ["18883"]  # exactly one listener
    assert "port" not in conf  # the legacy default listener would be plaintext
    assert conf["allow_anonymous"] == ["false"]
    assert conf["require_certificate"] == ["true"]
    assert conf["use_identity_as_username"] == ["true"]
    assert conf["use_username_as_clientid"] == ["true"]
    assert conf["tls_version"] == ["tlsv1.2"]
    assert conf["persistence"] == ["true"]
    assert conf["autosave_interval"] == ["1"]
    assert int(conf["max_queued_messages"][0]) >= 100_000
    for option in ("cafile", "certfile", "keyfile", "crlfile", "acl_file"):
        assert Path(conf[option][0]).is_file(), option
    assert stat.S_IMODE(config.key_path.stat().st_mode) == 0o600
    assert "password_file" not in conf
    assert read_rendered(tmp_path / "out") == config


def test_render_issues_the_server_certificate_once(pki: Path, tmp_path: Path) -> None:
    render_mosquitto(pki, tmp_path / "a", grants=[], run_as_current_user=True)
    first = (tmp_path / "a" / "server.crt").read_bytes()
    render_mosquitto(pki, tmp_path / "b", grants=[], run_as_current_user=True)
    assert (tmp_path / "b" / "server.crt").read_bytes() == first
    assert CertificateAuthority.load(pki).kind_of("broker") is CertificateKind.SERVER


def test_acl_confines_endpoints_by_pattern_and_lists_grants_per_user(pki: Path, tmp_path: Path) -> None:
    grants = [*ingest_grants(), *grants_for_application("dash", "ep-1", 4)]
    config = render_mosquitto(pki, tmp_path / "out", grants=grants, run_as_current_user=True)
    lines = [line for line in config.acl_path.read_text().splitlines() if line and not line.startswith("#")]
    patterns = [line for line in lines if line.startswith("pattern")]
    assert "pattern write @update/%u/#" in patterns
    assert "pattern read @set/%u/#" in patterns
    assert all("%u" in line for line in patterns)  # a pattern without %u would be a grant to everyone
    assert not any(line.startswith("topic") for line in lines[: lines.index("user dash")])  # no anonymous topics
    assert "topic read @update/+/#" in lines[lines.index("user ingest") :]
    assert "topic write @ack/+" in lines[lines.index("user ingest") :]
    assert "topic write @set/ep-1/#" in lines[lines.index("user dash") : lines.index("user ingest")]


@pytest.mark.parametrize(
    "grant",
    [
        Grant("ep-1", "#", read=True, write=True),  # an endpoint never gets grants
        Grant("broker", "#", read=True, write=False),  # nor the server
        Grant("a/b", "x", read=True, write=False),
        Grant("app", "x\ntopic readwrite #", read=True, write=False),  # ACL line injection
        Grant("app", "a/#/b", read=True, write=False),
    ],
)
def test_bad_grants_are_refused(pki: Path, tmp_path: Path, grant: Grant) -> None:
    with pytest.raises(ConfigError):
        render_mosquitto(pki, tmp_path / "out", grants=[grant], run_as_current_user=True)


def test_render_refuses_a_port_out_of_range(pki: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="port"):
        render_mosquitto(pki, tmp_path / "out", port=70000, grants=[])


def test_load_grants_turns_application_rights_into_topic_grants(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rights.db'}"
    db = goflex.store.open_database(url)
    db.migrate()
    goflex.store.ProcessRepository(db).create_endpoint("ep-1", owner=None)
    rights = goflex.store.RightsRepository(db)
    rights.create_application("dash", "application")
    rights.grant("ep-1", "dash", goflex.store.EndpointPermission.WRITE)
    db.close()
    assert sorted(load_grants(url), key=str) == sorted(
        grants_for_application("dash", "ep-1", EndpointPermission.WRITE), key=str
    )


def test_cli_render(pki: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(["broker", "render", "--pki", str(pki), "--out", str(out), "--port", "8884", "--run-as-current-user"]) == 0
    )
    assert parse_conf((out / "mosquitto.conf").read_text())["listener"] == ["8884"]
