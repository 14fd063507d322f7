"""The agent's FlexOffer lifecycle: offer -> accepted -> assigned -> executed; rejected at the deadline; no way back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from goflex.flex.foa.errors import IllegalTransition
from goflex.flex.foa.lifecycle import Lifecycle, transition
from goflex.flex.model import FlexOfferState as S

T = datetime(2026, 1, 22, 6, 0, tzinfo=UTC)


def test_the_happy_path_is_recorded_with_times() -> None:
    life = Lifecycle("fo-1")
    assert life.state is S.INITIAL
    for state in (S.OFFERED, S.ACCEPTED, S.ASSIGNED, S.EXECUTED):
        life.move(state, T)
    assert [e.state for e in life.events] == [S.OFFERED, S.ACCEPTED, S.ASSIGNED, S.EXECUTED]
    assert life.final


def test_rejected_at_the_deadline_is_final_and_keeps_its_reason() -> None:
    life = Lifecycle("fo-2")
    life.move(S.OFFERED, T)
    life.move(S.ACCEPTED, T)
    life.move(S.REJECTED, T, "unanswered_by_deadline")
    assert life.final
    assert life.events[-1].reason == "unanswered_by_deadline"
    with pytest.raises(IllegalTransition, match="rejected -> assigned"):
        life.move(S.ASSIGNED, T)  # a late schedule does not undo the baseline
    assert life.state is S.REJECTED


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.INITIAL, S.ASSIGNED),
        (S.OFFERED, S.EXECUTED),
        (S.ASSIGNED, S.OFFERED),
        (S.EXECUTED, S.ASSIGNED),
        (S.ASSIGNED, S.CANCELED),
        (S.CANCELED, S.OFFERED),
    ],
)
def test_illegal_transitions_are_errors(current: S, wanted: S) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition("fo-3", current, wanted)
    assert (info.value.current, info.value.wanted) == (current.value, wanted.value)


def test_withdrawal_before_assignment() -> None:
    assert transition("fo-4", S.ACCEPTED, S.CANCELED) is S.CANCELED
