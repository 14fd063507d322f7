"""Flexibility Market (FMAR): participants, orders, matching, contracts and settlement (issue 4 section 4).

Pure core (no I/O): :mod:`~goflex.flex.fmar.lifecycle` (statuses, reasons, the state machine),
:mod:`~goflex.flex.fmar.terms` (bids and buy orders in slots, gate closure), :mod:`~goflex.flex.fmar.matching`
(continuous pay-as-bid, HiGHS MILP where greedy would lose value), :mod:`~goflex.flex.fmar.book` (the order book
and the bids' schedules), :mod:`~goflex.flex.fmar.settlement`, :mod:`~goflex.flex.fmar.views`.
Service: :mod:`~goflex.flex.fmar.repository` (own ``fmar_`` tables and migrations), :mod:`~goflex.flex.fmar.market`,
:mod:`~goflex.flex.fmar.app` (``create_app``). See docs/market.md.
"""
