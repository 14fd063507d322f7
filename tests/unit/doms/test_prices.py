"""Price models checked by hand on small cases (issue 5 section 7)."""

from __future__ import annotations

import numpy as np
import pytest

from goflex.doms.prices import FlatPrice, PenaltyRates, PriceError, SinglePrice, TwoPrice, penalty_eur


def test_two_price_from_spot_by_hand() -> None:
    rates = TwoPrice().rates(np.array([50.0, -20.0]), None, None)
    # 50: short 55 -> 5 EUR/MWh, long 45 -> 5; -20: short -18 -> 2, long -22 -> 2 (both still penalise)
    assert rates.short_eur_per_mwh == pytest.approx([5.0, 2.0])
    assert rates.long_eur_per_mwh == pytest.approx([5.0, 2.0])
    # 2 MWh short at 50 costs 10 EUR; 3 MWh long at -20 costs 6 EUR
    assert penalty_eur(np.array([2.0, -3.0]), rates) == pytest.approx([10.0, 6.0])


def test_two_price_from_file_prices_by_hand() -> None:
    spot = np.array([40.0, 40.0])
    rates = TwoPrice().rates(spot, np.array([100.0, 30.0]), np.array([10.0, 60.0]))
    # short price below spot and long above spot are clipped to spot: no penalty in that direction
    assert rates.short_eur_per_mwh == pytest.approx([60.0, 0.0])
    assert rates.long_eur_per_mwh == pytest.approx([30.0, 0.0])
    assert penalty_eur(np.array([0.5, -1.0]), rates) == pytest.approx([30.0, 0.0])


def test_single_price_earns_on_the_helpful_side() -> None:
    rates = SinglePrice().rates(np.array([50.0]), np.array([80.0]), np.array([80.0]))
    assert penalty_eur(np.array([1.0]), rates) == pytest.approx([30.0])  # short: pays 80 for what spot sells at 50
    assert penalty_eur(np.array([-1.0]), rates) == pytest.approx([-30.0])  # long: sells at 80, worth 50 at spot


def test_flat_price_is_symmetric() -> None:
    rates = FlatPrice(7.0).rates(np.array([50.0, 0.0]), None, None)
    assert penalty_eur(np.array([2.0, -2.0]), rates) == pytest.approx([14.0, 14.0])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(PriceError, match="go together"):
        TwoPrice().rates(np.array([1.0]), np.array([1.0]), None)
    with pytest.raises(PriceError, match="convex"):
        PenaltyRates(np.array([-5.0]), np.array([1.0]))
    with pytest.raises(PriceError, match=">= 0"):
        FlatPrice(-1.0).rates(np.array([1.0]), None, None)


def test_window_repeats_the_last_quarter() -> None:
    rates = PenaltyRates(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert rates.window(2, 3).short_eur_per_mwh == pytest.approx([3.0, 3.0, 3.0])
