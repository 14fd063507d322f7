"""The running quarter's imbalance from 5-minute points."""

from __future__ import annotations

import math

import pytest

from goflex.doms.imbalance import QuarterEstimator


def test_unseen_points_persist_the_last_one() -> None:
    e = QuarterEstimator()
    assert e.estimate(prior_mw=2.0).imbalance_mw == 2.0
    e.add(0, 3.0)
    assert e.estimate(0.0).imbalance_mw == pytest.approx(3.0)
    e.add(0, 6.0)
    assert e.estimate(0.0).imbalance_mw == pytest.approx((3 + 6 + 6) / 3)
    e.add(0, math.nan)  # a bad last point: the last good one stands in
    assert e.estimate(0.0).imbalance_mw == pytest.approx(5.0)
    assert e.complete
    assert e.estimate(0.0).energy_mwh == pytest.approx(1.25)


def test_a_new_quarter_starts_afresh_and_time_never_goes_back() -> None:
    e = QuarterEstimator()
    for x in (1.0, 1.0, 1.0):
        e.add(0, x)
    with pytest.raises(ValueError, match="already has"):
        e.add(0, 1.0)
    e.add(1, 4.0)
    assert e.estimate(0.0).points_seen == 1
    with pytest.raises(ValueError, match="before"):
        e.add(0, 1.0)
