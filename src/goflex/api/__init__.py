"""The cloud.iO-style HTTP API of goflex (``/api/v1``, FastAPI, OpenAPI at ``/api/v1/openapi.json``).

Usage::

    db = open_database(url); db.migrate()
    publisher = MqttSetPublisher(TransportSettings.from_files(broker_url, ca_file=..., cert_file=..., key_file=...),
                                 identity="api")
    app = create_app(db=db, publisher=publisher, clock=RealClock(), health_sources={"ingest": ingest.healthy})
    uvicorn.run(app, port=8080)

Every route declares one access rule (:mod:`goflex.api.access`); the app refuses to build otherwise.
"""

from goflex.api.access import (
    ADMIN,
    AUTHENTICATED,
    LOOPBACK_OR_ADMIN,
    PUBLIC,
    AccessKind,
    AccessRule,
    Caller,
    Identity,
    endpoint_permission,
    enforce_rules,
    require,
)
from goflex.api.app import access_rules, create_app
from goflex.api.context import API_PREFIX, DEFAULT_HISTORY_MAX, HealthSource
from goflex.api.errors import ApiError, ErrorCode, RouteWithoutRule
from goflex.api.publisher import MqttSetPublisher, SetPublisher, set_topic

__all__ = [
    "ADMIN",
    "API_PREFIX",
    "AUTHENTICATED",
    "DEFAULT_HISTORY_MAX",
    "LOOPBACK_OR_ADMIN",
    "PUBLIC",
    "AccessKind",
    "AccessRule",
    "ApiError",
    "Caller",
    "ErrorCode",
    "HealthSource",
    "Identity",
    "MqttSetPublisher",
    "RouteWithoutRule",
    "SetPublisher",
    "access_rules",
    "create_app",
    "endpoint_permission",
    "enforce_rules",
    "require",
    "set_topic",
]
