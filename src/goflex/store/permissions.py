"""Access-rights values (pure): permission levels and what the rights repository returns.

cloudio.md, Security: endpoint permissions ``DENY < ACCESS < BROWSE < READ < WRITE < CONFIGURE < GRANT < OWN`` and
model-element permissions ``DENY < VIEW < READ < WRITE``, granted to users or groups, on endpoints or endpoint
groups; the effective level is the highest that applies; deny by default; exactly one owner per endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NamedTuple


class EndpointPermission(IntEnum):
    """What a principal may do with a whole endpoint (ordered: a level includes those below it)."""

    DENY = 0
    ACCESS = 1
    BROWSE = 2
    READ = 3
    WRITE = 4
    CONFIGURE = 5
    GRANT = 6
    OWN = 7


class ElementPermission(IntEnum):
    """What a principal may do with one part of an endpoint's model (ordered)."""

    DENY = 0
    VIEW = 1
    READ = 2
    WRITE = 3


class PrincipalKind(StrEnum):
    """Who can hold rights. Users, groups and applications share one name space."""

    USER = "user"
    GROUP = "group"
    APPLICATION = "application"


def element_level_of(level: EndpointPermission) -> ElementPermission:
    """The element permission an endpoint permission implies on every element of the endpoint.

    BROWSE sees the structure (VIEW), READ reads values, WRITE and above write SetPoints and Parameters.
    """
    if level >= EndpointPermission.WRITE:
        return ElementPermission.WRITE
    if level >= EndpointPermission.READ:
        return ElementPermission.READ
    if level >= EndpointPermission.BROWSE:
        return ElementPermission.VIEW
    return ElementPermission.DENY


@dataclass(frozen=True)
class User:
    """A person who logs in (API, web pages).

    Attributes:
        name: login name.
        admin: administrators have every permission on every endpoint (enforced by the API).
        enabled: a disabled user cannot log in and holds no permission.
        groups: names of the groups the user belongs to, sorted.
    """

    name: str
    admin: bool
    enabled: bool
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A named set of users and applications; its grants apply to every member."""

    name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    """A cloud.iO application or platform service (EMS, FOA, ingest...), identified by its name.

    Attributes:
        name: its MQTT user name / certificate CN.
        kind: free label (``ems``, ``foa``, ``service``...).
        enabled: a disabled application gets no broker rights.
    """

    name: str
    kind: str
    enabled: bool


class TopicGrant(NamedTuple):
    """An application's effective permission on an endpoint, for rendering the broker ACL."""

    principal: str
    endpoint: str
    level: EndpointPermission
