"""Bearer tokens of FMAN's agents and operator: issued once, stored as argon2id hashes, never logged.

A token reads ``<principal id>.<secret>``: the id selects the one stored hash to check, so a request costs one
argon2 verification, not one per principal. The secret is 32 random bytes (``secrets.token_urlsafe``, no dots).
Successful checks are remembered for ``cache_s`` seconds under an HMAC of the token with a random per-process key
(the pattern of :mod:`goflex.api.auth`); failures are never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_CACHED = 4096


def new_token(principal_id: str) -> str:
    """A fresh token for ``principal_id`` (shown once to the operator, stored only hashed)."""
    return f"{principal_id}.{secrets.token_urlsafe(32)}"


def principal_of(token: str) -> str | None:
    """The principal id a token claims, or ``None`` for a malformed token."""
    principal, dot, secret = token.rpartition(".")
    return principal if dot and principal and secret else None


class TokenVerifier:
    """Checks tokens against stored argon2 hashes, with a short cache of successes.

    Args:
        hasher: argon2 parameters (tests pass cheap ones).
        monotonic: the clock of the cache [s].
        cache_s: how long a verified token is remembered [s]; 0 disables the cache.
    """

    def __init__(self, hasher: PasswordHasher, monotonic: Callable[[], float], cache_s: float = 30.0) -> None:
        self.hasher = hasher
        self._monotonic = monotonic
        self._cache_s = cache_s
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def hash(self, token: str) -> str:
        """The argon2id hash to store."""
        return self.hasher.hash(token)

    def verify(self, token: str, stored_hash: str) -> bool:
        """Whether ``token`` matches ``stored_hash`` (constant-time in argon2; never raises)."""
        digest = hmac.new(self._key, f"{stored_hash}\0{token}".encode(), hashlib.sha256).digest()
        now = self._monotonic()
        with self._lock:
            expiry = self._cache.get(digest)
        if expiry is not None and expiry > now:
            return True
        try:
            self.hasher.verify(stored_hash, token)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if self._cache_s > 0:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[digest] = now + self._cache_s
        return True
