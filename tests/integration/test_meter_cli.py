"""``goflex meter decode`` end to end through ``goflex.cli.main.main`` (exit codes, stdout, stderr)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from goflex.cli import main as cli_main

VECTORS = Path(__file__).resolve().parents[1] / "data" / "cii-vectors"
NAMES = ("e450-no-clock", "e450-vse-2026", "e360-p1", "e450-encrypted")


@pytest.fixture(autouse=True)
def _meter_command_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lead registers meter_cmd in main.COMMAND_MODULES; until then the test adds it.
    if "meter_cmd" not in cli_main.COMMAND_MODULES:
        monkeypatch.setattr(cli_main, "COMMAND_MODULES", (*cli_main.COMMAND_MODULES, "meter_cmd"))


def _typed(document: object) -> object:
    if isinstance(document, dict):
        return {k: _typed(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_typed(v) for v in document]
    if isinstance(document, int | float) and not isinstance(document, bool):
        return (type(document).__name__, document)
    return document


def _args(name: str) -> list[str]:
    expected = json.loads((VECTORS / f"{name}.expected.json").read_text())
    args = ["--model", expected["model"]]
    if "key" in expected:
        args += ["--key", expected["key"], "--auth-key", expected["auth_key"]]
    return args


@pytest.mark.parametrize("name", NAMES)
def test_vectors_print_the_expected_json(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main.main(["meter", "decode", str(VECTORS / f"{name}.hex"), *_args(name), "--json"])
    assert code == 0
    expected = json.loads((VECTORS / f"{name}.expected.json").read_text())
    document = json.loads(capsys.readouterr().out)
    assert _typed(document) == _typed({"pushes": expected["pushes"], "rejected": expected["rejected"]})


def test_raw_binary_on_stdin_with_garbage(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    frames = [bytes.fromhex(line) for line in (VECTORS / "e360-p1.hex").read_text().splitlines() if line.strip()]
    raw = b"\x00\x13garbage" + b"".join(frames) + b"\xff"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert cli_main.main(["meter", "decode", "-", "--model", "e360", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["pushes"][0]["values"]["1-0:32.7.0"] == 235.7
    assert document["rejected"] == 0


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["meter", "decode", str(VECTORS / "e450-vse-2026.hex")]) == 0
    out = capsys.readouterr().out
    assert "2026-05-04T09:39:21Z  LGZ1030653520967" in out
    assert "1-0:31.7.0" in out
    assert "0.09" in out
    assert "rejected: 0" in out


def test_corrupted_capture_counts_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (VECTORS / "e450-no-clock.hex").read_text().splitlines()
    lines[1] = lines[1].replace("7A 02 04", "7A 02 05")
    capture = tmp_path / "bad.hex"
    capture.write_text("\n".join(lines))
    assert cli_main.main(["meter", "decode", str(capture), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"pushes": [], "rejected": 1}


@pytest.mark.parametrize(
    ("argv", "content", "message"),
    [
        (["--json"], "7E A0 8G\n", "line 1 is not hex: character 'G'"),
        (["--json"], "7E A\n", "odd number of hex digits"),
        (["--key", "00" * 15, "--auth-key", "00" * 16], "", "'--key': must be 16 bytes"),
        (["--key", "zz", "--auth-key", "00" * 16], "", "'--key': is not hex"),
        (["--key", "00" * 16], "", "give both keys"),
    ],
)
def test_unusable_input_exits_2_naming_the_problem(
    argv: list[str], content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "capture.hex"
    capture.write_text(content)
    assert cli_main.main(["meter", "decode", str(capture), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["meter", "decode", str(tmp_path / "nope.hex"), "--json"]) == 2
    err = capsys.readouterr().err
    assert "nope.hex" in err
    assert "No such file" in err
