"""The live DOMS's HTTP API: its state for the operator pages (issue 5 section 5).

``GET /api/v1/health`` without auth; everything else needs ``Authorization: Bearer <token>`` (401 without or with
a wrong token, deny by default). The operator token is kept as an argon2 hash only (as the market's and FMAN's,
src/goflex/api/auth.py); a verified token is remembered ``token_cache_s`` of the clock so that a page polling every
few seconds does not pay an argon2 verification each time. Errors follow the trading contract:
``{"error": {"code", "message"}}``.

* ``GET /api/v1/state``: imbalance now, forecast, planned activations, stopped or not and why, orders, trades;
* ``GET /api/v1/decisions?limit=N``: the latest decisions with their inputs, newest last (1 <= N <= 1000);
* ``GET /api/v1/stats``: counters (points, gaps, refused values, orders placed/refused/revoked, errors).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from goflex.common.clock import Clock
from goflex.doms.live import DomsService

API = "/api/v1"


class TokenCheck:
    """Verifies the operator token against its argon2 hash, with a short cache of verified digests."""

    def __init__(self, token_hash: str, *, clock: Clock, hasher: PasswordHasher, cache_s: float = 60.0) -> None:
        self._hash = token_hash
        self._clock = clock
        self._hasher = hasher
        self._cache_s = cache_s
        self._verified: dict[bytes, float] = {}

    def __call__(self, token: str) -> bool:
        """True when ``token`` is the operator's."""
        digest = hashlib.sha256(token.encode()).digest()
        until = self._verified.get(digest)
        now = self._clock.monotonic()
        if until is not None and until > now:
            return True
        try:
            self._hasher.verify(self._hash, token)
        except (VerificationError, InvalidHashError):
            return False
        self._verified = {d: t for d, t in self._verified.items() if t > now}
        self._verified[digest] = now + self._cache_s
        return True


def ensure_token(path: Path, hasher: PasswordHasher) -> str:
    """The argon2 hash of the operator token in ``path``; a new token is written there (mode 0600) if missing.

    The token itself is never logged; only its hash stays in memory.
    """
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    token = path.read_text(encoding="utf-8").strip()
    return hasher.hash(token)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(
    service: DomsService,
    clock: Clock,
    *,
    token_hash: str,
    hasher: PasswordHasher | None = None,
    token_cache_s: float = 60.0,
) -> FastAPI:
    """The API over a running :class:`DomsService`.

    Args:
        service: the live DOMS.
        clock: the platform clock (token cache).
        token_hash: argon2 hash of the operator token (:func:`ensure_token`).
        hasher: argon2 parameters (tests pass cheap ones).
        token_cache_s: how long a verified token is remembered [s of the clock].
    """
    check = TokenCheck(token_hash, clock=clock, hasher=hasher or PasswordHasher(), cache_s=token_cache_s)
    app = FastAPI(title="goflex DOMS (live)", version="1", description=__doc__)
    app.state.doms = service

    @app.middleware("http")
    async def bearer(request: Request, call_next: Any) -> Any:
        if request.url.path in (f"{API}/health", "/docs", "/openapi.json", "/docs/oauth2-redirect"):
            return await call_next(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "unauthorised", "Authorization: Bearer <token> is required")
        if not check(token.strip()):
            return _error(401, "unauthorised", "the bearer token is not valid")
        return await call_next(request)

    @app.get(f"{API}/health", tags=["service"], summary="Liveness (no auth)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/state", tags=["doms"], summary="Imbalance now, forecast, activations, stop, orders, trades")
    def state() -> dict[str, Any]:
        return service.state()

    @app.get(f"{API}/decisions", tags=["doms"], summary="The latest decisions with their inputs")
    def decisions(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        records = list(service.decisions)[-limit:]
        return {"decisions": records, "count": len(records)}

    @app.get(f"{API}/stats", tags=["service"], summary="Counters of the service and of refused input")
    def stats() -> dict[str, Any]:
        return {"counters": vars(service.counters).copy(), "skippedBids": service.env.skipped_bids}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(400, "invalid_request", fields)

    return app


__all__ = ["TokenCheck", "create_app", "ensure_token"]
