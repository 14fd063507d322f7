"""The ``goflex`` command's contract (DESIGN.md 5.2): the commands it offers and how it refuses bad input.

Refusals exit with status 2 and one ``goflex: error: ...`` (or argparse) line on stderr naming what was wrong,
print nothing on stdout (where ``--json`` documents go) and leave no files behind. Two tests go through the
installed ``goflex`` entry point, the rest call :func:`goflex.cli.main.main` in-process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from goflex.broker.render import parse_conf
from goflex.cli.main import main

# DESIGN.md 5.2, the commands that exist so far (issue 2).
COMMANDS = (
    "demo",
    "twin",
    "gateway",
    "meter",
    "flex",
    "foa",
    "fman",
    "market",
    "doms",
    "pki",
    "broker",
    "serve",
    "history",
    "bench",
)
GOFLEX = Path(sys.executable).parent / "goflex"


def goflex(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point (the program a user types)."""
    assert GOFLEX.is_file(), f"no 'goflex' entry point next to {sys.executable}"
    return subprocess.run([str(GOFLEX), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_help_lists_every_command() -> None:
    done = goflex("--help")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^ {4}(\w+) ", done.stdout, flags=re.MULTILINE)
    assert tuple(listed) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: goflex {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        ("goflex-dc-001/only", "expected endpoint/node/object/.../attribute"),
        ("goflex-dc-001", "expected endpoint/node/object/.../attribute"),
        ("a#b/gateway/relay1State/datapoint", "contains '#'"),
        ("goflex-dc-001/gateway/relay+1/datapoint", "'+'"),
    ],
)
def test_history_query_refuses_a_bad_path(
    path: str, complaint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "goflex.db"
    assert main(["history", "query", path, "--db", f"sqlite:///{database}", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no JSON document that a script could mistake for "no values"
    error = captured.err.strip().splitlines()[-1]
    assert error.startswith("goflex: error: ")
    assert "ENDPOINT/ATTRIBUTE" in error
    assert complaint in error
    assert not database.exists()  # refused before touching the database


def test_history_query_insists_on_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["history", "query", "goflex-dc-001/gateway/relay1State/datapoint", "--db", "sqlite://"])
    assert exit_.value.code == 2
    assert "--json" in capsys.readouterr().err


def test_pki_issue_refuses_a_name_with_a_wildcard(tmp_path: Path) -> None:
    assert goflex("pki", "init", "--dir", "pki", cwd=tmp_path).returncode == 0
    done = goflex("pki", "issue", "a#b", "--dir", "pki", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "goflex: error: invalid identity 'a#b'" in done.stderr
    assert "#" in done.stderr.splitlines()[-1]
    assert sorted(p.name for p in (tmp_path / "pki").iterdir() if p.suffix in (".crt", ".key")) == [
        "ca.crt",
        "ca.key",
    ]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--houses", "0"], "--houses"),
        (["--houses", "1000"], "--houses"),
        (["--speed", "0"], "--speed"),
        (["--hours", "-1"], "--hours"),
    ],
)
def test_demo_refuses_bad_options_before_starting(
    args: list[str], option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", *args, "--dir", str(tmp_path / "demo")])
    assert exit_.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_broker_render_writes_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mosquitto resolves relative paths against its own working directory: the walkthrough's relative
    ``--pki pki --out broker`` must still give a configuration that starts from anywhere."""
    monkeypatch.chdir(tmp_path)
    assert main(["pki", "init", "--dir", "pki"]) == 0
    assert main(["broker", "render", "--pki", "pki", "--out", "broker", "--port", "18883"]) == 0
    conf = parse_conf((tmp_path / "broker" / "mosquitto.conf").read_text())
    keys = ("acl_file", "persistence_location", "cafile", "certfile", "keyfile", "crlfile")
    for key in keys:
        (value,) = conf[key]
        assert Path(value).is_absolute(), f"{key} {value}"
        assert Path(value).resolve().is_relative_to(tmp_path.resolve() / "broker")
