"""Decisions -> FMAR buy orders (goflex.doms.live_orders), checked by hand."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from goflex.doms.live_orders import BuyOrder, OrderPolicy, PlacedOrder, first_tradable_slot, order_for, to_revoke

T0 = 1_768_000_500  # a 5-minute boundary (2026-01-09T23:15:00Z is slot 1_964_445)
POLICY = OrderPolicy(gate_closure_s=900.0, margin_s=120.0, max_price_eur_per_kwh=1.0, min_energy_kwh=0.05)


@dataclass(frozen=True)
class Block:
    """What a plan decision issues, as the order builder reads it."""

    offer: str
    start: int
    length: int
    power_mw: float


def block(power_mw: float, length: int, offer: str = "market") -> Block:
    return Block(offer, 11, length, power_mw)


@dataclass(frozen=True)
class Plan:
    time_s: int
    issued: tuple[Block, ...]


def plan(*blocks: Block, time_s: int = T0) -> Plan:
    return Plan(time_s, blocks)


def order_of(p: Plan, *, first_slot: int, short_eur_per_mwh: list[float], policy: OrderPolicy) -> BuyOrder | None:
    return order_for(p.time_s, p.issued, first_slot=first_slot, short_eur_per_mwh=short_eur_per_mwh, policy=policy)


def test_energy_per_slot_sums_the_blocks_still_running_in_it() -> None:
    # 0.04 MW for 2 quarters + 0.02 MW for 4 quarters: 0.06, 0.06, 0.02, 0.02 MW x 250 kWh/MW/quarter
    order = order_of(plan(block(0.04, 2), block(0.02, 4)), first_slot=100, short_eur_per_mwh=[200.0] * 4, policy=POLICY)
    assert order is not None
    assert order.energy_kwh == (15.0, 15.0, 5.0, 5.0)
    assert order.first_slot == 100
    assert order.direction == "down"
    assert order.total_kwh == 40.0


def test_max_price_is_the_mean_short_penalty_of_the_slots_bought_in_eur_per_kwh() -> None:
    order = order_of(plan(block(0.04, 2)), first_slot=7, short_eur_per_mwh=[100.0, 300.0, 999.0], policy=POLICY)
    assert order is not None
    assert order.max_price_eur_per_kwh == 0.2  # (100 + 300) / 2 / 1000


def test_the_price_is_capped_and_no_penalty_means_no_order() -> None:
    capped = order_of(plan(block(0.04, 1)), first_slot=7, short_eur_per_mwh=[5000.0], policy=POLICY)
    assert capped is not None
    assert capped.max_price_eur_per_kwh == 1.0
    assert order_of(plan(block(0.04, 1)), first_slot=7, short_eur_per_mwh=[0.0], policy=POLICY) is None


def test_nothing_issued_or_too_small_gives_no_order() -> None:
    assert order_of(plan(), first_slot=7, short_eur_per_mwh=[100.0], policy=POLICY) is None
    tiny = block(0.0001, 2)  # 0.025 kWh per slot < 0.05 kWh
    assert order_of(plan(tiny), first_slot=7, short_eur_per_mwh=[100.0] * 2, policy=POLICY) is None


def test_the_body_follows_the_trading_contract() -> None:
    order = order_of(plan(block(0.02, 2)), first_slot=1_964_445, short_eur_per_mwh=[150.0] * 2, policy=POLICY)
    assert order is not None
    assert order.body() == {
        "direction": "down",
        "locationId": None,
        "maxPriceEurPerKwh": 0.15,
        "slots": [
            {"start": "2026-01-09T23:15:00Z", "energyKwh": 5.0},
            {"start": "2026-01-09T23:30:00Z", "energyKwh": 5.0},
        ],
        "allowPartial": True,
    }


def test_the_idempotency_key_is_the_same_for_the_same_decision_and_differs_for_another() -> None:
    a = order_of(plan(block(0.02, 2)), first_slot=9, short_eur_per_mwh=[150.0] * 2, policy=POLICY)
    b = order_of(plan(block(0.02, 2)), first_slot=9, short_eur_per_mwh=[150.0] * 2, policy=POLICY)
    c = order_of(plan(block(0.02, 2), time_s=T0 + 900), first_slot=10, short_eur_per_mwh=[150.0] * 2, policy=POLICY)
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.key == b.key
    assert a.key != c.key
    assert a.key.startswith("doms-")


def test_first_tradable_slot_respects_gate_closure_and_margin() -> None:
    # now = 10:00:00 -> 10:15 + 2 min -> the 10:30 slot
    now = 1_768_039_200  # 2026-01-10T10:00:00Z
    assert first_tradable_slot(now, POLICY) * 900 == now + 1800
    assert first_tradable_slot(now, OrderPolicy(margin_s=0.0)) * 900 == now + 900


def test_a_release_revokes_only_open_orders_that_have_not_started() -> None:
    def placed(first_slot: int, status: str) -> PlacedOrder:
        return PlacedOrder(BuyOrder("k", T0, first_slot, (1.0,), 0.1), order_id=f"o{first_slot}", status=status)

    now = 1000 * 900
    orders = [placed(999, "accepted"), placed(1001, "accepted"), placed(1002, "revoked"), placed(1003, "rejected")]
    assert [o.order_id for o in to_revoke(orders, now_s=now, policy=POLICY)] == ["o1001"]


@given(
    powers=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
    lengths=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=4, max_size=4),
    rate=st.floats(0.0, 2000.0),
)
def test_orders_are_well_formed(powers: list[float], lengths: list[int], rate: float) -> None:
    blocks = [block(p, n) for p, n in zip(powers, lengths, strict=False)]
    order = order_of(plan(*blocks), first_slot=5, short_eur_per_mwh=[rate] * 8, policy=POLICY)
    if order is None:
        return
    assert all(e >= POLICY.min_energy_kwh for e in order.energy_kwh)
    assert len(order.energy_kwh) <= max(lengths)
    assert 0 < order.max_price_eur_per_kwh <= POLICY.max_price_eur_per_kwh
    assert order.total_kwh <= sum(p * n * 250 for p, n in zip(powers, lengths, strict=False)) + 0.05 * 8 + 1e-6
