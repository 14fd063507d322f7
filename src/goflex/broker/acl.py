"""Who may publish, subscribe to and receive which MQTT topics (pure; DESIGN.md 2, cloudio.md "Security").

The same rules drive the rendered Mosquitto ACL (:mod:`goflex.broker.render`) and the embedded broker.

* **Endpoints** are confined to their own cloud.iO topics, whatever anyone grants: they publish only
  :data:`ENDPOINT_PUBLISH` and subscribe only to :data:`ENDPOINT_SUBSCRIBE`, with ``{name}`` replaced by their own
  name (the certificate CN). A name that contains ``/``, ``+`` or ``#`` gets nothing (Mosquitto likewise denies
  ``pattern`` lines for such usernames, reliability.md).
* **Services and applications** get exactly what their :class:`Grant` list says. Deny by default.
* **Servers** (a broker's own certificate presented as a client) get nothing.

Subscriptions are checked twice, like Mosquitto: :meth:`AccessPolicy.may_subscribe` accepts a filter only if
*every* topic it can match is readable (stricter than Mosquitto, which grants the subscription and filters later),
and :meth:`AccessPolicy.may_receive` checks each delivered message.

Topic filters follow MQTT 5.0 section 4.7: ``+`` matches one level, ``#`` (last) any number including zero,
wildcards at the first level never match topics starting with ``$``, and ``$share/<group>/<filter>`` is a
shared subscription on ``<filter>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class PrincipalKind(StrEnum):
    """What a connected client is; the certificate's OU (see goflex.pki.CertificateKind)."""

    ENDPOINT = "endpoint"
    SERVICE = "service"
    APPLICATION = "application"
    SERVER = "server"


@dataclass(frozen=True)
class Principal:
    """An authenticated MQTT client: certificate CN and kind."""

    name: str
    kind: PrincipalKind


@dataclass(frozen=True)
class Grant:
    """A right of a service or application on the topics matched by ``pattern`` (an MQTT topic filter).

    Attributes:
        principal: Name of the service or application (certificate CN).
        pattern: Topic filter, e.g. ``@update/goflex-dc-004/#``.
        read: May subscribe to and receive these topics.
        write: May publish to these topics.
    """

    principal: str
    pattern: str
    read: bool
    write: bool


class EndpointPermission(IntEnum):
    """cloud.iO endpoint permission levels, ordered (cloudio.md "Security"). goflex.store has its own twin."""

    DENY = 0
    ACCESS = 1
    BROWSE = 2
    READ = 3
    WRITE = 4
    CONFIGURE = 5
    GRANT = 6
    OWN = 7


# The cloud.iO topics of one endpoint ({name} = the endpoint), as Mosquitto ACL patterns use %u.
ENDPOINT_PUBLISH: tuple[str, ...] = (
    "@online/{name}",
    "@offline/{name}",
    "@update/{name}/#",
    "@didSet/{name}/#",
    "@transaction/{name}",
    "@delayed/{name}",
    "@nodeAdded/{name}/#",
    "@nodeRemoved/{name}/#",
    "@logs/{name}",
)
ENDPOINT_SUBSCRIBE: tuple[str, ...] = (
    "@set/{name}/#",
    "@ack/{name}",  # goflex: storage confirmations from ingest (docs/dev/interfaces.md)
    "@exec/{name}",  # cloud.iO jobs, written only by services granted to
    "@logsLevel/{name}",
)
# What applications with READ on an endpoint may read (cloudio.md topics table, everything the endpoint publishes
# except its logs).
ENDPOINT_DATA: tuple[str, ...] = (
    "@online/{name}",
    "@offline/{name}",
    "@update/{name}/#",
    "@didSet/{name}/#",
    "@nodeAdded/{name}/#",
    "@nodeRemoved/{name}/#",
    "@transaction/{name}",
    "@delayed/{name}",
)
_SHARE_PREFIX = "$share/"


# -- topic names and filters ----------------------------------------------------------------------------------------


def is_valid_topic(topic: str) -> bool:
    """True for a PUBLISH topic name: not empty, no wildcard, no NUL (MQTT 5.0 4.7.3)."""
    return bool(topic) and not any(c in topic for c in "+#\x00")


def split_shared(topic_filter: str) -> tuple[str | None, str]:
    """``$share/<group>/<filter>`` -> ``(group, filter)``; any other filter -> ``(None, filter)``.

    An invalid shared form (empty group, wildcard in the group, no filter) yields ``("", "")``, which is invalid.
    """
    if not topic_filter.startswith(_SHARE_PREFIX):
        return None, topic_filter
    group, sep, rest = topic_filter[len(_SHARE_PREFIX) :].partition("/")
    if not sep or not group or not rest or "+" in group or "#" in group:
        return "", ""
    return group, rest


def is_valid_filter(topic_filter: str) -> bool:
    """True for a SUBSCRIBE filter (MQTT 5.0 4.7.1, 4.8.2): ``#`` last and alone, ``+`` alone in its level."""
    _, inner = split_shared(topic_filter)
    if not inner or "\x00" in inner:
        return False
    levels = inner.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def filter_matches(plain_filter: str, topic: str) -> bool:
    """True if the valid plain (not shared) filter matches the topic name; no validation (hot path of routing)."""
    f_levels, t_levels = plain_filter.split("/"), topic.split("/")
    if topic.startswith("$") and f_levels[0] in ("+", "#"):
        return False  # MQTT 5.0 4.7.2: leading wildcards never match $-topics
    for i, level in enumerate(f_levels):
        if level == "#":
            return True  # also matches the parent level ("a/#" matches "a")
        if i >= len(t_levels) or (level != "+" and level != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True if the valid ``topic_filter`` matches the topic name ``topic`` (MQTT 5.0 4.7)."""
    if not is_valid_filter(topic_filter) or not is_valid_topic(topic):
        return False
    return filter_matches(split_shared(topic_filter)[1], topic)


def filter_covers(granted: str, requested: str) -> bool:
    """True if every topic ``requested`` can match is also matched by ``granted`` (both valid filters)."""
    if not is_valid_filter(granted) or not is_valid_filter(requested):
        return False
    g_levels = split_shared(granted)[1].split("/")
    r_levels = split_shared(requested)[1].split("/")
    if g_levels[0] in ("+", "#") and r_levels[0].startswith("$"):
        return False  # granted wildcard does not reach $-topics the request names
    for i, g in enumerate(g_levels):
        if g == "#":
            return True
        if i >= len(r_levels):
            return False
        r = r_levels[i]
        if r == "#" or (g not in ("+", r)):
            return False  # a wider request ('#', or '+' against a literal) or another literal
    return len(r_levels) == len(g_levels)


# -- policy -----------------------------------------------------------------------------------------------------


def endpoint_patterns(name: str, templates: Iterable[str]) -> tuple[str, ...]:
    """The templates with ``{name}`` filled in; empty if the name could widen a filter (``/ + #``, empty)."""
    if not name or any(c in name for c in "/+#\x00"):
        return ()
    return tuple(t.replace("{name}", name) for t in templates)


class AccessPolicy:
    """Deny-by-default topic authorisation built from grants; endpoints confined to their own topics.

    Args:
        grants: Rights of services and applications. Grants naming an endpoint are ignored for endpoints.
    """

    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self._read: dict[str, list[str]] = defaultdict(list)
        self._write: dict[str, list[str]] = defaultdict(list)
        for grant in grants:
            if not is_valid_filter(grant.pattern):
                continue
            if grant.read:
                self._read[grant.principal].append(grant.pattern)
            if grant.write:
                self._write[grant.principal].append(grant.pattern)

    def _patterns(self, principal: Principal, *, write: bool) -> tuple[str, ...]:
        if principal.kind is PrincipalKind.ENDPOINT:
            return endpoint_patterns(principal.name, ENDPOINT_PUBLISH if write else ENDPOINT_SUBSCRIBE)
        if principal.kind in (PrincipalKind.SERVICE, PrincipalKind.APPLICATION):
            table = self._write if write else self._read
            return tuple(table.get(principal.name, ()))
        return ()

    def may_publish(self, principal: Principal, topic: str) -> bool:
        """True if ``principal`` may publish to the topic name ``topic``."""
        return is_valid_topic(topic) and any(topic_matches(p, topic) for p in self._patterns(principal, write=True))

    def may_subscribe(self, principal: Principal, topic_filter: str) -> bool:
        """True if every topic ``topic_filter`` (plain or ``$share/...``) can match is readable by ``principal``."""
        return any(filter_covers(p, topic_filter) for p in self._patterns(principal, write=False))

    def may_receive(self, principal: Principal, topic: str) -> bool:
        """True if a message on ``topic`` may be delivered to ``principal`` (checked per message)."""
        return is_valid_topic(topic) and any(topic_matches(p, topic) for p in self._patterns(principal, write=False))


# -- grants of the platform's own services and of applications --------------------------------------------------


def ingest_grants(service_name: str = "ingest") -> list[Grant]:
    """The ingest service: read everything endpoints publish, write ``@ack/+`` (storage confirmations)."""
    reads = [t.replace("{name}", "+") for t in ENDPOINT_PUBLISH]
    grants = [Grant(service_name, pattern, read=True, write=False) for pattern in reads]
    grants.append(Grant(service_name, "@ack/+", read=False, write=True))
    return grants


def api_grants(service_name: str = "api") -> list[Grant]:
    """The HTTP API service: write ``@set/+/#`` (it checks the user's WRITE right itself before publishing)."""
    return [Grant(service_name, "@set/+/#", read=False, write=True)]


def grants_for_application(app: str, endpoint: str, level: EndpointPermission | int) -> list[Grant]:
    """MQTT grants of application ``app`` on ``endpoint`` for a cloud.iO endpoint permission level.

    READ or more reads the endpoint's data topics (:data:`ENDPOINT_DATA`); WRITE or more also writes
    ``@set/<endpoint>/#``. Below READ, or for an endpoint name that could widen a filter: no grant.
    """
    level = EndpointPermission(level)
    grants: list[Grant] = []
    if level >= EndpointPermission.READ:
        grants += [Grant(app, p, read=True, write=False) for p in endpoint_patterns(endpoint, ENDPOINT_DATA)]
    if level >= EndpointPermission.WRITE:
        grants += [Grant(app, p, read=False, write=True) for p in endpoint_patterns(endpoint, ("@set/{name}/#",))]
    return grants
