"""Who is connected and what they may do: the broker's view of identity and authorisation.

The broker knows a client only by its TLS client certificate: the subject CN is the name (MQTT user name and
client id, like Mosquitto's ``use_identity_as_username`` + ``use_username_as_clientid``) and the OU is the kind
(``endpoint``, ``service``, ``application``). Every decision is delegated to an :class:`Authorizer`, deny by
default; :class:`goflex.broker.acl.AccessPolicy` is the production one (see :mod:`.runner` for the adapter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PrincipalLike(Protocol):
    """Anything with a name and a kind (this module's :class:`Principal`, or goflex.broker.acl's)."""

    @property
    def name(self) -> str:
        """Certificate CN."""

    @property
    def kind(self) -> str:
        """Certificate OU: endpoint, service, application (or server)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client.

    Attributes:
        name: Certificate subject CN; also the MQTT user name and client id.
        kind: Certificate subject OU (empty if the certificate has none).
    """

    name: str
    kind: str


class Authorizer(Protocol):
    """Topic authorisation, asked by the broker for every publish, subscription and delivery."""

    def may_publish(self, principal: PrincipalLike, topic: str) -> bool:
        """True if ``principal`` may publish to the topic name ``topic``."""

    def may_subscribe(self, principal: PrincipalLike, topic_filter: str) -> bool:
        """True if ``principal`` may subscribe to ``topic_filter`` (plain, or ``$share/<group>/<filter>``)."""

    def may_receive(self, principal: PrincipalLike, topic: str) -> bool:
        """True if a message on ``topic`` may be delivered to ``principal``."""
