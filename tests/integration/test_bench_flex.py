"""``goflex bench flex --json`` end to end on small sizes: one JSON document, figures that hang together."""

from __future__ import annotations

import json

import pytest

from goflex.bench.flex import pilot_offers
from goflex.cli.main import main
from goflex.flex import validate_offer
from goflex.flex.aggregation import binding_total


def test_the_generated_offers_are_valid_and_pilot_like() -> None:
    offers = pilot_offers(2_000, seed=3)
    assert [p for o in offers for p in validate_offer(o)] == []
    assert len({o.id for o in offers}) == len(offers)
    # EVs and heat pumps bring binding total-energy constraints, batteries production, water heaters none.
    assert 0.1 < sum(binding_total(o) for o in offers) / len(offers) < 0.6
    assert any(s.energy_constraints[0].lower < 0 for o in offers for s in o.profile)
    assert offers == pilot_offers(2_000, seed=3)  # reproducible


def test_bench_flex_prints_one_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "flex", "--json", "--sizes", "300,1000", "--tradeoff-size", "500", "--max-members", "20"]
    assert main(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "aggregated" in captured.err  # progress on stderr
    assert [row["offers"] for row in result["sizes"]] == [300, 1000]
    for row in result["sizes"]:
        aggregation, disaggregation = row["aggregation"], row["disaggregation"]
        assert aggregation["offersPerSecond"] > 0
        assert aggregation["compressionRatio"] == pytest.approx(
            row["offers"] / (aggregation["aggregates"] + aggregation["singles"]), rel=1e-2
        )
        assert aggregation["compressionRatio"] <= 20
        assert disaggregation["invalidSampledMemberSchedules"] == 0
        assert disaggregation["lpRepairs"] == 0  # the default TEC policy never needs the LP
        assert disaggregation["maxSumErrorKwh"] < 1e-9
        assert row["json"]["offersPerSecondParsed"] > 0
        assert row["memory"]["peakRssAfterDisaggregationMb"] > 0
        assert row["memory"]["rssWithOffersMb"] > 0
    grid = result["tradeoff"]["grid"]
    assert [(r["estTolerance"], r["tfTolerance"]) for r in grid] == [(e, t) for t in (0, 4) for e in (0, 1, 4, 20)]
    for row in grid:
        assert row["timeFlexibilityLostIntervals"] >= 0
        if row["tfTolerance"] == 0:  # start alignment on equal tf loses no start choice
            assert row["timeFlexibilityLostIntervals"] == 0
    ratios = [r["compressionRatio"] for r in grid if r["tfTolerance"] == 0]
    assert ratios == sorted(ratios)  # wider EST cells compress more
    policies = result["tradeoff"]["tecPolicyAtEst20Tf0"]
    assert policies["single"]["compressionRatio"] < policies["box"]["compressionRatio"]


def test_bad_sizes_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "flex", "--json", "--sizes", "10,x"])
    assert exit_info.value.code == 2
    assert "--sizes" in capsys.readouterr().err
