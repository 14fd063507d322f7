"""Pydantic models at the HTTP boundary (request bodies and responses); the domain stays in frozen dataclasses.

Field names follow cloud.iO's JSON (camelCase on the wire: ``messageFormatVersion``, ``userName``) so existing
cloud.iO clients read goflex responses unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from goflex.cloudio.model import Attribute, EndpointModel, Node, ObjectModel

WireValue = bool | int | float | str

Responses = dict[int | str, dict[str, Any]]
"""The ``responses=`` argument of a route (OpenAPI documentation of its error answers)."""


def problems(**by_status: str) -> Responses:
    """Document error answers, e.g. ``problems(e404="no such endpoint")`` -> ``{404: Problem, ...}``."""
    return {int(key.lstrip("e")): {"model": Problem, "description": text} for key, text in by_status.items()}


class Problem(BaseModel):
    """Every error response."""

    detail: str = Field(description="what is wrong, for a person; names the field or attribute to blame")
    code: str = Field(description="stable machine-readable reason (not_found, forbidden, invalid_parameter...)")
    field: str | None = Field(default=None, description="the offending input, if one is to blame")


# ------------------------------------------------------------------------------------------------------- data
class AttributeOut(BaseModel):
    """An attribute with its last known value (cloud.iO Attribute)."""

    constraint: str = Field(description="Static, Parameter, Status, SetPoint or Measure")
    type: str = Field(description="Boolean, Integer, Number or String")
    timestamp: float | None = Field(description="time of the value [s since the UNIX epoch], null if unknown")
    value: WireValue | None = Field(description="the last known value, null if none yet")

    @classmethod
    def of(cls, attribute: Attribute) -> AttributeOut:
        """The response form of a model attribute."""
        return cls(
            constraint=attribute.constraint.value,
            type=attribute.type.value,
            timestamp=attribute.timestamp,
            value=attribute.value,
        )


class ObjectOut(BaseModel):
    """An object: nested objects and attributes (cloud.iO Object)."""

    conforms: str | None = None
    objects: dict[str, ObjectOut] = Field(default_factory=dict)
    attributes: dict[str, AttributeOut] = Field(default_factory=dict)

    @classmethod
    def of(cls, model: ObjectModel) -> ObjectOut:
        """The response form of a model object."""
        return cls(
            conforms=model.conforms,
            objects=_objects(model.objects),
            attributes={name: AttributeOut.of(a) for name, a in model.attributes.items()},
        )


def _objects(objects: Mapping[str, ObjectModel]) -> dict[str, ObjectOut]:
    return {name: ObjectOut.of(o) for name, o in objects.items()}


class NodeOut(BaseModel):
    """A node (cloud.iO Node)."""

    implements: list[str] = Field(default_factory=list)
    objects: dict[str, ObjectOut] = Field(default_factory=dict)

    @classmethod
    def of(cls, model: Node) -> NodeOut:
        """The response form of a model node."""
        return cls(implements=list(model.implements), objects=_objects(model.objects))


class EndpointDataOut(BaseModel):
    """An endpoint's structure and last values, with its connection state."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    online: bool = Field(description="whether the endpoint is connected (last @online not followed by @offline)")
    banned: bool = Field(default=False, description="whether the endpoint is banned")
    version: str = "v0.2"
    message_format_version: int = Field(default=2, alias="messageFormatVersion")
    supported_formats: list[str] = Field(default_factory=list, alias="supportedFormats")
    nodes: dict[str, NodeOut] = Field(default_factory=dict)

    @classmethod
    def of(cls, model: EndpointModel, *, online: bool, banned: bool) -> EndpointDataOut:
        """The response form of an endpoint model with last values."""
        return cls(
            name=model.name,
            online=online,
            banned=banned,
            version=model.version,
            messageFormatVersion=model.message_format_version,
            supportedFormats=list(model.supported_formats),
            nodes={name: NodeOut.of(n) for name, n in model.nodes.items()},
        )


class SetOut(BaseModel):
    """What a ``PUT /data`` sent."""

    path: str = Field(description="the attribute, short form endpoint/node/object/.../attribute")
    value: WireValue = Field(description="the value sent, in the attribute's type")
    timestamp: float = Field(description="the @set timestamp [s since the UNIX epoch]")


# ---------------------------------------------------------------------------------------------------- history
class HistoryPoint(BaseModel):
    """One value of a history series."""

    time: str = Field(description="ISO 8601 UTC time ending in Z (bucket start when resampled)")
    value: WireValue | None = Field(description="the value (the aggregate when resampled; fillValue in gaps)")


# ------------------------------------------------------------------------------------------- endpoints, users
class EndpointOut(BaseModel):
    """An endpoint in a listing."""

    name: str
    online: bool
    banned: bool
    permission: str = Field(description="the caller's effective permission (OWN for administrators)")


class EndpointCreate(BaseModel):
    """Body of ``POST /endpoints``."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    name: str = Field(description="endpoint name (= certificate CN), e.g. goflex-dc-004")
    owner: str | None = Field(
        default=None, alias="ownerName", description="user who becomes OWN; the caller when omitted"
    )


class GrantOut(BaseModel):
    """The permission now held on an endpoint by a user or group."""

    model_config = ConfigDict(populate_by_name=True)

    endpoint: str
    principal: str = Field(description="user or group name")
    permission: str


class UserCreate(BaseModel):
    """Body of ``POST /users``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=8, description="never logged; stored as an argon2 hash")
    admin: bool = False


class UserOut(BaseModel):
    """A user (never with a password)."""

    name: str
    admin: bool
    groups: list[str] = Field(default_factory=list)


class GroupCreate(BaseModel):
    """Body of ``POST /groups``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)


class GroupOut(BaseModel):
    """A group with its members."""

    name: str
    members: list[str] = Field(default_factory=list)


class MemberAdd(BaseModel):
    """Body of ``POST /groups/{group}/members``."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    user: str = Field(alias="userName")


class Done(BaseModel):
    """A change was made."""

    status: Literal["ok"] = "ok"
    at: datetime | None = None
