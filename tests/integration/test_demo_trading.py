"""``goflex demo`` trades: a short accelerated run ends with trades on the market.

The whole demo runs as the user starts it (a child process): broker, platform, twin fleet, and the trading chain
(FMAR, FMAN, the Direct Control FOA through the broker, a DSO buyer). Its last lines sum the trading up. The
trade count is checked with the scripted DSO (it buys every hour, so a two-hour run trades); the live DOMS buys
only when its scaled balance group is out of its dead band, so its run checks that it decided and reported.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SUMMARY = re.compile(
    r"trading: (?P<offers>\d+) FlexOffers \((?P<accepted>\d+) accepted\), (?P<bids>\d+) bids, "
    r"(?P<buys>\d+) buy orders, (?P<trades>\d+) trades \((?P<kwh>[\d.]+) kWh, (?P<eur>[\d.]+) EUR\), "
    r"\d+ schedules"
)


@pytest.mark.slow
def test_a_short_accelerated_demo_ends_with_trades(tmp_path: Path) -> None:
    goflex = str(Path(sys.executable).parent / "goflex")
    # x300, not x600: a second of real lag on a loaded CI machine is then 5 simulated minutes, not 10, so the
    # FMAN's bids still reach the market before their slots' gate closure (at x600 two loaded runs on 2026-11-26
    # ended with bids and buy orders but no trade)
    demo = [goflex, "demo", "--houses", "10", "--speed", "300", "--hours", "2", "--port", "0", "--dir", "demo"]
    done = subprocess.run(
        [*demo, "--buyer", "scripted"], cwd=tmp_path, capture_output=True, text=True, timeout=150, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "market (FMAR): http://127.0.0.1:" in done.stderr
    (line,) = [m for m in map(SUMMARY.search, done.stderr.splitlines()) if m]
    figures = {k: float(v) for k, v in line.groupdict().items()}
    assert figures["accepted"] > 0
    assert figures["bids"] > 0
    assert figures["buys"] > 0
    assert figures["trades"] > 0
    assert figures["kwh"] > 0
    assert figures["eur"] > 0
    for token in ("market-operator-token.txt", "fman-operator-token.txt"):
        assert (tmp_path / "demo" / token).stat().st_mode & 0o077 == 0, f"{token} is readable by others"


@pytest.mark.slow
def test_no_trading_runs_the_demo_without_the_chain(tmp_path: Path) -> None:
    goflex = str(Path(sys.executable).parent / "goflex")
    demo = [goflex, "demo", "--houses", "2", "--speed", "600", "--hours", "0.25", "--port", "0", "--dir", "demo"]
    done = subprocess.run(
        [*demo, "--no-trading"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "stored " in done.stderr, "the platform ran"
    assert "market (FMAR)" not in done.stderr
    assert not any(map(SUMMARY.search, done.stderr.splitlines())), "no trading summary"
    assert not (tmp_path / "demo" / "market.db").exists()


DOMS_LINE = re.compile(
    r"DOMS (running|stopped \(.+\)): imbalance now .* (?P<decisions>\d+) decisions, (?P<orders>\d+) buy"
)


@pytest.mark.slow
def test_the_live_doms_is_the_default_buyer_and_reports(tmp_path: Path) -> None:
    goflex = str(Path(sys.executable).parent / "goflex")
    # x300 for the same reason as above: DOMS starts after the platform, and at x600 a loaded machine's start-up
    # lag ate half of the simulated hour (seen: 5 decisions)
    demo = [goflex, "demo", "--houses", "4", "--speed", "300", "--hours", "1", "--port", "0", "--dir", "demo"]
    done = subprocess.run(demo, cwd=tmp_path, capture_output=True, text=True, timeout=150, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    (line,) = [m for m in map(DOMS_LINE.search, done.stderr.splitlines()) if m]
    assert int(line["decisions"]) >= 6, "one decision per 5 simulated minutes"
