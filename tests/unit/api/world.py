"""The seeded world of the API tests, shared by the unit tests (SQLite) and the integration tests (PostgreSQL).

The world: administrator ``root``; ``alice`` owns ``goflex-dc-001`` (a Direct Control house); ``carol`` may READ
it; ``dave`` may only BROWSE it; ``erin`` has ACCESS (below BROWSE: it must stay invisible to her); ``bob`` has
nothing. ``goflex-dc-002`` is owned by root and visible to nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from goflex.cloudio.messages import encode_endpoint
from goflex.cloudio.model import (
    Attribute,
    AttributePath,
    AttributeType,
    Constraint,
    EndpointModel,
    attr,
    endpoint,
    node,
    obj,
)
from goflex.store import (
    Database,
    EndpointPermission,
    HistoryRepository,
    HistoryRow,
    LastValue,
    ProcessRepository,
    RightsRepository,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EP1 = "goflex-dc-001"
EP2 = "goflex-dc-002"
MISSING = "goflex-dc-999"
REMOTE = ("203.0.113.7", 40000)  # a documentation address: not loopback
PASSWORD = {name: f"{name}-password-1" for name in ("root", "alice", "bob", "carol", "dave", "erin")}
POWER = "powerMeter-1/wattsTotal/datapoint"
# Cheap argon2 parameters: the tests check who gets in, not the cost of a guess (production uses the defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def house(name: str) -> EndpointModel:
    """A small Direct Control house in the names of seed Appendix 4."""
    C, T = Constraint, AttributeType  # noqa: N806 - the model DSL reads best with short names
    return endpoint(
        name,
        {
            "powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER))}),
            "gateway": node(
                {
                    "relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN)),
                    "relay1Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, value=False)),
                    "boiler": obj(
                        objects={"setpoint": obj(parameter=attr(C.SETPOINT, T.NUMBER, value=55.0))},
                        mode=attr(C.PARAMETER, T.STRING, value="auto"),
                        cycles=attr(C.PARAMETER, T.INTEGER, value=3),
                    ),
                    "serial": obj(datapoint=attr(C.STATIC, T.STRING, value="SN-1")),
                }
            ),
        },
    )


@dataclass
class FakePublisher:
    """Records every @set instead of sending it (the MQTT side has its own integration test)."""

    calls: list[tuple[AttributePath, Attribute]] = field(default_factory=list)

    async def publish_set(self, path: AttributePath, attribute: Attribute) -> None:
        self.calls.append((path, attribute))


def seed(db: Database) -> None:
    """Users, endpoints, grants, models, last values and a day of history."""
    rights = RightsRepository(db, hasher=FAST_HASHER)
    process = ProcessRepository(db)
    history = HistoryRepository(db)
    rights.create_user("root", PASSWORD["root"], admin=True)
    for name in ("alice", "bob", "carol", "dave", "erin"):
        rights.create_user(name, PASSWORD[name])
    process.create_endpoint(EP1, "alice")
    process.create_endpoint(EP2, "root")
    rights.grant(EP1, "carol", EndpointPermission.READ)
    rights.grant(EP1, "dave", EndpointPermission.BROWSE)
    rights.grant(EP1, "erin", EndpointPermission.ACCESS)
    for name in (EP1, EP2):
        process.upsert_endpoint_model(name, encode_endpoint(house(name)).decode(), NOW - timedelta(days=2))
        process.set_online(name, NOW - timedelta(days=2))
    process.update_last_values([LastValue(EP1, POWER, NOW - timedelta(minutes=1), 1234.5)])
    start = NOW - timedelta(hours=2)
    rows = [HistoryRow(EP1, f"{EP1}/{POWER}", start + timedelta(minutes=m), float(m), seq=m) for m in range(0, 120, 5)]
    history.write_batch(rows)


def client_for(app: FastAPI, peer: tuple[str, int] = REMOTE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url="http://api")


def auth(name: str) -> tuple[str, str]:
    return name, PASSWORD[name]
