"""The gateway's only logic (seed 3.2.5.6): the fail-safe that decides the relay positions (pure).

Rules, in order of precedence:

1. **Manual switch wins.** When the On-Auto switch is on manual, both relays are closed (heating enabled)
   whatever the platform commands; commands received meanwhile are remembered. (Seed 3.2.5.6: the switch lets
   an inhabitant "manually force the relays to close ... a last security feature in case of failure".)
2. **Link lost -> heating enabled.** When the link to the platform has been down for longer than
   ``loss_delay_s``, the fail-safe *trips* and both relays close. (Seed 3.2.5.6: "The only logic programmed
   into the gateway is to enable space and domestic water heating (close relays) when remote communication is
   lost.") A shorter interruption changes nothing: a broker restart must not undo a running block.
3. **Commands.** Otherwise each relay follows the platform's last command for it (``relayNControl``), and is
   closed when there is none (Appendix 4.2.1: default true).

**Re-applying a command after the fail-safe.** A command carries the time it was issued (the ``@set``
timestamp). When the link returns after a trip (or the switch goes back to auto), a remembered command is
applied again only if it is still *valid*: issued no more than ``command_validity_s`` before now. The default,
2 h, is the longest block a utility uses (physics-and-grid.md 3): a blocking order older than that has ended in
the platform's plan, and re-opening a relay on its strength would block heating that nobody asked to block.
Commands that are no longer valid are forgotten (the relay stays closed until the platform commands again).
While the link is up and the switch on auto, commands do not expire: the platform is in charge.

All times are the gateway clock's epoch seconds [s]. The state is a frozen value; every event function returns
the new state, whose :attr:`FailSafeState.relays` and :attr:`FailSafeState.mode` are what the gateway applies
and reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum


class Mode(StrEnum):
    """Why the relays are where they are."""

    AUTO = "auto"  # following the platform's commands
    FAILSAFE = "failsafe"  # link lost for too long: relays closed
    MANUAL = "manual"  # On-Auto switch on manual: relays closed


@dataclass(frozen=True)
class FailSafePolicy:
    """Settings of the fail-safe.

    Attributes:
        loss_delay_s: how long the link may be down before the relays close [s], >= 0.
        command_validity_s: how long a command stays valid for re-application after a trip [s], > 0.
    """

    loss_delay_s: float = 300.0
    command_validity_s: float = 7200.0

    def __post_init__(self) -> None:
        if not self.loss_delay_s >= 0:
            raise ValueError(f"loss_delay_s must be >= 0, got {self.loss_delay_s}")
        if not self.command_validity_s > 0:
            raise ValueError(f"command_validity_s must be > 0, got {self.command_validity_s}")


@dataclass(frozen=True)
class Command:
    """A relay command from the platform.

    Attributes:
        closed: True = relay closed (heating enabled), False = open (heating blocked).
        issued_s: when the platform issued it (the ``@set`` timestamp) [s].
    """

    closed: bool
    issued_s: float


@dataclass(frozen=True)
class FailSafeState:
    """The fail-safe's memory and its outputs.

    Attributes:
        commands: the last command per relay (relay 1, relay 2), None when there is none (or it was dropped).
        link_up: whether the link to the platform is up.
        down_since_s: when the link went down [s] (None while up).
        tripped: the link was down for longer than the delay and has not been back since.
        switch_auto: the On-Auto switch (True = auto).
        relays: the positions to apply: True = closed (heating enabled).
        mode: why.
    """

    commands: tuple[Command | None, Command | None] = (None, None)
    link_up: bool = False
    down_since_s: float | None = None
    tripped: bool = False
    switch_auto: bool = True
    relays: tuple[bool, bool] = (True, True)
    mode: Mode = Mode.AUTO

    @classmethod
    def initial(cls, t: float, *, switch_auto: bool = True) -> FailSafeState:
        """At start-up: not yet connected (the loss delay counts from ``t``), relays closed."""
        return _settle(cls(down_since_s=t, switch_auto=switch_auto))


def _settle(s: FailSafeState) -> FailSafeState:
    """Recompute the outputs from the memory."""
    if not s.switch_auto:
        return replace(s, relays=(True, True), mode=Mode.MANUAL)
    if s.tripped:
        return replace(s, relays=(True, True), mode=Mode.FAILSAFE)
    relays = (
        True if s.commands[0] is None else s.commands[0].closed,
        True if s.commands[1] is None else s.commands[1].closed,
    )
    return replace(s, relays=relays, mode=Mode.AUTO)


def _valid_commands(s: FailSafeState, policy: FailSafePolicy, t: float) -> tuple[Command | None, Command | None]:
    def keep(c: Command | None) -> Command | None:
        return c if c is not None and t - c.issued_s <= policy.command_validity_s else None

    return keep(s.commands[0]), keep(s.commands[1])


def on_tick(s: FailSafeState, policy: FailSafePolicy, t: float) -> FailSafeState:
    """Time passes (call at least every second or so): trips once the link has been down too long."""
    if not s.link_up and not s.tripped and s.down_since_s is not None and t - s.down_since_s >= policy.loss_delay_s:
        return _settle(replace(s, tripped=True))
    return s


def on_link(s: FailSafeState, policy: FailSafePolicy, t: float, up: bool) -> FailSafeState:
    """The link to the platform came up (``up``) or went down at ``t``."""
    if up == s.link_up:
        return on_tick(s, policy, t)
    if not up:
        return on_tick(replace(s, link_up=False, down_since_s=t), policy, t)
    s = on_tick(s, policy, t)  # a loss that had already lasted long enough still counts as a trip
    if s.tripped:
        s = replace(s, commands=_valid_commands(s, policy, t), tripped=False)
    return _settle(replace(s, link_up=True, down_since_s=None))


def on_command(s: FailSafeState, policy: FailSafePolicy, t: float, relay: int, command: Command) -> FailSafeState:
    """The platform commanded ``relay`` (1 or 2) at ``t``; an older command than the one held is ignored.

    Raises:
        ValueError: ``relay`` is not 1 or 2.
    """
    if relay not in (1, 2):
        raise ValueError(f"relay must be 1 or 2, got {relay}")
    held = s.commands[relay - 1]
    if held is not None and command.issued_s < held.issued_s:
        return on_tick(s, policy, t)  # ignored, but time has passed: the loss delay may have run out
    commands = (command, s.commands[1]) if relay == 1 else (s.commands[0], command)
    return on_tick(_settle(replace(s, commands=commands)), policy, t)


def on_switch(s: FailSafeState, policy: FailSafePolicy, t: float, auto: bool) -> FailSafeState:
    """The On-Auto switch was read at ``t`` (True = auto)."""
    if auto == s.switch_auto:
        return on_tick(s, policy, t)
    if auto:  # back to auto: only still-valid commands apply again
        s = replace(s, commands=_valid_commands(s, policy, t))
    return on_tick(_settle(replace(s, switch_auto=auto)), policy, t)


def trip_deadline_s(s: FailSafeState, policy: FailSafePolicy) -> float:
    """When the fail-safe trips if nothing changes [s] (inf while the link is up or already tripped)."""
    if s.link_up or s.tripped or s.down_since_s is None:
        return math.inf
    return s.down_since_s + policy.loss_delay_s
