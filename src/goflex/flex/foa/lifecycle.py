"""The lifecycle of the agent's FlexOffers, with illegal transitions as errors (pure; flexoffer.md 1).

::

    initial --> offered --> accepted --> assigned --> executed
                   |            |
                   +------------+--> rejected   (FMAN said no, or no schedule by assignmentBeforeTime:
                                                  the prosumer runs its baseline)
    initial/offered/accepted --> canceled (withdrawn);  initial/offered --> invalid (refused as malformed)

Rejected, executed, canceled and invalid are final. A replayed message that would move an offer backwards (a
second schedule for an executed offer, an acceptance after a rejection) is an :class:`IllegalTransition`, which
the agent counts and ignores: the device keeps doing what the first decision said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from goflex.flex.foa.errors import IllegalTransition
from goflex.flex.model import FlexOfferState

S = FlexOfferState
ALLOWED: Final[dict[FlexOfferState, frozenset[FlexOfferState]]] = {
    S.INITIAL: frozenset({S.OFFERED, S.CANCELED, S.INVALID}),
    S.OFFERED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELED, S.INVALID}),
    S.ACCEPTED: frozenset({S.ASSIGNED, S.REJECTED, S.CANCELED}),
    S.ASSIGNED: frozenset({S.EXECUTED}),
    S.REJECTED: frozenset(),
    S.EXECUTED: frozenset(),
    S.CANCELED: frozenset(),
    S.INVALID: frozenset(),
    S.IN_ADAPTATION: frozenset(),
}
FINAL: Final = frozenset(s for s, nxt in ALLOWED.items() if not nxt)


def transition(offer_id: str, current: FlexOfferState, wanted: FlexOfferState) -> FlexOfferState:
    """``wanted`` if the lifecycle allows ``current -> wanted``.

    Raises:
        IllegalTransition: otherwise.
    """
    if wanted not in ALLOWED[current]:
        raise IllegalTransition(offer_id, current.value, wanted.value)
    return wanted


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One transition: when, to which state, and why (a reason code, e.g. ``unmatched_at_deadline``)."""

    time: datetime
    state: FlexOfferState
    reason: str | None = None


@dataclass
class Lifecycle:
    """One offer's state and history (starts ``initial``)."""

    offer_id: str
    events: list[LifecycleEvent] = field(default_factory=list)

    @property
    def state(self) -> FlexOfferState:
        """The current state."""
        return self.events[-1].state if self.events else FlexOfferState.INITIAL

    @property
    def final(self) -> bool:
        """No further transition is possible."""
        return self.state in FINAL

    def move(self, wanted: FlexOfferState, time: datetime, reason: str | None = None) -> None:
        """Record ``current -> wanted``.

        Raises:
            IllegalTransition: the lifecycle does not allow it (nothing is recorded).
        """
        transition(self.offer_id, self.state, wanted)
        self.events.append(LifecycleEvent(time, wanted, reason))
