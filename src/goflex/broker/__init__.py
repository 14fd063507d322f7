"""The MQTT broker part: topic authorisation (pure ``acl``), Mosquitto configuration (``render``), revocation
(``revocation``) and the embedded broker (``embedded``, imported on its own)."""

from goflex.broker.acl import (
    AccessPolicy,
    EndpointPermission,
    Grant,
    Principal,
    PrincipalKind,
    api_grants,
    grants_for_application,
    ingest_grants,
    topic_matches,
)
from goflex.broker.render import RenderedConfig, load_grants, read_rendered, render_mosquitto

__all__ = [
    "AccessPolicy",
    "EndpointPermission",
    "Grant",
    "Principal",
    "PrincipalKind",
    "RenderedConfig",
    "api_grants",
    "grants_for_application",
    "ingest_grants",
    "load_grants",
    "read_rendered",
    "render_mosquitto",
    "topic_matches",
]
