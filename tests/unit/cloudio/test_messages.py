from __future__ import annotations

import json

import pytest

from goflex.cloudio import (
    Ack,
    AckMessage,
    Attribute,
    AttributePath,
    AttributeType,
    CloudioError,
    Constraint,
    DelayedMessage,
    EndpointModel,
    Format,
    InvalidTopic,
    NodeAddedMessage,
    OfflineMessage,
    OnlineMessage,
    RejectedPayload,
    RejectReason,
    SetMessage,
    Topic,
    TransactionMessage,
    UpdateMessage,
    decode_ack,
    decode_attribute,
    decode_delayed,
    decode_endpoint,
    decode_message,
    decode_transaction,
    encode_ack,
    encode_attribute,
    encode_delayed,
    encode_endpoint,
    encode_node,
    encode_transaction,
)

C, T = Constraint, AttributeType
EP = "goflex-dc-004"
RELAY_TOPIC = f"@set/{EP}/nodes/gateway/objects/relay1Control/attributes/parameter"
WATTS = AttributePath(EP, "powerMeter-1", ("wattsTotal",), "datapoint")
WATTS_TOPIC = f"@update/{EP}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"


def doc(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def measure(value: object = 1234.5, timestamp: object = 1.6e9, **extra: object) -> bytes:
    return doc(constraint="Measure", type="Number", timestamp=timestamp, value=value, **extra)


def rejected(topic: str, payload: bytes, model: EndpointModel | None = None) -> RejectedPayload:
    with pytest.raises(RejectedPayload) as caught:
        decode_message(topic, payload, model=model)
    return caught.value


def test_seed_relay_command_in_short_form(house: EndpointModel) -> None:
    """Seed Appendix 4.2.1.1: @set .../relay1Control/attributes/parameter with {"timestamp": t, "value": 1}."""
    message = decode_message(RELAY_TOPIC, b'{"timestamp":1.6e9,"value":1}', model=house)
    assert isinstance(message, SetMessage)
    assert message.attribute == Attribute(C.PARAMETER, T.BOOLEAN, 1.6e9, True)
    off = decode_message(RELAY_TOPIC, b'{"timestamp":1600000000,"value":0}', model=house)
    assert isinstance(off, SetMessage)
    assert off.attribute.value is False
    assert rejected(RELAY_TOPIC, b'{"timestamp":1.6e9,"value":2}', house).reason is RejectReason.WRONG_TYPE
    # Without the model the short form cannot be typed.
    assert rejected(RELAY_TOPIC, b'{"timestamp":1.6e9,"value":1}').reason is RejectReason.WRONG_SCHEMA


def test_pilot_update_is_decoded_and_checked(house: EndpointModel) -> None:
    message = decode_message(WATTS_TOPIC, measure(), model=house)
    assert message == UpdateMessage(WATTS, Attribute(C.MEASURE, T.NUMBER, 1.6e9, 1234.5))
    assert (
        decode_message(WATTS_TOPIC.replace("/nodes", "").replace("/objects", "").replace("/attributes", ""), measure())
        == message
    )


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (WATTS_TOPIC, measure(value=1234), RejectReason.WRONG_TYPE),  # integer literal for a Number
        (WATTS_TOPIC, measure(value="1234"), RejectReason.WRONG_TYPE),
        (WATTS_TOPIC, measure(value=None), RejectReason.WRONG_TYPE),
        (WATTS_TOPIC, measure(timestamp=-1), RejectReason.NO_TIMESTAMP),
        (WATTS_TOPIC, measure(timestamp=None), RejectReason.NO_TIMESTAMP),
        (WATTS_TOPIC, doc(constraint="Measure", type="Number", value=1.0), RejectReason.NO_TIMESTAMP),
        (WATTS_TOPIC, measure(quality="good"), RejectReason.UNKNOWN_KEY),
        (WATTS_TOPIC, doc(constraint="Measure", timestamp=1.0, value=1.0), RejectReason.WRONG_SCHEMA),
        (WATTS_TOPIC, doc(constraint="Parameter", type="Number", timestamp=1.0, value=1.0), RejectReason.CONSTRAINT),
        (WATTS_TOPIC, doc(constraint="Static", type="Number", timestamp=1.0, value=1.0), RejectReason.CONSTRAINT),
        (WATTS_TOPIC, doc(constraint="Invalid", type="Number", timestamp=1.0, value=1.0), RejectReason.CONSTRAINT),
        (WATTS_TOPIC, doc(constraint="Measure", type="Double", timestamp=1.0, value=1.0), RejectReason.WRONG_TYPE),
        (WATTS_TOPIC, b'{"constraint":"Measure","type":"Number","timestamp":1.0,"value":NaN}', RejectReason.NOT_FINITE),
        (RELAY_TOPIC, measure(), RejectReason.CONSTRAINT),  # @set of a Measure
    ],
)
def test_bad_attribute_payloads_are_rejected_with_their_reason(
    topic: str, payload: bytes, reason: RejectReason
) -> None:
    error = rejected(topic, payload)
    assert error.reason is reason
    assert error.field  # names the offending field


def test_model_decides_unknown_attribute_constraint_and_type(house: EndpointModel) -> None:
    unknown = WATTS_TOPIC.replace("wattsTotal", "wattsClamp9")
    assert rejected(unknown, measure(), house).reason is RejectReason.UNKNOWN_ATTRIBUTE
    relay_state = f"@update/{EP}/gateway/relay1State/datapoint"
    payload = doc(constraint="Status", type="Number", timestamp=1.0, value=1.0)
    assert rejected(relay_state, payload, house).reason is RejectReason.WRONG_TYPE
    relay_update = f"@update/{EP}/gateway/relay1Control/parameter"
    payload = doc(constraint="Parameter", type="Boolean", timestamp=1.0, value=True)
    assert rejected(relay_update, payload, house).reason is RejectReason.CONSTRAINT


def test_online_model_static_attributes_have_no_timestamp(house: EndpointModel) -> None:
    payload = encode_endpoint(house)
    document = json.loads(payload)
    assert document["version"] == "v0.2"
    assert document["messageFormatVersion"] == 2
    assert document["supportedFormats"] == ["JSON", "CBOR"]
    firmware = document["nodes"]["gateway"]["objects"]["firmware"]["attributes"]["version"]
    assert firmware == {"constraint": "Static", "type": "String", "value": "1.4.2"}
    message = decode_message(f"@online/{EP}", payload)
    assert message == OnlineMessage(house)
    assert isinstance(message, OnlineMessage)
    assert message.endpoint == EP
    # An endpoint that sends a timestamp (or -1) for a Static attribute is tolerated.
    firmware["timestamp"] = -1
    assert decode_endpoint(EP, json.dumps(document).encode()) == house


def test_node_added_offline_and_ack(house: EndpointModel) -> None:
    gateway = house.nodes["gateway"]
    added = decode_message(f"@nodeAdded/{EP}/nodes/gateway", encode_node(gateway, Format.CBOR))
    assert added == NodeAddedMessage(EP, "gateway", gateway)
    assert decode_message(f"@offline/{EP}", b"") == OfflineMessage(EP)
    ack = Ack.from_sequences([1, 2, 3, 7, 8], resend=[5])
    assert ack == Ack(((1, 3), (7, 8)), ((5, 5),))
    assert ack.covers(2)
    assert not ack.covers(5)
    assert decode_message(f"@ack/{EP}", encode_ack(ack)) == AckMessage(EP, ack)
    assert decode_ack(b'{"acked":[[0,0]]}') == Ack(((0, 0),))
    for bad in (b'{"acked":[[3,1]]}', b'{"acked":[[-1,1]]}', b'{"acked":[[1]]}', b'{"acked":[[1,true]]}'):
        with pytest.raises(RejectedPayload):
            decode_ack(bad)
    with pytest.raises(RejectedPayload, match="4096"):
        decode_ack(json.dumps({"acked": [[i, i] for i in range(0, 10_000, 2)]}).encode())


def test_transaction_accepts_short_and_long_keys_and_denies_other_endpoints(house: EndpointModel) -> None:
    a = Attribute(C.MEASURE, T.NUMBER, 1.6e9, 1.0)
    payload = encode_transaction([(WATTS, a)])
    assert json.loads(payload) == {"attributes": {str(WATTS): json.loads(encode_attribute(a))}}
    long_keys = json.dumps({"attributes": {WATTS.long(): json.loads(encode_attribute(a))}}).encode()
    assert decode_transaction(EP, long_keys) == [(WATTS, a)]
    message = decode_message(f"@transaction/{EP}", payload, model=house)
    assert message == TransactionMessage(EP, ((WATTS, a),))
    with pytest.raises(RejectedPayload) as caught:
        decode_transaction("goflex-dc-005", payload)
    assert caught.value.reason is RejectReason.DENIED
    both = json.dumps(
        {"attributes": {WATTS.long(): json.loads(encode_attribute(a)), str(WATTS): json.loads(encode_attribute(a))}}
    ).encode()
    with pytest.raises(RejectedPayload, match="twice"):
        decode_transaction(EP, both)


def test_delayed_unpacks_updates_and_refuses_foreign_or_set_entries(house: EndpointModel) -> None:
    a = Attribute(C.MEASURE, T.NUMBER, 1.6e9, 1.0)
    payload = encode_delayed(1.6e9 + 60, [(Topic.update(WATTS), a)])
    assert decode_delayed(EP, payload) == [(Topic.update(WATTS), a)]
    message = decode_message(f"@delayed/{EP}", payload, model=house)
    assert message == DelayedMessage(EP, ((Topic.update(WATTS), a),), 1.6e9 + 60)
    with pytest.raises(RejectedPayload) as caught:
        decode_delayed("goflex-dc-005", payload)
    assert caught.value.reason is RejectReason.DENIED
    relay = AttributePath(EP, "gateway", ("relay1Control",), "parameter")
    setting = encode_delayed(1.0, [(Topic.set(relay), Attribute(C.PARAMETER, T.BOOLEAN, 1.0, True))])
    with pytest.raises(RejectedPayload) as caught:
        decode_delayed(EP, setting)
    assert caught.value.reason is RejectReason.WRONG_SCHEMA


def test_decode_attribute_against_declared() -> None:
    declared = Attribute(C.SETPOINT, T.NUMBER, None, 20.0)
    assert decode_attribute(b'{"timestamp":5,"value":21}', declared=declared).value == 21.0
    with pytest.raises(RejectedPayload) as caught:
        decode_attribute(encode_attribute(Attribute(C.PARAMETER, T.NUMBER, 1.0, 1.0)), declared=declared)
    assert caught.value.reason is RejectReason.CONSTRAINT
    with pytest.raises(RejectedPayload) as caught:
        decode_attribute(b'{"value":21}', declared=declared)
    assert caught.value.reason is RejectReason.NO_TIMESTAMP


def test_logs_and_bad_topics() -> None:
    message = decode_message(f"@logs/{EP}", b'{"level":"WARN","message":"relay stuck","timestamp":1.6e9}')
    assert message.text == "relay stuck"  # type: ignore[union-attr]
    with pytest.raises(InvalidTopic):
        decode_message("@update/goflex-dc-004", measure())
    with pytest.raises(CloudioError):
        decode_message("@unknown/x", b"")
    with pytest.raises(RejectedPayload):
        decode_message(WATTS_TOPIC, "not bytes")  # type: ignore[arg-type]
