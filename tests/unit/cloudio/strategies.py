"""Hypothesis strategies for cloud.iO values."""

from __future__ import annotations

from hypothesis import strategies as st

from goflex.cloudio import (
    Ack,
    Action,
    Attribute,
    AttributePath,
    AttributeType,
    Constraint,
    EndpointModel,
    FrozenMap,
    Node,
    ObjectModel,
    Topic,
)
from goflex.cloudio.model import INT64_MAX, INT64_MIN, Value

# Letters, digits, marks, symbols and punctuation; no separators, wildcards, whitespace or control characters.
_NAME_CHARS = st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="/.#+*")
names = st.text(_NAME_CHARS, min_size=1, max_size=64)
# Mostly short ASCII names like the pilot's, sometimes anything valid (including "nodes", "objects", ...).
simple_names = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True),
    st.sampled_from(["objects", "attributes", "datapoint", "parameter"]),
    names,
)
node_names = simple_names.filter(lambda n: n != "nodes")
timestamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)


def values(type_: AttributeType) -> st.SearchStrategy[Value]:
    if type_ is AttributeType.BOOLEAN:
        return st.booleans()
    if type_ is AttributeType.INTEGER:
        return st.integers(INT64_MIN, INT64_MAX)
    if type_ is AttributeType.NUMBER:
        return st.floats(allow_nan=False, allow_infinity=False)
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@st.composite
def attributes(
    draw: st.DrawFn, *, constraints: tuple[Constraint, ...] = tuple(Constraint), full: bool = False
) -> Attribute:
    """An attribute; ``full`` = as in an @update/@set payload (timestamp and value present, not Static)."""
    constraint = draw(st.sampled_from(constraints))
    type_ = draw(st.sampled_from(list(AttributeType)))
    value = draw(values(type_) if full else st.none() | values(type_))
    stamps = timestamps if full else st.none() | timestamps
    timestamp = None if constraint is Constraint.STATIC else draw(stamps)
    return Attribute(constraint, type_, timestamp, value)


message_attributes = attributes(
    constraints=(Constraint.STATUS, Constraint.MEASURE, Constraint.PARAMETER, Constraint.SETPOINT), full=True
)
updates = attributes(constraints=(Constraint.STATUS, Constraint.MEASURE), full=True)
object_models: st.SearchStrategy[ObjectModel] = st.deferred(
    lambda: st.builds(
        ObjectModel,
        st.dictionaries(simple_names, attributes(), max_size=3).map(FrozenMap),
        st.dictionaries(simple_names, object_models, max_size=2).map(FrozenMap),
        st.none() | simple_names,
    )
)
nodes = st.builds(
    Node,
    st.dictionaries(simple_names, object_models, max_size=3).map(FrozenMap),
    st.lists(simple_names, max_size=2).map(tuple),
)
endpoint_models = st.builds(
    EndpointModel,
    names,
    st.dictionaries(node_names, nodes, max_size=3).map(FrozenMap),
    st.sampled_from(["v0.1", "v0.2"]),
    st.sampled_from([1, 2]),
    st.sampled_from([("JSON",), ("JSON", "CBOR"), ("CBOR",)]),
)


def paths(endpoint: str | st.SearchStrategy[str] = simple_names) -> st.SearchStrategy[AttributePath]:
    ep = endpoint if isinstance(endpoint, st.SearchStrategy) else st.just(endpoint)
    return st.builds(
        AttributePath, ep, node_names, st.lists(simple_names, min_size=1, max_size=4).map(tuple), simple_names
    )


@st.composite
def topics(draw: st.DrawFn) -> Topic:
    action = draw(st.sampled_from(list(Action)))
    endpoint = draw(simple_names)
    if action.addresses_attribute:
        return Topic.for_path(action, draw(paths(endpoint)))
    if action.addresses_node:
        return Topic.for_node(action, endpoint, draw(node_names))
    return Topic.for_endpoint(action, endpoint)


seqs = st.integers(0, INT64_MAX)
ranges = st.tuples(seqs, seqs).map(lambda p: (min(p), max(p)))
acks = st.builds(Ack, st.lists(ranges, max_size=20).map(tuple), st.lists(ranges, max_size=5).map(tuple))

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
)
json_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
documents = st.dictionaries(
    json_texts,
    st.recursive(
        json_scalars | json_texts,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_texts, inner, max_size=4),
        max_leaves=20,
    ),
    max_size=5,
)
