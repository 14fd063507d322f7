"""Participant tokens: issued once, stored as an argon2 hash, verified with a short in-memory cache.

A token is ``fmar_<token id>.<secret>``: the token id (random, not secret) finds the participant's row, the
secret is checked against its argon2id hash (the pattern of :mod:`goflex.store.rights`). Tokens are never logged
or stored in clear. An argon2 check costs tens of milliseconds by design, so a verified token is remembered
for ``cache_s`` seconds under an HMAC-SHA256 of the token with a random per-process key (as
:mod:`goflex.api.auth` does for passwords); failures are never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from goflex.common.clock import Clock

PREFIX: Final = "fmar_"
MAX_CACHED: Final = 4096


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: the clear text (shown once), its id and the hash to store."""

    token: str
    token_id: str
    token_hash: str


def issue(hasher: PasswordHasher) -> IssuedToken:
    """A fresh random token and its stored form."""
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return IssuedToken(f"{PREFIX}{token_id}.{secret}", token_id, hasher.hash(secret))


def split(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else ``None``."""
    if not token.startswith(PREFIX) or "." not in token:
        return None
    token_id, _, secret = token[len(PREFIX) :].partition(".")
    return (token_id, secret) if token_id and secret else None


class TokenVerifier:
    """Checks tokens against stored hashes, with a cache of recent successes.

    Args:
        lookup: token id -> (participant id, stored hash), or ``None`` when unknown.
        hasher: the argon2 parameters.
        clock: for the cache's expiry (monotonic time).
        cache_s: how long a verified token is remembered [s]; 0 disables the cache.
    """

    def __init__(
        self,
        lookup: Callable[[str], tuple[str, str] | None],
        *,
        hasher: PasswordHasher,
        clock: Clock,
        cache_s: float = 60.0,
    ) -> None:
        self._lookup = lookup
        self._hasher = hasher
        self._clock = clock
        self._cache_s = cache_s
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> str | None:
        """The participant id the token belongs to, or ``None``."""
        parts = split(token)
        if parts is None:
            return None
        digest = hmac.new(self._key, token.encode(), hashlib.sha256).digest()
        now = self._clock.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self._lookup(parts[0])
        if found is None:
            return None
        participant_id, stored = found
        try:
            self._hasher.verify(stored, parts[1])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if self._cache_s > 0:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[digest] = (now + self._cache_s, participant_id)
        return participant_id
