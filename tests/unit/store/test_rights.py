"""Access rights on SQLite: precedence, deny by default, one owner, passwords, broker grants."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

from goflex.common.clock import SimClock
from goflex.store import (
    Conflict,
    Database,
    ElementPermission,
    EndpointPermission,
    NotFound,
    ProcessRepository,
    RightsRepository,
    TopicGrant,
)
from goflex.store.schema import principal

P = EndpointPermission
E = ElementPermission
T0 = datetime(2026, 3, 1, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: real hashing is slow on purpose


@pytest.fixture
def rights(db: Database) -> RightsRepository:
    repo = RightsRepository(db, clock=SimClock(start=T0, speed=0), hasher=FAST)
    process = ProcessRepository(db, clock=SimClock(start=T0, speed=0))
    repo.create_user("owner", "owner-pw")
    for name in ("alice", "bob"):
        repo.create_user(name, f"{name}-pw")
    for n in (1, 2, 3):
        process.create_endpoint(f"goflex-dc-00{n}", "owner")
    return repo


def test_deny_by_default(rights: RightsRepository) -> None:
    assert rights.effective_permission("alice", "goflex-dc-001") is P.DENY
    assert rights.effective_permission("nobody", "goflex-dc-001") is P.DENY
    assert rights.effective_permission("alice", "no-such-endpoint") is P.DENY
    assert rights.effective_element_permission("alice", "goflex-dc-001", "n/o/a") is E.DENY


def test_highest_of_user_group_and_endpoint_group_grants_applies(rights: RightsRepository) -> None:
    rights.create_group("operators")
    rights.add_member("operators", "alice")
    rights.create_endpoint_group("sion-north")
    rights.add_to_endpoint_group("sion-north", ["goflex-dc-001", "goflex-dc-002"])

    rights.grant("goflex-dc-001", "alice", P.BROWSE)
    assert rights.effective_permission("alice", "goflex-dc-001") is P.BROWSE
    rights.grant_on_group("sion-north", "operators", P.READ)  # group grant on an endpoint group: higher
    assert rights.effective_permission("alice", "goflex-dc-001") is P.READ
    assert rights.effective_permission("alice", "goflex-dc-002") is P.READ
    assert rights.effective_permission("alice", "goflex-dc-003") is P.DENY
    rights.grant("goflex-dc-001", "operators", P.CONFIGURE)  # group grant on the endpoint: higher still
    assert rights.effective_permission("alice", "goflex-dc-001") is P.CONFIGURE
    rights.grant("goflex-dc-001", "alice", P.ACCESS)  # a lower own grant does not lower the result
    assert rights.effective_permission("alice", "goflex-dc-001") is P.CONFIGURE
    assert rights.effective_permission("bob", "goflex-dc-001") is P.DENY  # not a member
    assert rights.effective_permissions("alice", ["goflex-dc-001", "goflex-dc-003"]) == {
        "goflex-dc-001": P.CONFIGURE,
        "goflex-dc-003": P.DENY,
    }
    rights.remove_member("operators", "alice")
    assert rights.effective_permission("alice", "goflex-dc-001") is P.ACCESS
    rights.revoke("goflex-dc-001", "alice")
    assert rights.effective_permission("alice", "goflex-dc-001") is P.DENY


def test_disabled_users_hold_nothing_and_cannot_log_in(rights: RightsRepository) -> None:
    rights.grant("goflex-dc-001", "alice", P.WRITE)
    rights.set_enabled("alice", enabled=False)
    assert rights.effective_permission("alice", "goflex-dc-001") is P.DENY
    assert not rights.verify_password("alice", "alice-pw")


def test_exactly_one_owner_and_transfer(rights: RightsRepository) -> None:
    assert rights.owner("goflex-dc-001") == "owner"
    assert rights.effective_permission("owner", "goflex-dc-001") is P.OWN
    rights.grant("goflex-dc-001", "alice", P.OWN)  # transfers
    assert rights.owner("goflex-dc-001") == "alice"
    assert rights.effective_permission("alice", "goflex-dc-001") is P.OWN
    assert rights.effective_permission("owner", "goflex-dc-001") is P.GRANT
    with pytest.raises(Conflict, match="transfer"):
        rights.revoke("goflex-dc-001", "alice")
    with pytest.raises(Conflict):
        rights.delete_user("alice")
    rights.create_endpoint_group("all")
    with pytest.raises(Conflict, match="one owner"):
        rights.grant_on_group("all", "bob", P.OWN)


def test_unknown_names_are_not_found(rights: RightsRepository) -> None:
    with pytest.raises(NotFound):
        rights.grant("goflex-dc-001", "carol", P.READ)
    with pytest.raises(NotFound):
        rights.grant("no-such-endpoint", "alice", P.READ)
    with pytest.raises(NotFound):
        rights.add_member("no-group", "alice")
    with pytest.raises(NotFound):
        rights.add_to_endpoint_group("no-group", ["goflex-dc-001"])


def test_names_are_one_namespace(rights: RightsRepository) -> None:
    with pytest.raises(Conflict):
        rights.create_group("alice")
    with pytest.raises(Conflict):
        rights.create_application("bob", "ems")


def test_element_permissions_widen_per_path_prefix(rights: RightsRepository) -> None:
    rights.grant("goflex-dc-001", "alice", P.BROWSE)
    rights.grant_element("goflex-dc-001", "alice", "boiler-1/relay", E.WRITE)
    assert rights.effective_element_permission("alice", "goflex-dc-001", "boiler-1/relay/parameter") is E.WRITE
    assert rights.effective_element_permission("alice", "goflex-dc-001", "boiler-1/relay") is E.WRITE
    assert rights.effective_element_permission("alice", "goflex-dc-001", "boiler-1/relayX/parameter") is E.VIEW
    assert rights.effective_element_permission("alice", "goflex-dc-001", "meter/power/datapoint") is E.VIEW
    assert rights.effective_element_permission("owner", "goflex-dc-001", "meter/power/datapoint") is E.WRITE
    rights.grant("goflex-dc-002", "bob", P.READ)
    assert rights.effective_element_permission("bob", "goflex-dc-002", "meter/power/datapoint") is E.READ


def test_passwords_verify_and_never_leak(rights: RightsRepository, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user = rights.verify_password("alice", "alice-pw")
    assert user is not None
    assert user.name == "alice"
    assert not rights.verify_password("alice", "wrong")
    assert not rights.verify_password("nobody", "alice-pw")
    assert "alice-pw" not in caplog.text
    assert "$argon2" not in caplog.text
    assert "argon2" not in repr(rights.list_users())


def test_weak_hashes_are_upgraded_on_login(db: Database, rights: RightsRepository) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = RightsRepository(db, hasher=stronger)
    assert upgraded.verify_password("bob", "bob-pw")
    with db.transaction() as conn:
        stored = conn.scalar(
            principal.select().with_only_columns(principal.c.password_hash).where(principal.c.name == "bob")
        )
    assert stored is not None
    assert not stronger.check_needs_rehash(stored)
    assert upgraded.verify_password("bob", "bob-pw")


def test_users_groups_listing_and_admin_flag(rights: RightsRepository) -> None:
    rights.create_user("root", "root-pw", admin=True)
    rights.create_group("operators")
    rights.add_member("operators", "alice")
    rights.add_member("operators", "alice")  # idempotent
    users = {u.name: u for u in rights.list_users()}
    assert users["root"].admin is True
    assert users["alice"].groups == ("operators",)
    assert [(g.name, g.members) for g in rights.list_groups()] == [("operators", ("alice",))]
    rights.delete_group("operators")
    assert rights.list_groups() == []
    rights.delete_user("bob")
    assert rights.get_user("bob") is None


def test_topic_grants_for_the_broker(db: Database, rights: RightsRepository) -> None:
    rights.create_application("ems-sion", "ems")
    rights.create_application("foa", "foa")
    rights.create_application("retired", "ems")
    rights.create_group("flex-apps")
    rights.add_member("flex-apps", "foa")
    rights.create_endpoint_group("pilot")
    rights.add_to_endpoint_group("pilot", ["goflex-dc-001", "goflex-dc-002"])
    rights.grant("goflex-dc-001", "ems-sion", P.WRITE)
    rights.grant_on_group("pilot", "flex-apps", P.READ)
    rights.grant("goflex-dc-001", "alice", P.READ)  # users are not broker principals
    rights.grant("goflex-dc-003", "retired", P.READ)
    rights.set_enabled("retired", enabled=False)
    ProcessRepository(db).ban_endpoint("goflex-dc-002")
    assert rights.topic_grants() == [
        TopicGrant("ems-sion", "goflex-dc-001", P.WRITE),
        TopicGrant("foa", "goflex-dc-001", P.READ),
    ]
    assert [a.name for a in rights.list_applications()] == ["ems-sion", "foa", "retired"]
