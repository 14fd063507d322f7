"""Pay-as-bid settlement on a small case, every number checked by hand."""

from __future__ import annotations

import pytest

from goflex.flex.fmar.book import bid_schedule
from goflex.flex.fmar.errors import SettlementRefused
from goflex.flex.fmar.settlement import ContractLine, settle
from goflex.flex.fmar.terms import Direction, bid_terms, slot_of
from tests.unit.flex.fmar.offers import T0, bid_offer

S0 = slot_of(T0)
# Slot 0: baseline 2 kWh in [0, 2], down at 0.06 EUR/kWh; slot 1: baseline 1 kWh in [0, 2], up at 0.04 EUR/kWh.
TERMS = bid_terms(bid_offer("b", [(1, 0.0, 2.0, 0.06, 0.01), (1, 0.0, 2.0, 0.01, 0.04)], [2.0, 1.0]), max_abs_price=1)
CONTRACTS = [ContractLine("c0", S0, Direction.DOWN, 1.5, 0.06), ContractLine("c1", S0 + 1, Direction.UP, 0.5, 0.04)]
SCHEDULE = bid_schedule(TERMS, S0, {0: (Direction.DOWN, 1.5), 1: (Direction.UP, 0.5)})


def test_schedule_is_reference_plus_contracts() -> None:
    assert [s.energy_amount for s in SCHEDULE.slices] == [0.5, 1.5]


def test_payment_on_delivered_deviation_capped_at_the_contract_and_no_fee_below_the_cutoff() -> None:
    # Metered 0.8 and 2.0 kWh. Slot 0: delivered down 2 - 0.8 = 1.2 <= 1.5 contracted -> 1.2 x 0.06 = 0.072 EUR.
    # Slot 1: delivered up 2.0 - 1.0 = 1.0, capped at 0.5 contracted -> 0.5 x 0.04 = 0.020 EUR. Total 0.092 EUR.
    # Imbalance |0.8 - 0.5| + |2.0 - 1.5| = 0.8 kWh <= 1 kWh cut-off -> no fee.
    result = settle(TERMS, SCHEDULE, CONTRACTS, {S0: 0.8, S0 + 1: 2.0})
    assert result.delivered_kwh == pytest.approx(2.8)
    assert result.scheduled_deviation_kwh == pytest.approx(2.0)
    assert result.delivered_deviation_kwh == pytest.approx(1.7)
    assert result.payment_eur == pytest.approx(0.092)
    assert result.imbalance_kwh == pytest.approx(0.8)
    assert result.imbalance_fee_eur == 0.0
    assert [(c.contract_id, round(c.payment_eur, 9)) for c in result.contracts] == [("c0", 0.072), ("c1", 0.02)]


def test_nothing_delivered_pays_nothing_and_the_imbalance_above_the_cutoff_is_fined() -> None:
    # Metered 2.0 and 0.0 kWh: the baseline was run in slot 0 and the wrong way in slot 1.
    # Imbalance |2.0 - 0.5| + |0.0 - 1.5| = 3.0 kWh -> fee 0.5 EUR/kWh x (3.0 - 1.0) = 1.0 EUR.
    result = settle(TERMS, SCHEDULE, CONTRACTS, {S0: 2.0, S0 + 1: 0.0}, fee_eur_per_kwh=0.5)
    assert result.payment_eur == 0.0
    assert result.imbalance_kwh == pytest.approx(3.0)
    assert result.imbalance_fee_eur == pytest.approx(1.0)


def test_two_contracts_in_one_slot_share_the_delivered_energy_pro_rata() -> None:
    lines = [ContractLine("x", S0, Direction.DOWN, 1.0, 0.06), ContractLine("y", S0, Direction.DOWN, 0.5, 0.06)]
    result = settle(TERMS, SCHEDULE, lines, {S0: 1.1, S0 + 1: 1.0})  # delivered 0.9 of 1.5 -> 60 % each
    assert [round(c.delivered_kwh, 9) for c in result.contracts] == [0.6, 0.3]


def test_a_missing_slot_is_refused_naming_it() -> None:
    with pytest.raises(SettlementRefused, match="09:15"):
        settle(TERMS, SCHEDULE, CONTRACTS, {S0: 0.8})
