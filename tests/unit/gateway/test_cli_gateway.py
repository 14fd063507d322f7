"""``goflex gateway run --config FILE`` refuses a bad configuration with one line naming the key (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from goflex.cli.main import main

CONFIG = """
[gateway]
house = 4
driver = "twin"

[cloudio]
broker = "mqtts://localhost:8883"
ca_file = "ca.crt"
cert_file = "goflex-dc-004.crt"
key_file = "goflex-dc-004.key"

[meter]
device = "/dev/ttyUSB0"
parity = "X"
"""


def test_bad_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG, encoding="utf-8")
    assert main(["gateway", "run", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("goflex: error: setting 'meter.parity'")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gateway", "run", "--config", str(tmp_path / "none.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
