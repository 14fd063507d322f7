"""The offer frame: every offer leaves its submission margin before ``acceptBeforeTime`` (issue 4, fix 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_S, OfferTiming, SliceSpec, build_offer

MARGIN = timedelta(minutes=5)


@given(st.integers(0, 2 * 86400 - 1))
def test_accept_before_time_keeps_the_submission_margin_and_the_earliest_start_is_the_next_boundary(
    seconds: int,
) -> None:
    now = datetime(2026, 1, 22, tzinfo=UTC) + timedelta(seconds=seconds)
    timing = OfferTiming(now, submission_margin=MARGIN)
    offer = build_offer(
        offer_id="o",
        offered_by_id="goflex-dc-001",
        timing=timing,
        start=timing.earliest_start(),
        slices=[SliceSpec(0.0, 0.5, 0.5, 0.05, 0.05)],
    )
    lead = offer.accept_before_time - offer.creation_time
    assert MARGIN <= lead < MARGIN + timedelta(seconds=SLOT_S)
    assert offer.start_after_time.timestamp() % SLOT_S == 0


def test_a_negative_margin_is_refused() -> None:
    with pytest.raises(InvalidDeviceState, match="submission_margin"):
        OfferTiming(datetime(2026, 1, 22, tzinfo=UTC), submission_margin=timedelta(seconds=-1))
