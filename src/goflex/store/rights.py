"""Access-rights database: users, groups, applications, grants and effective permissions.

Rules (cloudio.md, Security; the semantics follow cloud.iO's and FlexMeasures' "empty means deny"):

* the effective endpoint permission of a user is the highest of: its own grants on the endpoint, grants on any
  endpoint group containing the endpoint, the same for every group the user belongs to, and ``OWN`` if the
  user (or one of its groups) is the endpoint's owner; ``DENY`` when nothing applies or the user is disabled;
* element permissions (per attribute-path prefix) add to what the endpoint permission implies
  (:func:`~goflex.store.permissions.element_level_of`); the highest applies, so they can widen, never narrow;
* exactly one owner per endpoint, kept in ``endpoint.owner_id`` (so two owners cannot even be represented).
  Granting ``OWN`` *transfers* ownership: the previous owner keeps ``GRANT``. The owner cannot be revoked, and a
  principal owning endpoints cannot be deleted (:class:`Conflict`): hand ownership on first.

Passwords are hashed with argon2id (argon2-cffi ``PasswordHasher``); neither passwords nor hashes are logged,
returned or put in exception messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from goflex.common.clock import Clock, RealClock
from goflex.store.database import Database
from goflex.store.errors import Conflict, NotFound
from goflex.store.permissions import (
    Application,
    ElementPermission,
    EndpointPermission,
    Group,
    PrincipalKind,
    TopicGrant,
    User,
    element_level_of,
)
from goflex.store.rights_query import endpoint_levels, groups_of
from goflex.store.schema import (
    element_grant,
    endpoint,
    endpoint_grant,
    endpoint_group,
    endpoint_group_grant,
    endpoint_group_member,
    group_member,
    principal,
)
from goflex.store.sql import dialect_insert, is_under

log = logging.getLogger(__name__)

OWN = EndpointPermission.OWN


class RightsRepository:
    """Users, groups, applications, endpoint groups, grants; effective permissions; password checks."""

    def __init__(self, db: Database, *, clock: Clock | None = None, hasher: PasswordHasher | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or RealClock()
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # ----------------------------------------------------------------------------------------------- principals
    def create_user(self, name: str, password: str, *, admin: bool = False) -> User:
        """Create an enabled user.

        Raises:
            Conflict: the name is taken (by a user, group or application).
        """
        self._create(name, PrincipalKind.USER, password_hash=self._hasher.hash(password), admin=admin)
        return User(name, admin=admin, enabled=True)

    def create_group(self, name: str) -> Group:
        """Create an empty group. Raises :class:`Conflict` if the name is taken."""
        self._create(name, PrincipalKind.GROUP)
        return Group(name)

    def create_application(self, name: str, kind: str, password: str | None = None) -> Application:
        """Register an application or service (certificate CN = ``name``; a password is optional).

        Raises:
            Conflict: the name is taken.
        """
        hashed = None if password is None else self._hasher.hash(password)
        self._create(name, PrincipalKind.APPLICATION, password_hash=hashed, application_kind=kind)
        return Application(name, kind, enabled=True)

    def _create(self, name: str, kind: PrincipalKind, **values: object) -> None:
        with self._db.transaction(write=True) as conn:
            if conn.scalar(sa.select(principal.c.id).where(principal.c.name == name)) is not None:
                raise Conflict(f"the name {name!r} is taken")
            conn.execute(principal.insert().values(name=name, kind=kind.value, created_at=self._clock.now(), **values))

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's or application's password. Raises :class:`NotFound`."""
        self._update(name, password_hash=self._hasher.hash(password))

    def set_enabled(self, name: str, *, enabled: bool) -> None:
        """Enable or disable a principal. Raises :class:`NotFound`."""
        self._update(name, enabled=enabled)

    def _update(self, name: str, **values: object) -> None:
        with self._db.transaction(write=True) as conn:
            result = conn.execute(principal.update().where(principal.c.name == name).values(**values))
            if result.rowcount == 0:
                raise NotFound("principal", name)

    def delete_user(self, name: str) -> None:
        """Delete a user and its grants. Raises :class:`NotFound`, or :class:`Conflict` if it owns endpoints."""
        self._delete(name, PrincipalKind.USER)

    def delete_group(self, name: str) -> None:
        """Delete a group, its memberships and grants. Raises :class:`NotFound` or :class:`Conflict` (owner)."""
        self._delete(name, PrincipalKind.GROUP)

    def delete_application(self, name: str) -> None:
        """Delete an application and its grants. Raises :class:`NotFound` or :class:`Conflict` (owner)."""
        self._delete(name, PrincipalKind.APPLICATION)

    def _delete(self, name: str, kind: PrincipalKind) -> None:
        with self._db.transaction(write=True) as conn:
            pid = self._id(conn, name, kind)
            owned = conn.scalars(sa.select(endpoint.c.name).where(endpoint.c.owner_id == pid).limit(3)).all()
            if owned:
                raise Conflict(f"{kind.value} {name!r} owns endpoints ({', '.join(owned)}...): transfer them first")
            conn.execute(principal.delete().where(principal.c.id == pid))

    def add_member(self, group: str, member: str) -> None:
        """Put a user or application into a group (idempotent). Raises :class:`NotFound`."""
        with self._db.transaction(write=True) as conn:
            gid = self._id(conn, group, PrincipalKind.GROUP)
            mid = self._id(conn, member, PrincipalKind.USER, PrincipalKind.APPLICATION)
            insert = dialect_insert(self._db, group_member).values(group_id=gid, member_id=mid)
            conn.execute(insert.on_conflict_do_nothing())

    def remove_member(self, group: str, member: str) -> None:
        """Take a member out of a group (no-op if it was not in). Raises :class:`NotFound`."""
        with self._db.transaction(write=True) as conn:
            gid = self._id(conn, group, PrincipalKind.GROUP)
            mid = self._id(conn, member, PrincipalKind.USER, PrincipalKind.APPLICATION)
            conn.execute(group_member.delete().where(group_member.c.group_id == gid, group_member.c.member_id == mid))

    def get_user(self, name: str) -> User | None:
        """The user ``name``, or ``None``."""
        found = self.list_users(names=[name])
        return found[0] if found else None

    def list_users(self, *, names: Sequence[str] | None = None) -> list[User]:
        """Users ordered by name, with their groups."""
        query = sa.select(principal.c.id, principal.c.name, principal.c.admin, principal.c.enabled).where(
            principal.c.kind == PrincipalKind.USER.value
        )
        if names is not None:
            query = query.where(principal.c.name.in_(list(names)))
        with self._db.transaction() as conn:
            rows = conn.execute(query.order_by(principal.c.name)).all()
            memberships = self._memberships(conn)
        return [User(r.name, bool(r.admin), bool(r.enabled), tuple(sorted(memberships.get(r.id, ())))) for r in rows]

    def list_groups(self) -> list[Group]:
        """Groups ordered by name, with their members (sorted)."""
        member = principal.alias("member")
        query = (
            sa.select(principal.c.name, member.c.name)
            .select_from(
                principal.outerjoin(group_member, group_member.c.group_id == principal.c.id).outerjoin(
                    member, member.c.id == group_member.c.member_id
                )
            )
            .where(principal.c.kind == PrincipalKind.GROUP.value)
        )
        groups: dict[str, list[str]] = {}
        with self._db.transaction() as conn:
            for group, name in conn.execute(query):
                groups.setdefault(group, [])
                if name is not None:
                    groups[group].append(name)
        return [Group(g, tuple(sorted(m))) for g, m in sorted(groups.items())]

    def list_applications(self) -> list[Application]:
        """Applications ordered by name."""
        query = (
            sa.select(principal.c.name, principal.c.application_kind, principal.c.enabled)
            .where(principal.c.kind == PrincipalKind.APPLICATION.value)
            .order_by(principal.c.name)
        )
        with self._db.transaction() as conn:
            return [Application(n, k or "", bool(e)) for n, k, e in conn.execute(query)]

    @staticmethod
    def _memberships(conn: sa.Connection) -> dict[int, list[str]]:
        query = sa.select(group_member.c.member_id, principal.c.name).join(
            principal, principal.c.id == group_member.c.group_id
        )
        out: dict[int, list[str]] = {}
        for mid, group in conn.execute(query):
            out.setdefault(mid, []).append(group)
        return out

    @staticmethod
    def _id(conn: sa.Connection, name: str, *kinds: PrincipalKind) -> int:
        query = sa.select(principal.c.id).where(principal.c.name == name)
        if kinds:
            query = query.where(principal.c.kind.in_([k.value for k in kinds]))
        pid = conn.scalar(query)
        if pid is None:
            raise NotFound("/".join(k.value for k in kinds) or "principal", name)
        return int(pid)

    # ------------------------------------------------------------------------------------------------ passwords
    def verify_password(self, name: str, password: str) -> User | None:
        """Check a user's password; the user (truthy) if it matches and the user is enabled, else ``None``.

        Takes about the same time whether or not the user exists (an unknown name is checked against a dummy
        hash). A hash made with weaker parameters than the current ones is upgraded on success.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                sa.select(principal.c.password_hash, principal.c.enabled).where(
                    principal.c.name == name, principal.c.kind == PrincipalKind.USER.value
                )
            ).one_or_none()
        stored = row.password_hash if row is not None and row.password_hash else None
        if not self._check(stored, password) or row is None or not row.enabled:
            return None
        assert stored is not None
        if self._hasher.check_needs_rehash(stored):
            self._update(name, password_hash=self._hasher.hash(password))
        return self.get_user(name)

    def _check(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # Unknown user: do the same work against a dummy hash, so timing does not reveal which names exist.
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash("goflex-dummy-password")
            self._verify(self._dummy_hash, password)
            return False
        return self._verify(stored, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # ------------------------------------------------------------------------------------------ endpoint groups
    def create_endpoint_group(self, name: str) -> None:
        """Create a named set of endpoints. Raises :class:`Conflict` if it exists."""
        with self._db.transaction(write=True) as conn:
            if conn.scalar(sa.select(endpoint_group.c.id).where(endpoint_group.c.name == name)) is not None:
                raise Conflict(f"endpoint group {name!r} exists already")
            conn.execute(endpoint_group.insert().values(name=name))

    def add_to_endpoint_group(self, group: str, endpoint_names: Iterable[str]) -> None:
        """Add endpoints to an endpoint group (idempotent). Raises :class:`NotFound` for an unknown one."""
        with self._db.transaction(write=True) as conn:
            gid = self._endpoint_group_id(conn, group)
            for name in endpoint_names:
                self._require_endpoint(conn, name)
                insert = dialect_insert(self._db, endpoint_group_member).values(group_id=gid, endpoint=name)
                conn.execute(insert.on_conflict_do_nothing())

    def remove_from_endpoint_group(self, group: str, endpoint_name: str) -> None:
        """Take an endpoint out of an endpoint group. Raises :class:`NotFound` for an unknown group."""
        with self._db.transaction(write=True) as conn:
            gid = self._endpoint_group_id(conn, group)
            conn.execute(
                endpoint_group_member.delete().where(
                    endpoint_group_member.c.group_id == gid, endpoint_group_member.c.endpoint == endpoint_name
                )
            )

    @staticmethod
    def _endpoint_group_id(conn: sa.Connection, name: str) -> int:
        gid = conn.scalar(sa.select(endpoint_group.c.id).where(endpoint_group.c.name == name))
        if gid is None:
            raise NotFound("endpoint group", name)
        return int(gid)

    @staticmethod
    def _require_endpoint(conn: sa.Connection, name: str) -> None:
        if conn.scalar(sa.select(endpoint.c.name).where(endpoint.c.name == name)) is None:
            raise NotFound("endpoint", name)

    # --------------------------------------------------------------------------------------------------- grants
    def grant(self, endpoint_name: str, principal_name: str, level: EndpointPermission) -> None:
        """Set ``principal_name``'s own grant on an endpoint to ``level`` (``OWN`` transfers ownership).

        Raises:
            NotFound: unknown endpoint or principal.
        """
        level = EndpointPermission(level)
        if level is OWN:
            self.transfer_ownership(endpoint_name, principal_name)
            return
        with self._db.transaction(write=True) as conn:
            self._require_endpoint(conn, endpoint_name)
            pid = self._id(conn, principal_name)
            self._upsert_grant(conn, pid, endpoint_name, level)

    def _upsert_grant(self, conn: sa.Connection, pid: int, endpoint_name: str, level: int) -> None:
        insert = dialect_insert(self._db, endpoint_grant).values(principal_id=pid, endpoint=endpoint_name, level=level)
        conn.execute(insert.on_conflict_do_update(index_elements=["principal_id", "endpoint"], set_={"level": level}))

    def revoke(self, endpoint_name: str, principal_name: str) -> None:
        """Remove ``principal_name``'s own grant on an endpoint (no-op if it had none).

        Raises:
            NotFound: unknown endpoint or principal.
            Conflict: the principal is the owner (transfer ownership instead).
        """
        with self._db.transaction(write=True) as conn:
            self._require_endpoint(conn, endpoint_name)
            pid = self._id(conn, principal_name)
            if conn.scalar(sa.select(endpoint.c.owner_id).where(endpoint.c.name == endpoint_name)) == pid:
                raise Conflict(f"{principal_name!r} owns {endpoint_name!r}: transfer ownership instead of revoking")
            conn.execute(
                endpoint_grant.delete().where(
                    endpoint_grant.c.principal_id == pid, endpoint_grant.c.endpoint == endpoint_name
                )
            )

    def transfer_ownership(self, endpoint_name: str, new_owner: str) -> None:
        """Make ``new_owner`` the one owner; the previous owner keeps ``GRANT``. Raises :class:`NotFound`."""
        with self._db.transaction(write=True) as conn:
            self._require_endpoint(conn, endpoint_name)
            pid = self._id(conn, new_owner)
            previous = conn.scalar(sa.select(endpoint.c.owner_id).where(endpoint.c.name == endpoint_name))
            if previous is not None and previous != pid:
                self._upsert_grant(conn, int(previous), endpoint_name, EndpointPermission.GRANT)
            conn.execute(endpoint.update().where(endpoint.c.name == endpoint_name).values(owner_id=pid))

    def owner(self, endpoint_name: str) -> str | None:
        """Name of the endpoint's owner (``None`` if it has none yet). Raises :class:`NotFound`."""
        with self._db.transaction() as conn:
            self._require_endpoint(conn, endpoint_name)
            query = sa.select(principal.c.name).join(endpoint, endpoint.c.owner_id == principal.c.id)
            return conn.scalar(query.where(endpoint.c.name == endpoint_name))

    def grant_on_group(self, group: str, principal_name: str, level: EndpointPermission) -> None:
        """Grant ``level`` on every endpoint of an endpoint group (``OWN`` is not allowed: one owner each).

        Raises:
            NotFound: unknown group or principal.
            Conflict: ``level`` is ``OWN``.
        """
        level = EndpointPermission(level)
        if level is OWN:
            raise Conflict("OWN cannot be granted on an endpoint group: every endpoint has exactly one owner")
        with self._db.transaction(write=True) as conn:
            gid = self._endpoint_group_id(conn, group)
            pid = self._id(conn, principal_name)
            insert = dialect_insert(self._db, endpoint_group_grant).values(principal_id=pid, group_id=gid, level=level)
            conn.execute(
                insert.on_conflict_do_update(index_elements=["principal_id", "group_id"], set_={"level": level})
            )

    def revoke_on_group(self, group: str, principal_name: str) -> None:
        """Remove a grant on an endpoint group. Raises :class:`NotFound`."""
        with self._db.transaction(write=True) as conn:
            gid = self._endpoint_group_id(conn, group)
            pid = self._id(conn, principal_name)
            conn.execute(
                endpoint_group_grant.delete().where(
                    endpoint_group_grant.c.principal_id == pid, endpoint_group_grant.c.group_id == gid
                )
            )

    def grant_element(
        self, endpoint_name: str, principal_name: str, path_prefix: str, level: ElementPermission
    ) -> None:
        """Grant ``level`` on every attribute at or below ``path_prefix`` of an endpoint. Raises :class:`NotFound`."""
        level = ElementPermission(level)
        prefix = path_prefix.strip("/")
        with self._db.transaction(write=True) as conn:
            self._require_endpoint(conn, endpoint_name)
            pid = self._id(conn, principal_name)
            insert = dialect_insert(self._db, element_grant).values(
                principal_id=pid, endpoint=endpoint_name, path_prefix=prefix, level=level
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["principal_id", "endpoint", "path_prefix"], set_={"level": level}
                )
            )

    # ---------------------------------------------------------------------------------------------- effective
    def effective_permission(self, user: str, endpoint_name: str) -> EndpointPermission:
        """The highest endpoint permission that applies to ``user`` (``DENY`` by default)."""
        return self.effective_permissions(user, [endpoint_name]).get(endpoint_name, EndpointPermission.DENY)

    def effective_permissions(self, user: str, endpoint_names: Sequence[str]) -> dict[str, EndpointPermission]:
        """:meth:`effective_permission` for many endpoints at once (every name in the answer)."""
        out = dict.fromkeys(endpoint_names, EndpointPermission.DENY)
        with self._db.transaction() as conn:
            ids = self._principal_ids(conn, user)
            if ids:
                for name, level in endpoint_levels(conn, ids, list(endpoint_names)).items():
                    out[name] = EndpointPermission(level)
        return out

    def effective_element_permission(self, user: str, endpoint_name: str, path: str) -> ElementPermission:
        """The highest element permission of ``user`` on attribute ``path`` of an endpoint."""
        with self._db.transaction() as conn:
            ids = self._principal_ids(conn, user)
            if not ids:
                return ElementPermission.DENY
            base = EndpointPermission(endpoint_levels(conn, ids, [endpoint_name]).get(endpoint_name, 0))
            query = sa.select(element_grant.c.path_prefix, element_grant.c.level).where(
                element_grant.c.endpoint == endpoint_name, element_grant.c.principal_id.in_(ids)
            )
            grants = [ElementPermission(lv) for prefix, lv in conn.execute(query) if is_under(path.strip("/"), prefix)]
        return max([element_level_of(base), *grants])

    def _principal_ids(self, conn: sa.Connection, user: str) -> list[int]:
        """The user's id and its groups' ids; empty for an unknown or disabled principal."""
        row = conn.execute(
            sa.select(principal.c.id, principal.c.enabled).where(
                principal.c.name == user, principal.c.kind != PrincipalKind.GROUP.value
            )
        ).one_or_none()
        if row is None or not row.enabled:
            return []
        return [int(row.id), *groups_of(conn, int(row.id))]

    def topic_grants(self) -> list[TopicGrant]:
        """Every enabled application's effective permission above ``DENY`` on every endpoint not banned.

        For ``goflex broker render``: the broker ACL gives each application exactly these rights.
        """
        with self._db.transaction() as conn:
            apps = conn.execute(
                sa.select(principal.c.id, principal.c.name).where(
                    principal.c.kind == PrincipalKind.APPLICATION.value, principal.c.enabled
                )
            ).all()
            banned = set(conn.scalars(sa.select(endpoint.c.name).where(endpoint.c.banned)))
            out: list[TopicGrant] = []
            for app_id, app_name in sorted(apps, key=lambda a: a.name):
                ids = [int(app_id), *groups_of(conn, int(app_id))]
                for name, level in sorted(endpoint_levels(conn, ids, None).items()):
                    if level > EndpointPermission.DENY and name not in banned:
                        out.append(TopicGrant(app_name, name, EndpointPermission(level)))
        return out
