"""SQL behind effective permissions: the highest grant per endpoint for a set of principals."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from goflex.store.permissions import EndpointPermission
from goflex.store.schema import endpoint, endpoint_grant, endpoint_group_grant, endpoint_group_member, group_member


def groups_of(conn: sa.Connection, principal_id: int) -> list[int]:
    """Ids of the groups ``principal_id`` belongs to."""
    query = sa.select(group_member.c.group_id).where(group_member.c.member_id == principal_id)
    return [int(g) for g in conn.scalars(query)]


def endpoint_levels(conn: sa.Connection, ids: Sequence[int], endpoints: Sequence[str] | None) -> dict[str, int]:
    """Highest level per endpoint held by any of ``ids``: own grants, endpoint-group grants, ownership.

    Args:
        conn: an open connection.
        ids: principal ids (a user or application and its groups).
        endpoints: only these endpoints; ``None`` for all.
    """
    direct = sa.select(endpoint_grant.c.endpoint.label("endpoint"), endpoint_grant.c.level.label("level")).where(
        endpoint_grant.c.principal_id.in_(ids)
    )
    via_group = (
        sa.select(endpoint_group_member.c.endpoint.label("endpoint"), endpoint_group_grant.c.level.label("level"))
        .join(endpoint_group_grant, endpoint_group_grant.c.group_id == endpoint_group_member.c.group_id)
        .where(endpoint_group_grant.c.principal_id.in_(ids))
    )
    owned = sa.select(
        endpoint.c.name.label("endpoint"), sa.literal(int(EndpointPermission.OWN), sa.SmallInteger).label("level")
    ).where(endpoint.c.owner_id.in_(ids))
    if endpoints is not None:
        direct = direct.where(endpoint_grant.c.endpoint.in_(endpoints))
        via_group = via_group.where(endpoint_group_member.c.endpoint.in_(endpoints))
        owned = owned.where(endpoint.c.name.in_(endpoints))
    union = sa.union_all(direct, via_group, owned).subquery()
    query = sa.select(union.c.endpoint, sa.func.max(union.c.level)).group_by(union.c.endpoint)
    return {str(name): int(level) for name, level in conn.execute(query)}
