"""``goflex fman serve --settlement-wait-s`` reaches FMAN's settings; a bad value is refused by the parser."""

from __future__ import annotations

import pytest

from goflex.cli.fman_cmd import serve_settings
from goflex.cli.main import build_parser


def test_the_settlement_wait_reaches_fman() -> None:
    args = build_parser().parse_args(["fman", "serve", "--settlement-wait-s", "120"])
    assert serve_settings(args).settlement_wait_s == 120.0
    assert serve_settings(build_parser().parse_args(["fman", "serve"])).settlement_wait_s == 3600.0


def test_a_negative_settlement_wait_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["fman", "serve", "--settlement-wait-s", "-5"])
    assert exit_.value.code == 2
    assert "--settlement-wait-s" in capsys.readouterr().err
