"""Endpoints (list, create, ban), permissions (grant, revoke), users and groups (cloudio.md, Back-end API).

Decisions:

* ``POST /endpoints`` is for administrators. Provisioning an endpoint also issues its certificate, which is an
  operator's act in the pilot (one gateway per contracted house); an administrator may name the owner
  (``ownerName``), who gets ``OWN``; without it the administrator owns the endpoint.
* ``PUT /endpoints/{endpoint}/grant`` needs ``GRANT``. Nobody grants more than they hold, and ``OWN`` can only be
  handed on by the owner (or an administrator): the store then moves ownership, keeping exactly one owner.
* Users and groups are administered by administrators only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from goflex.api.access import ADMIN, AUTHENTICATED, Caller, backend, endpoint_permission, require
from goflex.api.context import API_PREFIX, services
from goflex.api.errors import ApiError, ErrorCode, invalid, not_found
from goflex.api.schemas import (
    Done,
    EndpointCreate,
    EndpointOut,
    GrantOut,
    GroupCreate,
    GroupOut,
    MemberAdd,
    UserCreate,
    UserOut,
    problems,
)
from goflex.cloudio.errors import InvalidName
from goflex.cloudio.model import validate_name
from goflex.store import EndpointPermission, EndpointRecord

router = APIRouter(prefix=API_PREFIX)

P = EndpointPermission
_404 = problems(e404="not found, or not visible to the caller")
_409 = problems(e409="conflicts with what is stored")
_404_409 = problems(e404="not found, or not visible to the caller", e409="conflicts with what is stored")
_LIST_LIMIT = 1000


# ------------------------------------------------------------------------------------------------- endpoints
@router.get("/endpoints", summary="Endpoints the caller may at least browse", tags=["endpoints"])
def list_endpoints(
    request: Request,
    caller: Annotated[Caller, require(AUTHENTICATED)],
    prefix: Annotated[str | None, Query(description="only names starting with this")] = None,
    after: Annotated[str | None, Query(description="page on after this name")] = None,
    limit: Annotated[int, Query(ge=1, le=_LIST_LIMIT)] = _LIST_LIMIT,
) -> list[EndpointOut]:
    """Ordered by name; page with ``after`` = the last name of the previous page."""
    svc = services(request)
    identity = caller.identity
    assert identity is not None
    out: list[EndpointOut] = []
    cursor = after
    while len(out) < limit:
        page = svc.process.list_endpoints(prefix=prefix, after=cursor, limit=_LIST_LIMIT)
        if not page:
            break
        levels = (
            dict.fromkeys((r.name for r in page), P.OWN)
            if identity.admin
            else svc.rights.effective_permissions(identity.name, [r.name for r in page])
        )
        out.extend(_endpoint_out(r, levels[r.name]) for r in page if levels.get(r.name, P.DENY) >= P.BROWSE)
        cursor = page[-1].name
    return out[:limit]


def _endpoint_out(record: EndpointRecord, level: EndpointPermission) -> EndpointOut:
    return EndpointOut(name=record.name, online=record.online, banned=record.banned, permission=level.name)


@router.post(
    "/endpoints",
    summary="Create an endpoint (administrators)",
    status_code=201,
    responses=problems(e409="an endpoint of that name exists", e422="invalid name"),
    tags=["endpoints"],
)
def create_endpoint(body: EndpointCreate, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> EndpointOut:
    """The owner (``ownerName``, default: the caller) gets ``OWN``."""
    try:
        validate_name(body.name, what="endpoint")
    except InvalidName as exc:
        raise invalid("name", exc.problem) from exc
    owner = body.owner or caller.name
    record = services(request).process.create_endpoint(body.name, owner)
    return _endpoint_out(record, P.OWN)


@router.post(
    "/endpoints/{endpoint}/ban",
    summary="Ban an endpoint: its data is refused and @set to it is blocked",
    responses=_404,
    tags=["endpoints"],
)
def ban_endpoint(
    endpoint: str, request: Request, caller: Annotated[Caller, require(endpoint_permission(P.CONFIGURE))]
) -> Done:
    """Needs ``CONFIGURE``. Undo with ``DELETE /endpoints/{endpoint}/ban``."""
    _set_ban(request, endpoint, banned=True)
    return Done(at=services(request).clock.now())


@router.delete("/endpoints/{endpoint}/ban", summary="Lift the ban of an endpoint", responses=_404, tags=["endpoints"])
def unban_endpoint(
    endpoint: str, request: Request, caller: Annotated[Caller, require(endpoint_permission(P.CONFIGURE))]
) -> Done:
    """Needs ``CONFIGURE``."""
    _set_ban(request, endpoint, banned=False)
    return Done(at=services(request).clock.now())


def _set_ban(request: Request, endpoint: str, *, banned: bool) -> None:
    svc = services(request)
    if svc.process.get_endpoint(endpoint) is None:
        raise not_found("endpoint", endpoint)
    svc.process.ban_endpoint(endpoint, banned=banned)


# ----------------------------------------------------------------------------------------------- permissions
def _principal(user: str | None, group: str | None) -> str:
    if (user is None) == (group is None):
        raise invalid("userName", "give exactly one of userName and groupName")
    return user if user is not None else group  # type: ignore[return-value]


def _permission(text: str) -> EndpointPermission:
    try:
        return EndpointPermission[text.strip().upper()]
    except KeyError:
        names = ", ".join(p.name for p in EndpointPermission)
        raise invalid("permission", f"{text!r} is not one of {names}") from None


@router.put(
    "/endpoints/{endpoint}/grant",
    summary="Grant a permission on an endpoint to a user or group",
    responses=_404_409,
    tags=["permissions"],
)
def grant(
    *,
    endpoint: str,
    request: Request,
    caller: Annotated[Caller, require(endpoint_permission(P.GRANT))],
    permission: Annotated[str, Query(description="DENY, ACCESS, BROWSE, READ, WRITE, CONFIGURE, GRANT or OWN")],
    user_name: Annotated[str | None, Query(alias="userName")] = None,
    group_name: Annotated[str | None, Query(alias="groupName")] = None,
) -> GrantOut:
    """Needs ``GRANT``; nobody grants above their own level; ``OWN`` moves ownership (one owner)."""
    principal = _principal(user_name, group_name)
    level = _permission(permission)
    have = caller.permission or P.DENY
    if level > have or (level is P.OWN and have is not P.OWN):
        raise ApiError(403, ErrorCode.FORBIDDEN, f"cannot grant {level.name}: you hold {have.name} on {endpoint!r}")
    svc = services(request)
    if svc.process.get_endpoint(endpoint) is None:
        raise not_found("endpoint", endpoint)
    if level is P.OWN:
        svc.rights.transfer_ownership(endpoint, principal)
    else:
        svc.rights.grant(endpoint, principal, level)
    return GrantOut(endpoint=endpoint, principal=principal, permission=level.name)


@router.delete(
    "/endpoints/{endpoint}/grant",
    summary="Revoke a user's or group's permission on an endpoint",
    responses=_404_409,
    tags=["permissions"],
)
def revoke(
    endpoint: str,
    request: Request,
    caller: Annotated[Caller, require(endpoint_permission(P.GRANT))],
    user_name: Annotated[str | None, Query(alias="userName")] = None,
    group_name: Annotated[str | None, Query(alias="groupName")] = None,
) -> Done:
    """Needs ``GRANT``. The owner's ``OWN`` cannot be revoked (hand it on with a grant of ``OWN`` instead)."""
    principal = _principal(user_name, group_name)
    svc = services(request)
    if svc.process.get_endpoint(endpoint) is None:
        raise not_found("endpoint", endpoint)
    svc.rights.revoke(endpoint, principal)
    return Done(at=svc.clock.now())


# ---------------------------------------------------------------------------------------------- users, groups
@router.post("/users", summary="Create a user", status_code=201, responses=_409, tags=["users"])
def create_user(body: UserCreate, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> UserOut:
    """The password is stored as an argon2 hash and never logged or returned."""
    svc = services(request)
    svc.rights.create_user(body.name, body.password, admin=body.admin)
    return UserOut(name=body.name, admin=body.admin, groups=[])


@router.get("/users", summary="List users", tags=["users"])
def list_users(request: Request, caller: Annotated[Caller, require(ADMIN)]) -> list[UserOut]:
    """Every user with its groups."""
    return [UserOut(name=u.name, admin=u.admin, groups=list(u.groups)) for u in services(request).rights.list_users()]


@router.delete("/users/{name}", summary="Delete a user", responses=_404, tags=["users"])
def delete_user(name: str, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> Done:
    """Its grants go with it; a user who still owns endpoints cannot be deleted (409)."""
    svc = services(request)
    svc.rights.delete_user(name)
    backend(request).forget(name)
    return Done(at=svc.clock.now())


@router.post("/groups", summary="Create a group", status_code=201, responses=_409, tags=["groups"])
def create_group(body: GroupCreate, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> GroupOut:
    """An empty group."""
    services(request).rights.create_group(body.name)
    return GroupOut(name=body.name, members=[])


@router.get("/groups", summary="List groups with their members", tags=["groups"])
def list_groups(request: Request, caller: Annotated[Caller, require(ADMIN)]) -> list[GroupOut]:
    """Every group."""
    return [GroupOut(name=g.name, members=list(g.members)) for g in services(request).rights.list_groups()]


@router.post("/groups/{group}/members", summary="Add a user to a group", responses=_404_409, tags=["groups"])
def add_member(group: str, body: MemberAdd, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> Done:
    """The user gets what the group is granted."""
    svc = services(request)
    svc.rights.add_member(group, body.user)
    return Done(at=svc.clock.now())


@router.delete("/groups/{group}", summary="Delete a group", responses=_404, tags=["groups"])
def delete_group(group: str, request: Request, caller: Annotated[Caller, require(ADMIN)]) -> Done:
    """Its grants go with it; its members stay."""
    svc = services(request)
    svc.rights.delete_group(group)
    return Done(at=svc.clock.now())
