"""``/data``: an endpoint's structure with its last values, and ``@set`` through ``PUT`` (cloudio.md, Back-end API).

Paths below the endpoint are accepted in both forms of cloud.iO: short ``node/object/.../attribute`` and the
pilot's long ``nodes/<node>/objects/<object>/.../attributes/<attribute>`` (``nodes`` is a reserved node name, so
the forms never collide). In the short form the last segment names an attribute when the object has one of that
name, otherwise a nested object.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from goflex.api.access import Caller, endpoint_permission, require
from goflex.api.context import API_PREFIX, ApiServices, services
from goflex.api.errors import ApiError, ErrorCode, invalid, not_found
from goflex.api.schemas import AttributeOut, EndpointDataOut, NodeOut, ObjectOut, SetOut, problems
from goflex.cloudio.errors import CloudioError
from goflex.cloudio.messages import decode_endpoint
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, EndpointModel, ObjectModel, Value
from goflex.store import EndpointPermission, EndpointRecord

router = APIRouter(prefix=API_PREFIX, tags=["data"])

_ENDPOINT_404 = problems(e404="no such endpoint, or not visible to the caller")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


# ---------------------------------------------------------------------------------------------- model loading
def load_model(svc: ApiServices, name: str) -> tuple[EndpointRecord, EndpointModel]:
    """The endpoint's record and its data model with the last stored values filled in.

    Raises:
        ApiError: 404 if the endpoint does not exist.
    """
    record = svc.process.get_endpoint(name)
    if record is None:
        raise not_found("endpoint", name)
    if record.model_json is None:
        return record, EndpointModel(name, {})
    model = decode_endpoint(name, record.model_json.encode("utf-8"))
    for last in svc.process.last_values(name):
        try:
            path = AttributePath.parse(f"{name}/{last.path}")
            current = model.find(path)
            if current is not None and (current.constraint.updatable or current.constraint.settable):
                model = model.replace_attribute(path, current.with_value(last.value, last.time.timestamp()))
        except CloudioError:
            # A stored value that no longer fits the model (the endpoint re-declared the attribute with another
            # type): the model's own value is the better answer than a 500.
            continue
    return record, model


def _split(path: str) -> tuple[str, list[tuple[str, str]]]:
    """``(node, [(kind, name), ...])`` with kind ``objects``/``attributes``/``?`` (short form: not yet known)."""
    parts = [p for p in path.split("/") if p != ""]
    if not parts:
        raise invalid("path", "empty path")
    if parts[0] != "nodes":
        return parts[0], [("?", p) for p in parts[1:]]
    if len(parts) < 2 or len(parts) % 2 != 0:
        raise invalid("path", "long form must be nodes/<n>[/objects/<o>...][/attributes/<a>]")
    steps = [(parts[i], parts[i + 1]) for i in range(2, len(parts), 2)]
    kinds = [k for k, _ in steps]
    if any(k not in ("objects", "attributes") for k in kinds) or "attributes" in kinds[:-1]:
        raise invalid("path", "long form must be nodes/<n>[/objects/<o>...][/attributes/<a>]")
    return parts[1], steps


def resolve(model: EndpointModel, path: str) -> NodeOut | ObjectOut | AttributeOut:
    """The node, object or attribute at ``path`` (short or long form) below the endpoint.

    Raises:
        ApiError: 422 for a malformed long form, 404 naming the path if nothing is there.
    """
    node_name, steps = _split(path)
    node = model.nodes.get(node_name)
    missing = not_found("path", f"{model.name}/{path}")
    if node is None:
        raise missing
    if not steps:
        return NodeOut.of(node)
    current: ObjectModel | None = None
    objects = node.objects
    for index, (kind, name) in enumerate(steps):
        last = index == len(steps) - 1
        if kind != "objects" and last and current is not None and name in current.attributes:
            return AttributeOut.of(current.attributes[name])
        if kind == "attributes" or name not in objects:
            raise missing
        current = objects[name]
        objects = current.objects
    assert current is not None
    return ObjectOut.of(current)


# -------------------------------------------------------------------------------------------------- routes
@router.get(
    "/data/{endpoint}",
    summary="Structure and last values of an endpoint",
    response_model=EndpointDataOut,
    response_model_by_alias=True,
    responses=_ENDPOINT_404,
)
def get_endpoint_data(
    endpoint: str, request: Request, caller: Annotated[Caller, require(endpoint_permission(EndpointPermission.READ))]
) -> EndpointDataOut:
    """The endpoint's data model (nodes, objects, attributes) with the newest stored value of each attribute."""
    record, model = load_model(services(request), endpoint)
    return EndpointDataOut.of(model, online=record.online, banned=record.banned)


@router.get(
    "/data/{endpoint}/{path:path}",
    summary="A node, object or attribute of an endpoint, with last values",
    response_model=NodeOut | ObjectOut | AttributeOut,
    responses=_ENDPOINT_404,
)
def get_element_data(
    endpoint: str,
    path: str,
    request: Request,
    caller: Annotated[Caller, require(endpoint_permission(EndpointPermission.READ))],
) -> NodeOut | ObjectOut | AttributeOut:
    """``path`` in short (``node/object/attribute``) or long (``nodes/n/objects/o/attributes/a``) form."""
    _, model = load_model(services(request), endpoint)
    return resolve(model, path)


def parse_value(text: str, attribute: Attribute, path: AttributePath) -> Value:
    """The query string ``value`` as the attribute's type (Boolean: true/false/1/0).

    Raises:
        ApiError: 422 naming the value, the expected type and the attribute.
    """
    kind = attribute.type
    problem = f"{text!r} is not a {kind.value} (attribute {path} is {kind.value})"
    if kind is AttributeType.STRING:
        return text
    if kind is AttributeType.BOOLEAN:
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise invalid("value", f"{problem}; use true, false, 1 or 0", code=ErrorCode.INVALID_VALUE)
    try:
        number = int(text) if kind is AttributeType.INTEGER else float(text)
    except ValueError:
        raise invalid("value", problem, code=ErrorCode.INVALID_VALUE) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise invalid("value", f"{text!r} is not a finite Number (attribute {path})", code=ErrorCode.INVALID_VALUE)
    return number


@router.put(
    "/data/{endpoint}/{path:path}",
    summary="Write an attribute: publishes @set to the endpoint",
    response_model=SetOut,
    status_code=202,
    responses=problems(
        e404="no such endpoint or attribute, or not visible to the caller",
        e409="the attribute is not a SetPoint or Parameter, or the endpoint is banned",
        e422="value does not parse as the attribute's type",
        e503="the broker could not take the @set",
    ),
)
async def put_attribute(
    endpoint: str,
    path: str,
    request: Request,
    caller: Annotated[Caller, require(endpoint_permission(EndpointPermission.WRITE))],
    value: Annotated[str, Query(description="new value; Boolean: true/false/1/0")],
) -> SetOut:
    """Publishes ``@set`` (QoS 1, timestamp = now) with the value parsed to the attribute's type.

    202: the message is with the broker; the endpoint confirms with ``@didSet`` (then visible in ``/data``).
    """
    svc = services(request)
    try:
        attribute_path = AttributePath.parse(f"{endpoint}/{path}")
    except CloudioError as exc:
        raise invalid("path", f"not an attribute path: {exc}") from exc
    record, model = await run_in_threadpool(load_model, svc, endpoint)
    attribute = model.find(attribute_path)
    if attribute is None:
        raise not_found("attribute", str(attribute_path))
    if not attribute.constraint.settable:
        raise ApiError(
            409,
            ErrorCode.NOT_SETTABLE,
            f"attribute {attribute_path} is {attribute.constraint.value}: only SetPoint and Parameter can be set",
            field="path",
        )
    if record.banned:
        raise ApiError(409, ErrorCode.CONFLICT, f"endpoint {endpoint!r} is banned")
    new_value = parse_value(value, attribute, attribute_path)
    timestamp = svc.clock.time()
    try:
        to_send = attribute.with_value(new_value, timestamp)
    except CloudioError as exc:  # e.g. an Integer outside 64 bits
        raise invalid("value", str(exc), code=ErrorCode.INVALID_VALUE) from exc
    await svc.publisher.publish_set(attribute_path, to_send)
    return SetOut(path=str(attribute_path), value=new_value, timestamp=timestamp)
