"""The FOA's client of FMAN's HTTP API (trading contract, section "FMAN"; I/O adapter).

Every call has a timeout; network errors, timeouts and 5xx answers become :class:`FmanUnavailable` (retry at the
next heartbeat), 4xx answers :class:`FmanRejected` with the contract's error code. Creating POSTs carry an
``Idempotency-Key`` chosen by the caller and stable per request (the offer's id), so a retry after a lost answer
gets the same answer instead of a second offer. The bearer token is sent, never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.foa.errors import FmanRejected, FmanUnavailable
from goflex.flex.json_codec import dump_offer, parse_schedule
from goflex.flex.model import FlexOffer, Schedule

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0


class _OfferAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    state: str
    reason: str | None = None
    message: str | None = None


class _Delivery(BaseModel):
    model_config = ConfigDict(extra="allow")
    flexOfferId: str  # noqa: N815 - wire name
    flexOfferSchedule: dict[str, Any]  # noqa: N815


class _Rejection(BaseModel):
    model_config = ConfigDict(extra="allow")
    flexOfferId: str  # noqa: N815
    reason: str | None = None


class _HeartbeatAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    schedules: list[_Delivery] = Field(default_factory=list)
    rejected: list[_Rejection] = Field(default_factory=list)
    serverTime: AwareDatetime | None = None  # noqa: N815


@dataclass(frozen=True, slots=True)
class OfferAnswer:
    """FMAN's answer to a submitted offer: ``state`` is ``accepted`` or ``rejected`` (with a reason code)."""

    offer_id: str
    state: str
    reason: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A schedule FMAN assigned to one of the agent's offers (``schedule`` None: unreadable, see ``problem``)."""

    offer_id: str
    schedule: Schedule | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatAnswer:
    """What a heartbeat brought: schedules, rejections (offer id, reason) and FMAN's time."""

    schedules: tuple[Delivery, ...]
    rejected: tuple[tuple[str, str], ...]
    server_time: datetime | None


class FmanClient:
    """FMAN's API for one agent.

    Args:
        base_url: FMAN's root, e.g. ``http://127.0.0.1:8471`` (``/api/v1`` is appended unless already there).
        token: the agent's bearer token.
        timeout_s: per-request timeout [s].
        transport: an ``httpx`` transport (tests may pass an ASGI transport).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=root if root.endswith("/api/v1") else root + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, *, body: Any = None, key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key} if key is not None else {}
        try:
            response = await self._http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise FmanUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise FmanUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise FmanRejected(response.status_code, str(code or f"http_{response.status_code}"), str(message or ""))
        return payload

    async def submit(self, offer: FlexOffer) -> OfferAnswer:
        """``POST /flexoffers`` with the offer's id as ``Idempotency-Key``.

        Raises:
            FmanUnavailable: no answer (retry with the same offer).
            FmanRejected: a 4xx error (e.g. 401 with a wrong token).
        """
        payload = await self._call("POST", "/flexoffers", body=dump_offer(offer), key=offer.id)
        try:
            answer = _OfferAnswer.model_validate(payload)
        except ValidationError as exc:
            raise FmanRejected(200, "unreadable_answer", str(exc)) from exc
        return OfferAnswer(answer.id, answer.state, answer.reason, answer.message)

    async def withdraw(self, offer_id: str) -> str:
        """``DELETE /flexoffers/{id}``; returns the new state (``canceled``).

        Raises:
            FmanUnavailable, FmanRejected: as :meth:`submit` (409 ``not_revocable`` once its bid is matched).
        """
        payload = await self._call("DELETE", f"/flexoffers/{offer_id}")
        return str(payload.get("state", "")) if isinstance(payload, dict) else ""

    async def heartbeat(self, *, power_w: float, ack: Sequence[str], state: str = "operational") -> HeartbeatAnswer:
        """``POST /heartbeat``: report state and power, acknowledge what was taken, receive what is new.

        A schedule that cannot be read is returned as a :class:`Delivery` without schedule and with the problem,
        so the agent can count it and run the baseline; it does not fail the other deliveries.

        Raises:
            FmanUnavailable, FmanRejected: as :meth:`submit`.
        """
        payload = await self._call("POST", "/heartbeat", body={"state": state, "powerW": power_w, "ack": list(ack)})
        try:
            answer = _HeartbeatAnswer.model_validate(payload)
        except ValidationError as exc:
            raise FmanRejected(200, "unreadable_answer", str(exc)) from exc
        deliveries = []
        for item in answer.schedules:
            try:
                schedule = parse_schedule(item.flexOfferSchedule, "flexOfferSchedule")
                deliveries.append(Delivery(item.flexOfferId, schedule))
            except InvalidFlexOffer as exc:
                deliveries.append(Delivery(item.flexOfferId, None, str(exc)))
        return HeartbeatAnswer(
            schedules=tuple(deliveries),
            rejected=tuple((r.flexOfferId, r.reason or "rejected") for r in answer.rejected),
            server_time=answer.serverTime.astimezone(UTC) if answer.serverTime else None,
        )

    async def meter(self, offer_id: str, intervals: Sequence[tuple[datetime, float]]) -> dict[str, Any]:
        """``POST /metering`` for one offer: ``(interval start, energy [kWh])``; returns the execution record.

        Raises:
            FmanUnavailable, FmanRejected: as :meth:`submit`.
        """
        body = {
            "flexOfferId": offer_id,
            "intervals": [
                {"start": t.astimezone(UTC).isoformat().replace("+00:00", "Z"), "energyKwh": e} for t, e in intervals
            ],
        }
        payload = await self._call("POST", "/metering", body=body, key=f"metering-{offer_id}")
        return dict(payload) if isinstance(payload, dict) else {}
