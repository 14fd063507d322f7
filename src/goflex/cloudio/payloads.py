"""Conversion between model values and decoded documents (the plain maps the codec reads and writes).

Used by :mod:`goflex.cloudio.messages`; kept apart so each module stays small. Every function here raises only
:class:`~goflex.cloudio.errors.RejectedPayload`, with ``field`` naming the offending place in the document.
"""

from __future__ import annotations

import math
from collections.abc import Set

from goflex.cloudio.errors import InvalidName, RejectedPayload, RejectReason
from goflex.cloudio.model import (
    Attribute,
    AttributeType,
    Constraint,
    EndpointModel,
    FrozenMap,
    Node,
    ObjectModel,
    Value,
    check_value,
)

ATTRIBUTE_KEYS = frozenset({"constraint", "type", "timestamp", "value"})
SHORT_COMMAND_KEYS = frozenset({"timestamp", "value"})  # seed Appendix 4.2.1.1


def require_map(raw: object, field: str) -> dict[str, object]:
    """``raw`` as a map, or WRONG_SCHEMA."""
    if not isinstance(raw, dict):
        raise RejectedPayload(RejectReason.WRONG_SCHEMA, field, "expected a map")
    return raw


def require_keys(doc: dict[str, object], field: str, *, required: Set[str], optional: Set[str] = frozenset()) -> None:
    """Refuse unknown keys (UNKNOWN_KEY) and missing required ones (WRONG_SCHEMA), as the reference services do."""
    for key in doc:
        if key not in required and key not in optional:
            raise RejectedPayload(RejectReason.UNKNOWN_KEY, f"{field}.{key}", "unknown key")
    for key in sorted(required):
        if key not in doc:
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, f"{field}.{key}", "missing")


def timestamp_from_doc(raw: object, field: str, *, required: bool) -> float | None:
    """A wire timestamp [s since epoch]; ``-1`` and null mean none (cloudio.md)."""
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool) and raw == -1):
        if required:
            raise RejectedPayload(RejectReason.NO_TIMESTAMP, field, "missing (-1 or null)")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RejectedPayload(RejectReason.WRONG_TYPE, field, "expected a Number [s since epoch]")
    if not math.isfinite(raw):
        raise RejectedPayload(RejectReason.NOT_FINITE, field, f"{raw}")
    if raw < 0:
        raise RejectedPayload(RejectReason.MALFORMED, field, "negative [s since epoch]")
    return float(raw)


_CONSTRAINTS = {member.value: member for member in Constraint}
_TYPES = {member.value: member for member in AttributeType}


def _constraint(raw: object, field: str) -> Constraint:
    if not isinstance(raw, str) or raw not in _CONSTRAINTS:
        raise RejectedPayload(RejectReason.CONSTRAINT, field, f"{raw!r} is not a cloud.iO constraint")
    return _CONSTRAINTS[raw]


def _type(raw: object, field: str) -> AttributeType:
    if not isinstance(raw, str) or raw not in _TYPES:
        raise RejectedPayload(RejectReason.WRONG_TYPE, field, f"{raw!r} is not a cloud.iO type")
    return _TYPES[raw]


def attribute_to_doc(attr: Attribute, *, in_model: bool = False) -> dict[str, object]:
    """The wire form of an attribute: exactly the four keys; in a model (``@online``) None fields are left out."""
    doc: dict[str, object] = {"constraint": attr.constraint.value, "type": attr.type.value}
    if not (in_model and attr.timestamp is None):
        doc["timestamp"] = attr.timestamp
    if not (in_model and attr.value is None):
        doc["value"] = float(attr.value) if attr.type is AttributeType.NUMBER and attr.value is not None else attr.value
    return doc


def _short_form_value(declared: Attribute, raw: object) -> object:
    # seed 4.2.1.1 sends {"timestamp": t, "value": 1} for a Boolean relay: accept 0/1, and integers for a Number.
    if declared.type is AttributeType.BOOLEAN and type(raw) is int and raw in (0, 1):
        return raw == 1
    if declared.type is AttributeType.NUMBER and type(raw) is int:
        try:
            return float(raw)
        except OverflowError:
            return raw  # check_value refuses it as WRONG_TYPE
    return raw


def attribute_from_doc(raw: object, *, declared: Attribute | None, field: str, in_model: bool = False) -> Attribute:
    """Read an attribute document.

    Args:
        raw: the decoded document.
        declared: the declared attribute; required for the short command form, checked against otherwise.
        field: where the document sits, for error messages.
        in_model: part of an @online/@nodeAdded model: timestamp and value may be absent, null or -1.

    Raises:
        RejectedPayload: WRONG_SCHEMA, UNKNOWN_KEY, CONSTRAINT, WRONG_TYPE, NOT_FINITE, NO_TIMESTAMP.
    """
    doc = require_map(raw, field)
    if not in_model and "value" in doc and doc.keys() <= SHORT_COMMAND_KEYS:
        if declared is None:
            raise RejectedPayload(
                RejectReason.WRONG_SCHEMA, field, "short form {timestamp, value} needs the declared attribute"
            )
        constraint, type_ = declared.constraint, declared.type
        value = _short_form_value(declared, doc["value"])
    else:
        # A missing timestamp is reported as NO_TIMESTAMP below, not as a schema error (cloudio.md: -1/null/none).
        required = {"constraint", "type"} if in_model else {"constraint", "type", "value"}
        require_keys(doc, field, required=required, optional=ATTRIBUTE_KEYS - required)
        constraint = _constraint(doc["constraint"], f"{field}.constraint")
        type_ = _type(doc["type"], f"{field}.type")
        value = doc.get("value")
        if declared is not None and constraint is not declared.constraint:
            raise RejectedPayload(
                RejectReason.CONSTRAINT, f"{field}.constraint", f"declared {declared.constraint.value}"
            )
        if declared is not None and type_ is not declared.type:
            raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.type", f"declared {declared.type.value}")
    timestamp = timestamp_from_doc(doc.get("timestamp"), f"{field}.timestamp", required=not in_model)
    if in_model and constraint is Constraint.STATIC:
        timestamp = None  # Static attributes have no time; tolerate an endpoint that sends one
    elif constraint is Constraint.STATIC:
        raise RejectedPayload(RejectReason.CONSTRAINT, f"{field}.constraint", "a Static attribute is never sent alone")
    checked: Value | None = None
    if value is not None:
        checked = check_value(type_, value, field=f"{field}.value")
    elif not in_model:
        raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.value", "missing (null)")
    return Attribute(constraint, type_, timestamp, checked)


def _names(raw: object, field: str) -> dict[str, object]:
    return require_map({} if raw is None else raw, field)


def object_from_doc(raw: object, field: str) -> ObjectModel:
    """Read an object document ``{"conforms", "objects", "attributes"}`` (all optional)."""
    doc = require_map(raw, field)
    require_keys(doc, field, required=set(), optional={"conforms", "objects", "attributes"})
    conforms = doc.get("conforms")
    if conforms is not None and not isinstance(conforms, str):
        raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.conforms", "expected text or null")
    attributes = {
        name: attribute_from_doc(item, declared=None, field=f"{field}.attributes.{name}", in_model=True)
        for name, item in _names(doc.get("attributes"), f"{field}.attributes").items()
    }
    objects = {
        name: object_from_doc(item, f"{field}.objects.{name}")
        for name, item in _names(doc.get("objects"), f"{field}.objects").items()
    }
    try:
        return ObjectModel(FrozenMap(attributes), FrozenMap(objects), conforms)
    except InvalidName as exc:
        raise RejectedPayload(RejectReason.MALFORMED, field, str(exc)) from exc


def object_to_doc(obj: ObjectModel) -> dict[str, object]:
    """The wire form of an object (``conforms`` left out when None)."""
    doc: dict[str, object] = {} if obj.conforms is None else {"conforms": obj.conforms}
    doc["objects"] = {name: object_to_doc(child) for name, child in obj.objects.items()}
    doc["attributes"] = {name: attribute_to_doc(a, in_model=True) for name, a in obj.attributes.items()}
    return doc


def node_to_doc(node: Node) -> dict[str, object]:
    """The @nodeAdded document."""
    return {
        "implements": list(node.implements),
        "objects": {name: object_to_doc(child) for name, child in node.objects.items()},
    }


def node_from_doc(raw: object, field: str) -> Node:
    """Read a node document ``{"implements", "objects"}``."""
    doc = require_map(raw, field)
    require_keys(doc, field, required=set(), optional={"implements", "objects"})
    implements = doc.get("implements") or []
    if not isinstance(implements, list) or not all(isinstance(i, str) for i in implements):
        raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.implements", "expected an array of text")
    objects = {
        name: object_from_doc(item, f"{field}.objects.{name}")
        for name, item in _names(doc.get("objects"), f"{field}.objects").items()
    }
    try:
        return Node(FrozenMap(objects), tuple(implements))
    except InvalidName as exc:
        raise RejectedPayload(RejectReason.MALFORMED, f"{field}.objects", str(exc)) from exc


def endpoint_to_doc(model: EndpointModel) -> dict[str, object]:
    """The @online document."""
    return {
        "version": model.version,
        "messageFormatVersion": model.message_format_version,
        "supportedFormats": list(model.supported_formats),
        "nodes": {name: node_to_doc(n) for name, n in model.nodes.items()},
    }


def endpoint_from_doc(name: str, raw: object) -> EndpointModel:
    """Read the @online document of endpoint ``name``."""
    doc = require_map(raw, "endpoint")
    require_keys(doc, "endpoint", required={"nodes"}, optional={"version", "messageFormatVersion", "supportedFormats"})
    version = doc.get("version", "v0.2")
    if not isinstance(version, str):
        raise RejectedPayload(RejectReason.WRONG_TYPE, "endpoint.version", "expected text")
    mfv = doc.get("messageFormatVersion", 1)
    if isinstance(mfv, bool) or not isinstance(mfv, int):
        raise RejectedPayload(RejectReason.WRONG_TYPE, "endpoint.messageFormatVersion", "expected an Integer")
    formats = doc.get("supportedFormats", ["JSON"])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise RejectedPayload(RejectReason.WRONG_TYPE, "endpoint.supportedFormats", "expected an array of text")
    nodes = {
        node_name: node_from_doc(item, f"endpoint.nodes.{node_name}")
        for node_name, item in _names(doc["nodes"], "endpoint.nodes").items()
    }
    try:
        return EndpointModel(name, FrozenMap(nodes), version, mfv, tuple(formats))
    except InvalidName as exc:
        raise RejectedPayload(RejectReason.MALFORMED, "endpoint.nodes", str(exc)) from exc
