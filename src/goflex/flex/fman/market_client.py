"""FMAN's client of the market FMAR (trading contract, section "FMAR"): sell orders and the schedule pull.

Every call has a timeout; transport errors, timeouts and 5xx answers become :class:`MarketUnavailable` (keep
going, retry with backoff), 4xx answers :class:`MarketRefused` with FMAR's error code. Submissions carry an
``Idempotency-Key`` chosen by the caller (stable per bid version), so a retry after a lost answer finds the same
order instead of creating a second one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.fman.errors import MarketRefused, MarketUnavailable
from goflex.flex.json_codec import dump_offer, parse_schedule
from goflex.flex.model import FlexOffer, Schedule

DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class OrderAnswer:
    """FMAR's answer to a sell order or its update: ``status`` accepted | rejected | updated, and the reason."""

    order_id: str
    status: str
    reason: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class MarketSchedule:
    """A fixed schedule of one of FMAN's bids (by sell order id)."""

    order_id: str
    flex_offer_id: str
    schedule: Schedule
    contract_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MarketRejection:
    """A bid FMAR rejected after accepting it (e.g. ``unmatched_at_deadline``)."""

    order_id: str
    flex_offer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MarketSettlement:
    """FMAR's settlement of one bid (``POST /metering``, trading contract) [kWh, EUR].

    Attributes:
        order_id: the bid's sell order id.
        delivered_kwh: metered energy over the schedule.
        scheduled_deviation_kwh: the contracted deviation.
        delivered_deviation_kwh: the deviation FMAR pays for.
        imbalance_kwh: ``sum |metered - scheduled|``.
        payment_eur: what the buyers pay for the bid.
        imbalance_fee_eur: the fee on the imbalance.
    """

    order_id: str
    delivered_kwh: float
    scheduled_deviation_kwh: float
    delivered_deviation_kwh: float
    imbalance_kwh: float
    payment_eur: float
    imbalance_fee_eur: float

    @classmethod
    def from_answer(cls, body: Any) -> MarketSettlement:
        """Read FMAR's settlement document.

        Raises:
            MarketUnavailable: a field is missing or not a number.
        """
        try:
            return cls(
                str(body["orderId"]),
                float(body["deliveredKwh"]),
                float(body["scheduledDeviationKwh"]),
                float(body["deliveredDeviationKwh"]),
                float(body["imbalanceKwh"]),
                float(body["paymentEur"]),
                float(body["imbalanceFeeEur"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MarketUnavailable(f"settlement: malformed answer ({exc!r})") from exc

    def to_json(self) -> str:
        """As FMAR's field names, JSON text (stored with the bid)."""
        return json.dumps(
            {
                "orderId": self.order_id,
                "deliveredKwh": self.delivered_kwh,
                "scheduledDeviationKwh": self.scheduled_deviation_kwh,
                "deliveredDeviationKwh": self.delivered_deviation_kwh,
                "imbalanceKwh": self.imbalance_kwh,
                "paymentEur": self.payment_eur,
                "imbalanceFeeEur": self.imbalance_fee_eur,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> MarketSettlement:
        """Read :meth:`to_json`'s text."""
        return cls.from_answer(json.loads(text))


@dataclass(frozen=True, slots=True)
class ScheduleBatch:
    """One answer of ``GET /schedules``."""

    schedules: tuple[MarketSchedule, ...]
    rejected: tuple[MarketRejection, ...]


class MarketClient:
    """FMAR's API as FMAN (a ``seller``) uses it.

    Args:
        base_url: FMAR's API base, e.g. ``http://127.0.0.1:8470/api/v1``.
        token: FMAN's bearer token at FMAR (never logged).
        timeout_s: per request [s].
        transport: an httpx transport (tests may pass an ASGI transport).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise MarketUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise MarketUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            raise MarketRefused(
                response.status_code,
                str(error.get("code") or f"http_{response.status_code}"),
                str(error.get("message") or response.text[:200]),
            )
        if not isinstance(body, dict):
            raise MarketUnavailable(f"{method} {path}: the answer is not a JSON object")
        return body

    @staticmethod
    def _answer(body: Any) -> OrderAnswer:
        try:
            return OrderAnswer(str(body["orderId"]), str(body["status"]), body.get("reason"), body.get("message"))
        except KeyError as exc:
            raise MarketUnavailable(f"order answer without {exc}") from exc

    async def submit_sell(self, bid: FlexOffer, idempotency_key: str) -> OrderAnswer:
        """``POST /orders/sell`` with the bid FlexOffer."""
        body = await self._request(
            "POST", "/orders/sell", json={"flexOffer": dump_offer(bid)}, headers={"Idempotency-Key": idempotency_key}
        )
        return self._answer(body)

    async def update_sell(self, order_id: str, bid: FlexOffer, idempotency_key: str) -> OrderAnswer:
        """``PUT /orders/sell/{orderId}``: replace the bid while FMAR has not matched it."""
        body = await self._request(
            "PUT",
            f"/orders/sell/{order_id}",
            json={"flexOffer": dump_offer(bid)},
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._answer(body)

    async def revoke(self, order_id: str) -> None:
        """``DELETE /orders/{orderId}`` (raises :class:`MarketRefused` ``not_revocable`` once matched)."""
        await self._request("DELETE", f"/orders/{order_id}")

    async def pull_schedules(self, ack: Sequence[str]) -> ScheduleBatch:
        """``GET /schedules?ack=...``: every schedule and rejection of FMAN's bids not yet acked.

        Raises:
            MarketUnavailable: also when an entry is malformed (nothing of the batch is used then).
        """
        params = {"ack": ",".join(ack)} if ack else None
        body = await self._request("GET", "/schedules", params=params)
        try:
            schedules = tuple(
                MarketSchedule(
                    str(s["orderId"]),
                    str(s.get("flexOfferId", "")),
                    parse_schedule(s["flexOfferSchedule"], "flexOfferSchedule"),
                    tuple(str(c) for c in s.get("contractIds", [])),
                )
                for s in body.get("schedules", [])
            )
            rejected = tuple(
                MarketRejection(str(r["orderId"]), str(r.get("flexOfferId", "")), str(r.get("reason", "rejected")))
                for r in body.get("rejected", [])
            )
        except (KeyError, TypeError, ValueError, InvalidFlexOffer) as exc:
            raise MarketUnavailable(f"GET /schedules: malformed answer ({exc})") from exc
        return ScheduleBatch(schedules, rejected)

    async def post_metering(self, order_id: str, intervals: Sequence[tuple[datetime, float]]) -> MarketSettlement:
        """``POST /metering``: the bid's metered energy per slot -> FMAR's settlement of its contracts.

        Raises:
            MarketRefused: e.g. 409 ``already_settled``, 422 ``missing_interval``.
        """
        body = {
            "orderId": order_id,
            "intervals": [
                {"start": start.isoformat().replace("+00:00", "Z"), "energyKwh": kwh} for start, kwh in intervals
            ],
        }
        return MarketSettlement.from_answer(await self._request("POST", "/metering", json=body))

    async def settlement(self, order_id: str) -> MarketSettlement | None:
        """``GET /settlements?orderId=``: FMAR's settlement of the bid, if it has one."""
        body = await self._request("GET", "/settlements", params={"orderId": order_id})
        items = body.get("settlements") or []
        return MarketSettlement.from_answer(items[0]) if items else None
