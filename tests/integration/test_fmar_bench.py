"""``goflex bench market --json`` runs end to end on a small load and prints one JSON document (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from goflex.cli.main import main


def test_bench_market_prints_one_json_document(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "market", "--json", "--orders", "30", "--api-orders", "10"]) == 0
    out = capfd.readouterr().out
    result = json.loads(out)
    assert result["matcher"]["buyOrders"] == 30
    assert result["matcher"]["contracts"] > 0
    assert result["api"]["orders"] == 10
    assert {"p50Ms", "p99Ms"} <= set(result["api"]["buyOrder"])
    assert result["api"]["ratioP50"] > 0
