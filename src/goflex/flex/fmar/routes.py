"""The routes of the market's API (trading contract, FMAR) and their request models."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from goflex.flex.fmar import reports
from goflex.flex.fmar.errors import Refused
from goflex.flex.fmar.market import Market
from goflex.flex.fmar.metering import metering
from goflex.flex.fmar.repository import Participant
from goflex.flex.fmar.views import iso

API = "/api/v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class ParticipantIn(_Strict):
    """A new participant."""

    id: str = Field(min_length=1, max_length=128)
    name: str | None = None
    roles: list[str] = Field(min_length=1, description="buyer, seller and/or operator")
    locations: list[str] = Field(default_factory=list, description="grid locations it may trade at; empty = all")
    callbackUrl: str | None = Field(default=None, description="push target for schedules (sellers)")  # noqa: N815


class SellOrderIn(BaseModel):
    """A bid: a FlexOffer (User Group JSON) with ``defaultSchedule`` as baseline and tariff constraints as prices."""

    flexOffer: dict[str, Any]  # noqa: N815


class SlotIn(_Strict):
    """Wanted deviation in one 15-minute slot."""

    start: AwareDatetime
    energyKwh: float = Field(description="deviation from baseline in the order's direction [kWh], > 0")  # noqa: N815


class BuyOrderIn(_Strict):
    """A buy order (DSO/BRP)."""

    direction: str = Field(description="down (consume less) or up (consume more)")
    locationId: str | None = None  # noqa: N815
    maxPriceEurPerKwh: float  # noqa: N815
    slots: list[SlotIn]
    allowPartial: bool = True  # noqa: N815

    def wire(self) -> dict[str, Any]:
        """The normalised body (times with Z), as stored and hashed for idempotency."""
        return {
            "direction": self.direction,
            "locationId": self.locationId,
            "maxPriceEurPerKwh": self.maxPriceEurPerKwh,
            "slots": [{"start": iso(s.start.astimezone(UTC)), "energyKwh": s.energyKwh} for s in self.slots],
            "allowPartial": self.allowPartial,
        }


class IntervalIn(_Strict):
    """Metered energy in one 15-minute slot [kWh], consumption-positive."""

    start: AwareDatetime
    energyKwh: float  # noqa: N815


class MeteringIn(_Strict):
    """Metered energy of a scheduled bid."""

    orderId: str  # noqa: N815
    intervals: list[IntervalIn]


def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Participant:
    market: Market = request.app.state.market
    scheme, _, token = (authorization or "").partition(" ")
    participant = market.authenticate(token.strip()) if scheme.lower() == "bearer" and token else None
    if participant is None:
        raise Refused(401, "unauthenticated", "Authorization: a valid 'Bearer <token>' is required")
    return participant


Caller = Annotated[Participant, Depends(_caller)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _role(participant: Participant, *roles: str) -> Participant:
    if not participant.roles & set(roles):
        raise Refused(403, "forbidden", f"role: this route needs one of {sorted(roles)}")
    return participant


def register_routes(app: FastAPI, market: Market) -> None:
    """Add every route; each names the roles it allows (deny by default)."""
    app.state.market = market

    @app.get(f"{API}/health", tags=["system"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/stats", tags=["system"], summary="Counters of rejected orders and refused requests")
    def stats(who: Caller) -> dict[str, Any]:
        return reports.stats(market)

    @app.post(f"{API}/participants", status_code=201, tags=["participants"], summary="Register a participant")
    def add_participant(body: ParticipantIn, who: Caller) -> dict[str, str]:
        _role(who, "operator")
        token = market.add_participant(
            body.id, body.roles, name=body.name, locations=body.locations, callback_url=body.callbackUrl
        )
        return {"id": body.id, "token": token}

    @app.get(f"{API}/participants/me", tags=["participants"], summary="The calling participant")
    def me(who: Caller) -> dict[str, Any]:
        return who.wire()

    @app.post(f"{API}/orders/sell", tags=["orders"], summary="Submit a bid (a FlexOffer)", status_code=201)
    def sell(body: SellOrderIn, who: Caller, key: IdempotencyKey = None) -> JSONResponse:
        _role(who, "seller")
        status, answer = market.submit_sell(who, body.model_dump(), key)
        return JSONResponse(answer, status_code=status)

    @app.put(f"{API}/orders/sell/{{order_id}}", tags=["orders"], summary="Replace a bid that has not matched")
    def update(order_id: str, body: SellOrderIn, who: Caller) -> dict[str, Any]:
        _role(who, "seller")
        return market.update_sell(who, order_id, body.model_dump())

    @app.post(f"{API}/orders/buy", tags=["orders"], summary="Submit a buy order", status_code=201)
    def buy(body: BuyOrderIn, who: Caller, key: IdempotencyKey = None) -> JSONResponse:
        _role(who, "buyer")
        status, answer = market.submit_buy(who, body.wire(), key)
        return JSONResponse(answer, status_code=status)

    @app.delete(f"{API}/orders/{{order_id}}", tags=["orders"], summary="Revoke an order that has not matched")
    def revoke(order_id: str, who: Caller) -> dict[str, Any]:
        return market.revoke(_role(who, "buyer", "seller"), order_id)

    @app.get(f"{API}/orders/{{order_id}}", tags=["orders"], summary="An order, its events and remaining energy")
    def get_order(order_id: str, who: Caller) -> dict[str, Any]:
        return reports.order(market, who, order_id)

    @app.get(f"{API}/orderbook", tags=["market"], summary="Open bids and buy orders")
    def orderbook(who: Caller) -> dict[str, Any]:
        return reports.orderbook(market, who)

    @app.get(f"{API}/trades", tags=["market"], summary="Public trade history")
    def trades(who: Caller, since: Annotated[AwareDatetime | None, Query()] = None) -> dict[str, Any]:
        return reports.trades(market, who, since)

    @app.get(f"{API}/contracts", tags=["market"], summary="The caller's contracts")
    def contracts(who: Caller) -> dict[str, Any]:
        return reports.contracts(market, who)

    @app.get(f"{API}/schedules", tags=["sellers"], summary="Pull schedules and rejections (seller heartbeat)")
    def schedules(who: Caller, ack: Annotated[str | None, Query()] = None) -> dict[str, Any]:
        _role(who, "seller")
        return reports.schedules(market, who, [a for a in (ack or "").split(",") if a])

    @app.post(f"{API}/metering", tags=["settlement"], summary="Metered energy of a scheduled bid -> settlement")
    def meter(body: MeteringIn, who: Caller) -> dict[str, Any]:
        _role(who, "seller", "operator")
        return metering(market, who, body.model_dump(mode="json"))

    @app.get(f"{API}/settlements", tags=["settlement"], summary="Settlements of the caller's bids")
    def settlements(who: Caller, orderId: Annotated[str | None, Query()] = None) -> dict[str, Any]:  # noqa: N803
        return reports.settlements(market, who, orderId)
