"""Authentication and permission look-ups against the access-rights store (:class:`RightsRepository`).

HTTP Basic: the user name and password of each request are checked with the store's ``verify_password``
(argon2id hashes, issue 2 section 5). The password is never logged, kept or echoed (reliability.md S10); a failed
attempt is logged with the user name only.

An argon2 check costs tens of milliseconds of CPU by design, which a client polling ``/data`` would pay on every
request. Successful logins are therefore remembered for ``cache_s`` seconds under a keyed hash (HMAC-SHA256 with a
random per-process key) of name and password, never the password itself: a changed password, a disabled or a
deleted user takes effect within that time. Failures are never cached. Permissions are looked up afresh on every
request, so a revoked grant takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from typing import Final

from goflex.api.access import Identity
from goflex.common.clock import Clock
from goflex.store import EndpointPermission, RightsRepository

log = logging.getLogger(__name__)

DEFAULT_CACHE_S: Final = 30.0
MAX_CACHED: Final = 4096


class StoreAccessBackend:
    """:class:`~goflex.api.access.AccessBackend` over a :class:`RightsRepository`.

    Args:
        rights: the access-rights store.
        clock: for the cache's expiry (monotonic time).
        cache_s: how long a successful login is remembered [s]; 0 disables the cache.
    """

    def __init__(self, rights: RightsRepository, *, clock: Clock, cache_s: float = DEFAULT_CACHE_S) -> None:
        self._rights = rights
        self._clock = clock
        self._cache_s = cache_s
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def authenticate(self, name: str, password: str) -> Identity | None:
        key = self._digest(name, password) if self._cache_s > 0 else b""
        now = self._clock.monotonic()
        if key:
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        user = self._rights.verify_password(name, password)
        if user is None:
            log.info("authentication failed for user %r", name)
            return None
        identity = Identity(user.name, admin=user.admin)
        if key:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                    if len(self._cache) >= MAX_CACHED:
                        self._cache.clear()
                self._cache[key] = (now + self._cache_s, identity)
        return identity

    def forget(self, name: str) -> None:
        """Drop every cached login of ``name`` (after its password, rights or existence changed here)."""
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1].name != name}

    def effective_permission(self, identity: Identity, endpoint: str) -> EndpointPermission:
        return self._rights.effective_permission(identity.name, endpoint)
