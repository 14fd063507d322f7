"""``goflex foa run`` options reach the agent's settings; a bad value is refused by the parser."""

from __future__ import annotations

import pytest

from goflex.cli.foa_cmd import agent_settings
from goflex.cli.main import build_parser

BASE = ["foa", "run", "--fman", "http://127.0.0.1:8471", "--token-file", "t.txt", "--twin"]


def test_the_submission_margin_and_the_metering_wait_reach_the_agent() -> None:
    args = build_parser().parse_args([*BASE, "--submission-margin-s", "900", "--metering-wait-s", "600"])
    settings = agent_settings(args)
    assert settings.submission_margin_s == 900.0
    assert settings.metering_wait_s == 600.0


def test_the_defaults_are_the_agent_s() -> None:
    settings = agent_settings(build_parser().parse_args(BASE))
    assert (settings.submission_margin_s, settings.metering_wait_s) == (300.0, 1800.0)


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "soon"])
def test_a_negative_or_non_number_margin_is_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*BASE, "--submission-margin-s", bad])
    assert exit_.value.code == 2
    assert "--submission-margin-s" in capsys.readouterr().err
