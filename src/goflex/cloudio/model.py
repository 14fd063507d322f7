"""The cloud.iO data model: endpoint -> nodes -> objects (nested) -> attributes (see reference/cloudio.md).

Everything here is an immutable value: frozen dataclasses whose mappings are :class:`FrozenMap` (read-only,
hashable, equal by value), so a model can be shared between tasks and used as a dictionary key.

Declaring a model takes a few lines with :func:`endpoint`, :func:`node`, :func:`obj` and :func:`attr`
(the names of Appendix 4 of the seed are exact)::

    from goflex.cloudio.model import AttributeType as T, Constraint as C, attr, endpoint, node, obj

    model = endpoint("goflex-dc-004", {
        "powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER))}),
        "gateway": node({
            "relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN)),
            "relay1Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, True)),
        }),
    })
    path = AttributePath.parse("goflex-dc-004/powerMeter-1/wattsTotal/datapoint")
    model = model.update_value(path, 1234.5, timestamp=1.6e9)

Attribute names that are not Python identifiers (or clash with ``objects``/``conforms``) go in a mapping:
``obj({"my-attr": attr(...)})``.

Naming rules: names are 1..64 characters without ``/ . # + *``, whitespace or control characters
(cloudio.md: the MQTT wildcards and the separators of topics and paths). The node name ``nodes`` is reserved:
it is the keyword that marks the long (v0.1) path form, so ``ep/nodes/...`` always reads as a long path and
every short path reads back unambiguously.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from goflex.cloudio.errors import InvalidName, RejectedPayload, RejectReason

K = TypeVar("K")
V = TypeVar("V")

MAX_NAME_LENGTH = 64
"""Longest accepted name [characters]; keeps topics short and certificate CNs (max 64) valid."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""Range of an ``Integer`` value: what the history database (bigint) and the reference services (Long) hold."""
_FORBIDDEN = frozenset("/.#+*")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})  # control, invisible format, surrogate, private use
RESERVED_NODE_NAME = "nodes"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the pilot's names: accepted without the per-character walk


class Constraint(StrEnum):
    """Who may change an attribute (cloudio.md, "Data model")."""

    STATIC = "Static"
    PARAMETER = "Parameter"
    STATUS = "Status"
    SETPOINT = "SetPoint"
    MEASURE = "Measure"

    @property
    def updatable(self) -> bool:
        """True if the endpoint may publish it in ``@update`` (Status and Measure)."""
        return self in (Constraint.STATUS, Constraint.MEASURE)

    @property
    def settable(self) -> bool:
        """True if the cloud may write it with ``@set`` (and the endpoint confirm with ``@didSet``)."""
        return self in (Constraint.PARAMETER, Constraint.SETPOINT)


class AttributeType(StrEnum):
    """The four cloud.iO value types; there are no arrays."""

    BOOLEAN = "Boolean"
    INTEGER = "Integer"
    NUMBER = "Number"
    STRING = "String"


Value = bool | int | float | str


class FrozenMap(Mapping[K, V]):
    """A read-only mapping that keeps insertion order, compares by value and is hashable."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data: dict[K, V] = dict(data)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def validate_name(name: str, *, what: str = "name") -> str:
    """Check one name of the model (endpoint, node, object or attribute) and return it.

    Raises:
        InvalidName: empty, longer than 64 characters, or containing ``/ . # + *``, whitespace or control
            characters.
    """
    if not isinstance(name, str):
        raise InvalidName(repr(name), "not a string", what=what)
    if _PLAIN_NAME.fullmatch(name):
        return name
    if not name:
        raise InvalidName(name, "empty", what=what)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(name, f"longer than {MAX_NAME_LENGTH} characters", what=what)
    for char in name:
        if char in _FORBIDDEN:
            raise InvalidName(name, f"contains {char!r} (forbidden: / . # + *)", what=what)
        if char.isspace() or unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidName(name, f"contains whitespace or control character U+{ord(char):04X}", what=what)
    return name


def validate_node_name(name: str) -> str:
    """Like :func:`validate_name`, and also refuse ``nodes`` (the keyword of the long path form)."""
    validate_name(name, what="node")
    if name == RESERVED_NODE_NAME:
        raise InvalidName(name, "reserved: it marks the long path form", what="node")
    return name


def check_value(type_: AttributeType, value: object, *, field: str) -> Value:
    """Check a wire value strictly against its declared type and return it.

    Strict as the reference services: a bool is not an Integer, an integer literal is not a Number.

    Args:
        type_: the declared type.
        value: the decoded value.
        field: the document path used in the error message.

    Raises:
        RejectedPayload: WRONG_TYPE, NOT_FINITE (NaN/inf Number) or NOT_UTF8 (lone surrogates in a String).
    """
    if type_ is AttributeType.BOOLEAN and isinstance(value, bool):
        return value
    if type_ is AttributeType.INTEGER and isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise RejectedPayload(RejectReason.WRONG_TYPE, field, "Integer outside the signed 64-bit range")
        return int(value)
    if type_ is AttributeType.NUMBER and isinstance(value, float):
        if not math.isfinite(value):
            raise RejectedPayload(RejectReason.NOT_FINITE, field, f"Number is {value}")
        return float(value)
    if type_ is AttributeType.STRING and isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RejectedPayload(RejectReason.NOT_UTF8, field, "String is not valid Unicode") from exc
        return value
    raise RejectedPayload(RejectReason.WRONG_TYPE, field, f"expected {type_.value}, got {type(value).__name__}")


@dataclass(frozen=True)
class Attribute:
    """One leaf of the model.

    Args:
        constraint: who may change it.
        type: its value type.
        timestamp: when the value was taken [s since the UNIX epoch, UTC], None if unknown. Static attributes
            have none.
        value: the current value, None if not known yet. The Python constructor accepts an ``int`` for a Number
            and stores it as ``float`` (the wire decoder is strict, see :func:`check_value`).

    Raises:
        RejectedPayload: the value does not fit the type, or the timestamp is invalid.
    """

    constraint: Constraint
    type: AttributeType
    timestamp: float | None = None
    value: Value | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.constraint, Constraint):
            object.__setattr__(self, "constraint", Constraint(self.constraint))
        if not isinstance(self.type, AttributeType):
            object.__setattr__(self, "type", AttributeType(self.type))
        ts = self.timestamp
        if ts is not None:
            if isinstance(ts, bool) or not isinstance(ts, int | float):
                raise RejectedPayload(RejectReason.WRONG_TYPE, "timestamp", "expected a Number [s]")
            if not math.isfinite(ts):
                raise RejectedPayload(RejectReason.NOT_FINITE, "timestamp", f"timestamp is {ts}")
            if ts < 0:
                raise RejectedPayload(RejectReason.MALFORMED, "timestamp", "negative [s since epoch]")
            if self.constraint is Constraint.STATIC:
                raise RejectedPayload(RejectReason.CONSTRAINT, "timestamp", "a Static attribute has no timestamp")
            object.__setattr__(self, "timestamp", float(ts))
        value = self.value
        if value is not None:
            if self.type is AttributeType.NUMBER and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            object.__setattr__(self, "value", check_value(self.type, value, field="value"))

    def with_value(self, value: Value, timestamp: float | None) -> Attribute:
        """Return a copy with a new value and timestamp [s] (type checked as in the constructor)."""
        return replace(self, value=value, timestamp=timestamp)


def _freeze_named(items: Mapping[str, V], what: str, kind: type[V], *, node_names: bool = False) -> FrozenMap[str, V]:
    for name, item in items.items():
        if node_names:
            validate_node_name(name)
        else:
            validate_name(name, what=what)
        if not isinstance(item, kind):
            raise TypeError(f"{what} {name!r} is a {type(item).__name__}, expected {kind.__name__}")
    return items if isinstance(items, FrozenMap) else FrozenMap(items)


@dataclass(frozen=True)
class ObjectModel:
    """An object: attributes and nested objects; ``conforms`` names the class it follows (or None)."""

    attributes: Mapping[str, Attribute] = field(default_factory=FrozenMap)
    objects: Mapping[str, ObjectModel] = field(default_factory=FrozenMap)
    conforms: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _freeze_named(self.attributes, "attribute", Attribute))
        object.__setattr__(self, "objects", _freeze_named(self.objects, "object", ObjectModel))


@dataclass(frozen=True)
class Node:
    """A node: the unit an endpoint adds or removes at run time (``@nodeAdded`` / ``@nodeRemoved``)."""

    objects: Mapping[str, ObjectModel] = field(default_factory=FrozenMap)
    implements: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", _freeze_named(self.objects, "object", ObjectModel))
        object.__setattr__(self, "implements", tuple(self.implements))


@dataclass(frozen=True, order=True)
class AttributePath:
    """The address of one attribute.

    ``str(path)`` is the short form ``ep/node/obj/.../attr`` (canonical in the databases); :meth:`long` gives
    the pilot's "attribute full label" ``ep/nodes/node/objects/obj/.../attributes/attr``.

    Raises:
        InvalidName: a name breaks the naming rules, or there is no object.
    """

    endpoint: str
    node: str
    objects: tuple[str, ...]
    attribute: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        validate_name(self.endpoint, what="endpoint")
        validate_node_name(self.node)
        if not self.objects:
            raise InvalidName(self.attribute, "an attribute path needs at least one object", what="attribute path")
        for name in self.objects:
            validate_name(name, what="object")
        validate_name(self.attribute, what="attribute")

    def __str__(self) -> str:
        return "/".join((self.endpoint, self.node, *self.objects, self.attribute))

    def long(self) -> str:
        """The long (v0.1) form used by the Swiss pilot."""
        objects = "/".join(f"objects/{name}" for name in self.objects)
        return f"{self.endpoint}/nodes/{self.node}/{objects}/attributes/{self.attribute}"

    @classmethod
    def parse(cls, text: str) -> AttributePath:
        """Read a path in the short or the long form.

        A path whose second segment is ``nodes`` is read as the long form and must then fit it exactly.

        Raises:
            InvalidName: not a path, or a name breaks the rules.
        """
        parts = text.split("/")
        if len(parts) < 4:
            raise InvalidName(text, "expected endpoint/node/object/.../attribute", what="attribute path")
        node, objects, attribute = parse_path_tail(parts[1:], text)
        return cls(parts[0], node, objects, attribute)


def parse_path_tail(parts: list[str], text: str) -> tuple[str, tuple[str, ...], str]:
    """Split the segments after the endpoint into (node, objects, attribute), short or long form.

    Raises:
        InvalidName: the long form is malformed, or there are fewer than three segments.
    """
    if parts and parts[0] == RESERVED_NODE_NAME:
        # Long form: nodes/<node>/objects/<o1>[/objects/<o2>...]/attributes/<attr>
        n = len(parts)
        ok = n >= 6 and n % 2 == 0 and parts[-2] == "attributes"
        ok = ok and all(parts[i] == "objects" for i in range(2, n - 2, 2))
        if not ok:
            raise InvalidName(
                text, "long form must be nodes/<n>/objects/<o>[/objects/<o>...]/attributes/<a>", what="path"
            )
        return parts[1], tuple(parts[3 : n - 2 : 2]), parts[-1]
    if len(parts) < 3:
        raise InvalidName(text, "expected node/object/.../attribute after the endpoint", what="path")
    return parts[0], tuple(parts[1:-1]), parts[-1]


@dataclass(frozen=True)
class EndpointModel:
    """The whole data model of an endpoint, as sent in ``@online``."""

    name: str
    nodes: Mapping[str, Node]
    version: str = "v0.2"
    message_format_version: int = 2
    supported_formats: tuple[str, ...] = ("JSON", "CBOR")

    def __post_init__(self) -> None:
        validate_name(self.name, what="endpoint")
        object.__setattr__(self, "nodes", _freeze_named(self.nodes, "node", Node, node_names=True))
        object.__setattr__(self, "supported_formats", tuple(self.supported_formats))

    def find(self, path: AttributePath) -> Attribute | None:
        """The attribute at ``path``, or None if this model has none there."""
        node = self.nodes.get(path.node) if path.endpoint == self.name else None
        if node is None:
            return None
        objects = node.objects
        current: ObjectModel | None = None
        for name in path.objects:
            current = objects.get(name)
            if current is None:
                return None
            objects = current.objects
        return None if current is None else current.attributes.get(path.attribute)

    def attribute(self, path: AttributePath) -> Attribute:
        """The attribute at ``path``.

        Raises:
            RejectedPayload: UNKNOWN_ATTRIBUTE if the model has no such attribute.
        """
        found = self.find(path)
        if found is None:
            raise RejectedPayload(RejectReason.UNKNOWN_ATTRIBUTE, str(path), "not in the endpoint's data model")
        return found

    def iter_attributes(self) -> Iterator[tuple[AttributePath, Attribute]]:
        """Every attribute with its path, depth first in declaration order."""
        for node_name, node in self.nodes.items():
            yield from self._walk(node_name, (), node.objects)

    def _walk(
        self, node: str, prefix: tuple[str, ...], objects: Mapping[str, ObjectModel]
    ) -> Iterator[tuple[AttributePath, Attribute]]:
        for obj_name, obj_model in objects.items():
            here = (*prefix, obj_name)
            for attr_name, attribute in obj_model.attributes.items():
                yield AttributePath(self.name, node, here, attr_name), attribute
            yield from self._walk(node, here, obj_model.objects)

    def replace_attribute(self, path: AttributePath, attribute: Attribute) -> EndpointModel:
        """A copy with the attribute at ``path`` replaced.

        Raises:
            RejectedPayload: UNKNOWN_ATTRIBUTE if there is no attribute at ``path``.
        """
        self.attribute(path)
        node = self.nodes[path.node]

        def rebuild(objects: Mapping[str, ObjectModel], names: tuple[str, ...]) -> FrozenMap[str, ObjectModel]:
            current = objects[names[0]]
            if len(names) == 1:
                new = replace(current, attributes=FrozenMap({**current.attributes, path.attribute: attribute}))
            else:
                new = replace(current, objects=rebuild(current.objects, names[1:]))
            return FrozenMap({**objects, names[0]: new})

        return self.with_node(path.node, replace(node, objects=rebuild(node.objects, path.objects)))

    def update_value(self, path: AttributePath, value: Value, *, timestamp: float | None) -> EndpointModel:
        """A copy with a new value and timestamp [s] at ``path`` (type checked)."""
        return self.replace_attribute(path, self.attribute(path).with_value(value, timestamp))

    def with_node(self, name: str, node: Node) -> EndpointModel:
        """A copy with node ``name`` added or replaced (``@nodeAdded``)."""
        return replace(self, nodes=FrozenMap({**self.nodes, name: node}))

    def without_node(self, name: str) -> EndpointModel:
        """A copy without node ``name`` (``@nodeRemoved``); unchanged if there is no such node."""
        return replace(self, nodes=FrozenMap({k: v for k, v in self.nodes.items() if k != name}))


# --- declaration helpers -------------------------------------------------------------------------------------


def attr(
    constraint: Constraint, type_: AttributeType, value: Value | None = None, *, timestamp: float | None = None
) -> Attribute:
    """Declare an attribute (a Static one takes its fixed value and no timestamp)."""
    return Attribute(constraint, type_, timestamp, value)


def obj(
    attributes: Mapping[str, Attribute] | None = None,
    /,
    *,
    objects: Mapping[str, ObjectModel] | None = None,
    conforms: str | None = None,
    **named: Attribute,
) -> ObjectModel:
    """Declare an object from a mapping and/or keyword attributes, e.g. ``obj(datapoint=attr(...))``."""
    return ObjectModel(FrozenMap({**(attributes or {}), **named}), FrozenMap(objects or {}), conforms)


def node(objects: Mapping[str, ObjectModel], /, *, implements: Iterable[str] = ()) -> Node:
    """Declare a node from its objects."""
    return Node(FrozenMap(objects), tuple(implements))


def endpoint(
    name: str, nodes: Mapping[str, Node], /, *, supported_formats: Iterable[str] = ("JSON", "CBOR")
) -> EndpointModel:
    """Declare an endpoint (``version`` v0.2, ``messageFormatVersion`` 2)."""
    return EndpointModel(name, FrozenMap(nodes), supported_formats=tuple(supported_formats))
