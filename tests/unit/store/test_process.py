"""Process database: endpoint models, online state, last values, lifecycle (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from goflex.common.clock import SimClock
from goflex.store import (
    Conflict,
    Database,
    InvalidValue,
    LastValue,
    NotFound,
    ProcessRepository,
    ValueType,
)
from goflex.store.schema import principal

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EP = "goflex-dc-004"


@pytest.fixture
def repo(db: Database) -> ProcessRepository:
    return ProcessRepository(db, clock=SimClock(start=T0, speed=0))


def test_model_online_and_offline_are_recorded(repo: ProcessRepository) -> None:
    repo.upsert_endpoint_model(EP, '{"nodes": {}}', T0)
    repo.set_online(EP, T0)
    record = repo.get_endpoint(EP)
    assert record is not None
    assert (record.model_json, record.model_at, record.online, record.since) == ('{"nodes": {}}', T0, True, T0)
    repo.set_offline(EP, T0 + timedelta(minutes=5))
    record = repo.get_endpoint(EP)
    assert record is not None
    assert (record.online, record.since, record.last_seen) == (
        False,
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=5),
    )


def test_a_late_offline_does_not_undo_a_newer_online(repo: ProcessRepository) -> None:
    repo.set_online(EP, T0 + timedelta(seconds=10))
    repo.set_offline(EP, T0)  # the last will of the previous session, delivered late
    record = repo.get_endpoint(EP)
    assert record is not None
    assert record.online is True
    assert record.since == T0 + timedelta(seconds=10)


def test_an_older_model_does_not_replace_a_newer_one(repo: ProcessRepository) -> None:
    repo.upsert_endpoint_model(EP, '{"v": 2}', T0 + timedelta(hours=1))
    repo.upsert_endpoint_model(EP, '{"v": 1}', T0)
    record = repo.get_endpoint(EP)
    assert record is not None
    assert record.model_json == '{"v": 2}'


def test_last_values_keep_the_newest_whatever_the_arrival_order(repo: ProcessRepository) -> None:
    path = "powerMeter-1/wattsTotal/datapoint"
    newer = LastValue(EP, path, T0 + timedelta(seconds=5), 1500.0)
    older = LastValue(EP, path, T0, 900.0)
    assert repo.update_last_values([newer]) == 1
    assert repo.update_last_values([older]) == 0
    [stored] = repo.last_values(EP)
    assert (stored.time, stored.value, stored.type) == (newer.time, 1500.0, ValueType.NUMBER)
    # Within one batch, too.
    repo.update_last_values([LastValue(EP, path, T0 + timedelta(seconds=9), 1.0), older])
    assert repo.last_values(EP)[0].value == 1.0


def test_last_values_round_trip_every_type_and_filter_by_prefix(repo: ProcessRepository) -> None:
    rows = [
        LastValue(EP, "relay-1/switch/parameter", T0, True),
        LastValue(EP, "relay-1/switch/datapoint", T0, False),
        LastValue(EP, "meter/energy/datapoint", T0, 12_345_678_901_234_567_890),
        LastValue(EP, "meter/power/datapoint", T0, 5, ValueType.NUMBER),
        LastValue(EP, "meter/name/datapoint", T0, "E450"),
        LastValue(EP, "relay-10/switch/parameter", T0, True),
        LastValue("goflex-dc-005", "relay-1/switch/parameter", T0, False),
    ]
    repo.update_last_values(rows)
    relay = repo.last_values(EP, "relay-1")
    assert [(r.path, r.value) for r in relay] == [
        ("relay-1/switch/datapoint", False),
        ("relay-1/switch/parameter", True),
    ]
    meter = {r.path: r.value for r in repo.last_values(EP, "meter/")}
    assert meter == {
        "meter/energy/datapoint": 12_345_678_901_234_567_890,
        "meter/name/datapoint": "E450",
        "meter/power/datapoint": 5.0,
    }
    assert isinstance(meter["meter/power/datapoint"], float)
    assert isinstance(repo.last_values(EP, "relay-1/switch/parameter")[0].value, bool)


def test_invalid_values_are_refused(repo: ProcessRepository) -> None:
    with pytest.raises(InvalidValue, match="finite"):
        repo.update_last_values([LastValue(EP, "a/b/c", T0, float("nan"))])
    with pytest.raises(InvalidValue, match="Integer"):
        repo.update_last_values([LastValue(EP, "a/b/c", T0, 1.5, ValueType.INTEGER)])


def test_last_seen_follows_updates(repo: ProcessRepository) -> None:
    repo.set_online(EP, T0)
    repo.update_last_values([LastValue(EP, "a/b/c", T0 + timedelta(minutes=1), 1)])
    record = repo.get_endpoint(EP)
    assert record is not None
    assert record.last_seen == T0 + timedelta(minutes=1)


def _add_user(db: Database, name: str) -> None:
    with db.transaction(write=True) as conn:
        conn.execute(principal.insert().values(name=name, kind="user", created_at=T0))


def test_create_list_and_ban(db: Database, repo: ProcessRepository) -> None:
    _add_user(db, "alice")
    created = repo.create_endpoint("goflex-dc-001", "alice")
    assert (created.owner, created.created_at, created.online, created.banned) == ("alice", T0, False, False)
    repo.create_endpoint("goflex-dc-002", None)
    repo.create_endpoint("other_1", None)
    repo.set_online("goflex-dc-002", T0)
    with pytest.raises(Conflict):
        repo.create_endpoint("goflex-dc-001", None)
    with pytest.raises(NotFound, match="bob"):
        repo.create_endpoint("goflex-dc-003", "bob")
    assert [e.name for e in repo.list_endpoints(prefix="goflex-dc-")] == ["goflex-dc-001", "goflex-dc-002"]
    assert [e.name for e in repo.list_endpoints(online=True)] == ["goflex-dc-002"]
    assert [e.name for e in repo.list_endpoints(after="goflex-dc-001", limit=1)] == ["goflex-dc-002"]
    assert [e.name for e in repo.list_endpoints(prefix="other%")] == []
    assert repo.is_banned("goflex-dc-001") is False
    repo.ban_endpoint("goflex-dc-001")
    assert repo.is_banned("goflex-dc-001") is True
    repo.ban_endpoint("goflex-dc-001", banned=False)
    assert repo.is_banned("goflex-dc-001") is False
    assert repo.is_banned("never-seen") is False
    with pytest.raises(NotFound):
        repo.ban_endpoint("never-seen")
    assert repo.get_endpoint("never-seen") is None


def test_naive_datetimes_are_refused(repo: ProcessRepository) -> None:
    with pytest.raises(InvalidValue, match="naive"):
        repo.set_online(EP, datetime(2026, 1, 1))  # noqa: DTZ001  (the point of the test)
