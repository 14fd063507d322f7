"""Invariants of the protocol core, checked with Hypothesis over thousands of examples."""

from __future__ import annotations

import json

import cbor2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from goflex.cloudio import (
    Ack,
    Attribute,
    AttributePath,
    CloudioError,
    EndpointModel,
    Format,
    InvalidName,
    Message,
    Node,
    Topic,
    TopicForm,
    build_topic,
    decode,
    decode_ack,
    decode_attribute,
    decode_delayed,
    decode_endpoint,
    decode_message,
    decode_node,
    decode_transaction,
    encode,
    encode_ack,
    encode_attribute,
    encode_delayed,
    encode_endpoint,
    encode_node,
    encode_transaction,
    parse_topic,
    validate_name,
)
from goflex.cloudio.messages import (
    AckMessage,
    DelayedMessage,
    DidSetMessage,
    ExecMessage,
    LogsLevelMessage,
    LogsMessage,
    NodeAddedMessage,
    NodeRemovedMessage,
    OfflineMessage,
    OnlineMessage,
    SetMessage,
    TransactionMessage,
    UpdateMessage,
)

from .strategies import (
    acks,
    attributes,
    documents,
    endpoint_models,
    message_attributes,
    names,
    nodes,
    paths,
    topics,
    updates,
)

MESSAGE_TYPES = (
    OnlineMessage, OfflineMessage, NodeAddedMessage, NodeRemovedMessage, UpdateMessage, SetMessage, DidSetMessage,
    TransactionMessage, DelayedMessage, LogsMessage, LogsLevelMessage, ExecMessage, AckMessage,
)  # fmt: skip
FORMATS = st.sampled_from(list(Format))


def examples(n: int) -> settings:
    """Thousands where an example is cheap, hundreds for whole endpoint models (total runtime ~15 s)."""
    return settings(max_examples=n, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (so 5 and 5.0 differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@examples(1500)
@given(topics(), st.sampled_from(list(TopicForm)))
def test_topics_round_trip_in_both_forms(topic: Topic, form: TopicForm) -> None:
    assert parse_topic(build_topic(topic, form)) == topic


@examples(600)
@given(paths())
def test_paths_round_trip_in_both_forms(path: AttributePath) -> None:
    assert AttributePath.parse(str(path)) == path
    assert AttributePath.parse(path.long()) == path


@examples(1000)
@given(names, st.sampled_from(list("/.#+*")), st.integers(0, 64))
def test_names_with_a_forbidden_character_are_refused(name: str, bad: str, where: int) -> None:
    validate_name(name)
    spoiled = name[:where] + bad + name[where:]
    try:
        validate_name(spoiled)
    except InvalidName:
        return
    raise AssertionError(f"{spoiled!r} accepted")


@settings(max_examples=200)
@given(st.integers(65, 300))
def test_too_long_names_are_refused(length: int) -> None:
    try:
        validate_name("a" * length)
    except InvalidName:
        return
    raise AssertionError("accepted")


@examples(300)
@given(documents, FORMATS)
def test_codec_round_trips_documents_with_their_types(document: dict[str, object], fmt: Format) -> None:
    assert same(decode(encode(document, fmt)), document)


@examples(1500)
@given(message_attributes, FORMATS)
def test_attributes_round_trip(attribute: Attribute, fmt: Format) -> None:
    assert decode_attribute(encode_attribute(attribute, fmt)) == attribute
    assert decode_attribute(encode_attribute(attribute, fmt), declared=attribute) == attribute


@examples(80)
@given(endpoint_models, FORMATS)
def test_endpoint_models_round_trip(model: EndpointModel, fmt: Format) -> None:
    assert decode_endpoint(model.name, encode_endpoint(model, fmt)) == model


@examples(100)
@given(nodes, FORMATS)
def test_nodes_round_trip(node: Node, fmt: Format) -> None:
    assert decode_node(encode_node(node, fmt)) == node


@examples(100)
@given(
    names.flatmap(lambda ep: st.tuples(st.just(ep), st.lists(st.tuples(paths(ep), updates), max_size=8))),
    FORMATS,
    st.sampled_from(list(TopicForm)),
)
def test_transactions_round_trip(case: tuple[str, list[tuple[AttributePath, Attribute]]], fmt: Format,
                                 form: TopicForm) -> None:  # fmt: skip
    endpoint, items = case
    assume(len({p for p, _ in items}) == len(items))
    assert decode_transaction(endpoint, encode_transaction(items, fmt, form=form)) == items


@examples(100)
@given(
    names.flatmap(lambda ep: st.tuples(st.just(ep), st.lists(st.tuples(paths(ep), updates), max_size=8))),
    st.floats(0, 4e9),
    FORMATS,
)
def test_delayed_round_trips(case: tuple[str, list[tuple[AttributePath, Attribute]]], ts: float, fmt: Format) -> None:
    endpoint, items = case
    messages = [(Topic.update(path), attribute) for path, attribute in items]
    assert decode_delayed(endpoint, encode_delayed(ts, messages, fmt)) == messages


@examples(500)
@given(acks, FORMATS)
def test_acks_round_trip(ack: Ack, fmt: Format) -> None:
    assert decode_ack(encode_ack(ack, fmt)) == ack


def check_total(topic: str, payload: bytes, model: EndpointModel | None = None) -> None:
    """decode_message returns a Message or raises a CloudioError: nothing else."""
    try:
        message: Message = decode_message(topic, payload, model=model)
    except CloudioError:
        return
    assert isinstance(message, MESSAGE_TYPES)


@examples(3000)
@given(st.text(max_size=120), st.binary(max_size=300))
def test_any_topic_and_bytes_decode_or_raise_a_declared_error(topic: str, payload: bytes) -> None:
    check_total(topic, payload)


@examples(600)
@given(topics(), st.sampled_from(list(TopicForm)), st.binary(max_size=300), st.sampled_from([b"{", b"\xa1", b"\xbf"]))
def test_valid_topics_with_garbage_payloads(topic: Topic, form: TopicForm, tail: bytes, head: bytes) -> None:
    check_total(build_topic(topic, form), head + tail)


@examples(300)
@given(topics(), documents, FORMATS)
def test_valid_topics_with_arbitrary_documents(topic: Topic, document: dict[str, object], fmt: Format) -> None:
    check_total(build_topic(topic), encode(document, fmt))


@examples(800)
@given(topics(), message_attributes, FORMATS, st.data())
def test_mutated_valid_payloads_decode_or_raise(topic: Topic, attribute: Attribute, fmt: Format,
                                                data: st.DataObject) -> None:  # fmt: skip
    payload = bytearray(encode_attribute(attribute, fmt))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    check_total(build_topic(topic), bytes(payload[:cut]))


@examples(60)
@given(endpoint_models, st.data())
def test_updates_against_a_model_decode_or_raise(model: EndpointModel, data: st.DataObject) -> None:
    known = list(model.iter_attributes())
    path = data.draw(st.sampled_from([p for p, _ in known]) if known else paths(model.name))
    action_topic = data.draw(st.sampled_from([Topic.update(path), Topic.set(path), Topic.did_set(path)]))
    attribute = data.draw(message_attributes | attributes())
    document = json.loads(encode_attribute(attribute))
    if data.draw(st.booleans()):
        document = {"timestamp": document["timestamp"], "value": document["value"]}
    for fmt_payload in (json.dumps(document).encode(), cbor2.dumps(document)):
        check_total(build_topic(action_topic, TopicForm.SHORT), fmt_payload, model)
