"""Endpoints, grants, users and groups through the API, as an operator and a prosumer would use them."""

from __future__ import annotations

import httpx

from tests.unit.api.world import EP1, EP2, auth


async def names(client: httpx.AsyncClient, user: str) -> list[str]:
    response = await client.get("/api/v1/endpoints", auth=auth(user))
    assert response.status_code == 200
    return [e["name"] for e in response.json()]


async def test_the_endpoint_list_shows_only_what_the_caller_may_browse(client: httpx.AsyncClient) -> None:
    assert await names(client, "root") == [EP1, EP2]
    assert await names(client, "alice") == [EP1]
    assert await names(client, "dave") == [EP1]
    assert await names(client, "erin") == []  # ACCESS is below BROWSE
    assert await names(client, "bob") == []
    listed = (await client.get("/api/v1/endpoints", auth=auth("alice"))).json()[0]
    assert listed == {"name": EP1, "online": True, "banned": False, "permission": "OWN"}


async def test_an_admin_creates_an_endpoint_for_a_prosumer_who_then_owns_it(client: httpx.AsyncClient) -> None:
    body = {"name": "goflex-dc-003", "ownerName": "bob"}
    created = await client.post("/api/v1/endpoints", json=body, auth=auth("root"))
    assert created.status_code == 201
    assert await names(client, "bob") == ["goflex-dc-003"]
    again = await client.post("/api/v1/endpoints", json=body, auth=auth("root"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_endpoint_names_are_checked_and_only_admins_create(client: httpx.AsyncClient) -> None:
    bad = await client.post("/api/v1/endpoints", json={"name": "ep/+"}, auth=auth("root"))
    assert bad.status_code == 422
    assert bad.json()["field"] == "name"
    denied = await client.post("/api/v1/endpoints", json={"name": "goflex-dc-004"}, auth=auth("alice"))
    assert denied.status_code == 403


async def test_granting_read_lets_a_user_see_the_data_and_revoking_hides_it_again(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/endpoints/{EP1}/grant"
    granted = await client.put(url, params={"userName": "bob", "permission": "read"}, auth=auth("alice"))
    assert granted.json() == {"endpoint": EP1, "principal": "bob", "permission": "READ"}
    assert (await client.get(f"/api/v1/data/{EP1}", auth=auth("bob"))).status_code == 200
    revoked = await client.delete(url, params={"userName": "bob"}, auth=auth("alice"))
    assert revoked.status_code == 200
    assert (await client.get(f"/api/v1/data/{EP1}", auth=auth("bob"))).status_code == 404


async def test_group_grants_reach_members(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/groups", json={"name": "operators"}, auth=auth("root"))).status_code == 201
    added = await client.post("/api/v1/groups/operators/members", json={"userName": "bob"}, auth=auth("root"))
    assert added.status_code == 200
    url = f"/api/v1/endpoints/{EP1}/grant"
    await client.put(url, params={"groupName": "operators", "permission": "BROWSE"}, auth=auth("alice"))
    assert await names(client, "bob") == [EP1]
    groups = (await client.get("/api/v1/groups", auth=auth("root"))).json()
    assert {"name": "operators", "members": ["bob"]} in groups


async def test_nobody_grants_more_than_they_hold_and_own_moves_ownership(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/endpoints/{EP1}/grant"
    await client.put(url, params={"userName": "carol", "permission": "GRANT"}, auth=auth("alice"))
    too_much = await client.put(url, params={"userName": "bob", "permission": "OWN"}, auth=auth("carol"))
    assert too_much.status_code == 403
    assert "OWN" in too_much.json()["detail"]
    moved = await client.put(url, params={"userName": "carol", "permission": "OWN"}, auth=auth("alice"))
    assert moved.status_code == 200
    listed = {e["name"]: e["permission"] for e in (await client.get("/api/v1/endpoints", auth=auth("alice"))).json()}
    assert listed == {EP1: "GRANT"}  # the previous owner keeps GRANT (store rule: one owner)


async def test_the_owner_cannot_be_revoked(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/endpoints/{EP1}/grant"
    response = await client.delete(url, params={"userName": "alice"}, auth=auth("root"))
    assert response.status_code == 409
    assert "owns" in response.json()["detail"]


async def test_grant_parameters_are_checked(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/endpoints/{EP1}/grant"
    both = await client.put(url, params={"userName": "bob", "groupName": "x", "permission": "READ"}, auth=auth("alice"))
    assert both.status_code == 422
    unknown = await client.put(url, params={"userName": "bob", "permission": "ADMIN"}, auth=auth("alice"))
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "permission"
    nobody = await client.put(url, params={"userName": "zed", "permission": "READ"}, auth=auth("alice"))
    assert nobody.status_code == 404


async def test_ban_needs_configure_and_blocks_set(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"/api/v1/endpoints/{EP1}/ban", auth=auth("carol"))).status_code == 403
    assert (await client.post(f"/api/v1/endpoints/{EP1}/ban", auth=auth("alice"))).status_code == 200
    listed = (await client.get("/api/v1/endpoints", auth=auth("alice"))).json()
    assert listed[0]["banned"] is True
    put = await client.put(f"/api/v1/data/{EP1}/gateway/boiler/mode", params={"value": "eco"}, auth=auth("alice"))
    assert put.status_code == 409
    assert "banned" in put.json()["detail"]
    assert (await client.delete(f"/api/v1/endpoints/{EP1}/ban", auth=auth("alice"))).status_code == 200


async def test_users_are_administered_by_admins_and_never_show_passwords(client: httpx.AsyncClient) -> None:
    body = {"name": "frank", "password": "frank-password-1"}
    assert (await client.post("/api/v1/users", json=body, auth=auth("alice"))).status_code == 403
    assert (await client.post("/api/v1/users", json=body, auth=auth("root"))).status_code == 201
    assert (await client.get("/api/v1/endpoints", auth=("frank", "frank-password-1"))).status_code == 200
    listing = await client.get("/api/v1/users", auth=auth("root"))
    assert "password" not in listing.text
    assert {"name": "frank", "admin": False, "groups": []} in listing.json()
    assert (await client.delete("/api/v1/users/frank", auth=auth("root"))).status_code == 200
    assert (await client.get("/api/v1/endpoints", auth=("frank", "frank-password-1"))).status_code == 401


async def test_a_short_password_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/users", json={"name": "gina", "password": "short"}, auth=auth("root"))
    assert response.status_code == 422
    assert response.json()["field"] == "password"


async def test_a_user_who_owns_endpoints_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/users/alice", auth=auth("root"))
    assert response.status_code == 409


async def test_deleting_a_group_removes_what_it_granted(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/groups", json={"name": "viewers"}, auth=auth("root"))
    await client.post("/api/v1/groups/viewers/members", json={"userName": "bob"}, auth=auth("root"))
    await client.put(
        f"/api/v1/endpoints/{EP1}/grant", params={"groupName": "viewers", "permission": "READ"}, auth=auth("alice")
    )
    assert await names(client, "bob") == [EP1]
    assert (await client.delete("/api/v1/groups/viewers", auth=auth("root"))).status_code == 200
    assert await names(client, "bob") == []
