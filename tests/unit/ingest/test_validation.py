"""Validation: what ingest stores, and what it rejects with which reason (R10, Q1)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.cloudio.errors import RejectReason
from goflex.cloudio.messages import encode_endpoint, encode_transaction
from goflex.cloudio.model import Attribute, AttributePath, attr, endpoint, node, obj
from goflex.cloudio.model import AttributeType as T
from goflex.cloudio.model import Constraint as C  # noqa: N817
from goflex.cloudio.topics import Action
from goflex.ingest.validation import Item, Presence, Validator

EP = "goflex-dc-001"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MODEL = endpoint(
    EP,
    {
        "powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER))}),
        "gateway": node(
            {
                "relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN)),
                "relay1Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, True)),
            }
        ),
    },
)
POWER = AttributePath(EP, "powerMeter-1", ("wattsTotal",), "datapoint")
RELAY = AttributePath(EP, "gateway", ("relay1State",), "datapoint")
UPDATE_TOPIC = f"@update/{EP}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"
validator = Validator(future_tolerance_s=600, acceptance_window_s=30 * 86400)


def update(value: object, ts: float = NOW, type_: str = "Number", constraint: str = "Measure") -> bytes:
    doc = {"constraint": constraint, "type": type_, "timestamp": ts, "value": value}
    return json.dumps(doc).encode()


def test_good_update_becomes_one_item() -> None:
    verdict = validator.validate(UPDATE_TOPIC, update(1234.5), model=MODEL, now=NOW)
    assert verdict.rejections == ()
    assert verdict.items == (Item(POWER, NOW, 1234.5, T.NUMBER, 0),)
    assert verdict.endpoint == EP
    assert verdict.action is Action.UPDATE


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (NOW + 601, RejectReason.TIMESTAMP_FUTURE),
        (NOW - 31 * 86400, RejectReason.TIMESTAMP_TOO_OLD),
    ],
)
def test_timestamps_outside_the_window_are_refused(ts: float, reason: RejectReason) -> None:
    verdict = validator.validate(UPDATE_TOPIC, update(1.0, ts), model=MODEL, now=NOW)
    assert verdict.items == ()
    assert [r.reason for r in verdict.rejections] == [reason]


def test_back_filled_value_within_the_window_is_accepted() -> None:
    verdict = validator.validate(UPDATE_TOPIC, update(1.0, NOW - 29 * 86400), model=MODEL, now=NOW)
    assert len(verdict.items) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"constraint": "Measure", "type": "Number", "timest', RejectReason.MALFORMED),
        (b"\xff\xfe{garbage", RejectReason.MALFORMED),
        (b'{"constraint": "Measure", "type": "Number", "timestamp": 1, "value": NaN}', RejectReason.NOT_FINITE),
        (update("high"), RejectReason.WRONG_TYPE),
        (update(True, type_="Boolean"), RejectReason.WRONG_TYPE),
        (b'{"value": 1, "extra": 2, "timestamp": 1, "type": "Number", "constraint": "Measure"}', None),
        (b"{" * 5000, None),
        (b"x" * (10 * 1024 * 1024), RejectReason.TOO_LARGE),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(payload: bytes, reason: RejectReason | None) -> None:
    verdict = validator.validate(UPDATE_TOPIC, payload, model=MODEL, now=NOW)
    assert verdict.items == ()
    assert len(verdict.rejections) == 1
    if reason is not None:
        assert verdict.rejections[0].reason is reason


def test_update_for_unknown_endpoint_or_attribute_is_unknown_attribute() -> None:
    unknown = f"@update/{EP}/nodes/powerMeter-1/objects/nope/attributes/datapoint"
    for topic, model in ((UPDATE_TOPIC, None), (unknown, MODEL)):
        verdict = validator.validate(topic, update(1.0), model=model, now=NOW)
        assert [r.reason for r in verdict.rejections] == [RejectReason.UNKNOWN_ATTRIBUTE]


def test_update_of_a_parameter_breaks_its_constraint() -> None:
    topic = f"@update/{EP}/gateway/relay1Control/parameter"
    verdict = validator.validate(topic, update(True, type_="Boolean", constraint="Parameter"), model=MODEL, now=NOW)
    assert [r.reason for r in verdict.rejections] == [RejectReason.CONSTRAINT]


def test_transaction_bad_item_is_rejected_alone() -> None:
    good = Attribute(C.MEASURE, T.NUMBER, NOW, 5.0)
    late = Attribute(C.MEASURE, T.NUMBER, NOW + 3600, 6.0)
    doc = json.loads(encode_transaction([(POWER, good), (RELAY, Attribute(C.STATUS, T.BOOLEAN, NOW, True))]))
    doc["attributes"][f"{EP}/powerMeter-1/other/datapoint"] = doc["attributes"][str(POWER)]
    verdict = validator.validate(f"@transaction/{EP}", json.dumps(doc).encode(), model=MODEL, now=NOW)
    assert [i.path for i in verdict.items] == [POWER, RELAY]
    assert [(r.reason, r.index) for r in verdict.rejections] == [(RejectReason.UNKNOWN_ATTRIBUTE, 2)]
    verdict = validator.validate(f"@transaction/{EP}", encode_transaction([(POWER, late)]), model=MODEL, now=NOW)
    assert [(r.reason, r.index) for r in verdict.rejections] == [(RejectReason.TIMESTAMP_FUTURE, 0)]


def test_transaction_with_bad_envelope_is_rejected_whole() -> None:
    verdict = validator.validate(f"@transaction/{EP}", b'{"attributes": 3}', model=MODEL, now=NOW)
    assert verdict.items == ()
    assert [(r.reason, r.index) for r in verdict.rejections] == [(RejectReason.WRONG_SCHEMA, None)]


def test_delayed_is_unpacked_into_updates() -> None:
    entries = [{"topic": UPDATE_TOPIC, "data": json.loads(update(float(i), NOW - 3600 + i))} for i in range(3)] + [
        {"topic": "@update/goflex-dc-002/n/o/a", "data": json.loads(update(1.0))}
    ]
    payload = json.dumps({"timestamp": NOW, "messages": entries}).encode()
    verdict = validator.validate(f"@delayed/{EP}", payload, model=MODEL, now=NOW)
    assert [i.value for i in verdict.items] == [0.0, 1.0, 2.0]
    assert [i.index for i in verdict.items] == [0, 1, 2]
    assert [(r.reason, r.index) for r in verdict.rejections] == [(RejectReason.DENIED, 3)]


def test_online_carries_the_model_and_presence() -> None:
    verdict = validator.validate(f"@online/{EP}", encode_endpoint(MODEL), model=None, now=NOW)
    assert verdict.model == MODEL
    assert verdict.presence is Presence.ONLINE
    assert validator.validate(f"@offline/{EP}", b"", model=MODEL, now=NOW).presence is Presence.OFFLINE


def test_node_removed_changes_the_model() -> None:
    verdict = validator.validate(f"@nodeRemoved/{EP}/gateway", b"", model=MODEL, now=NOW)
    assert verdict.model is not None
    assert set(verdict.model.nodes) == {"powerMeter-1"}


@settings(max_examples=300)
@given(topic=st.sampled_from([UPDATE_TOPIC, f"@transaction/{EP}", f"@delayed/{EP}", f"@online/{EP}"]), data=st.binary())
def test_any_bytes_give_a_verdict_never_an_exception(topic: str, data: bytes) -> None:
    verdict = validator.validate(topic, data, model=MODEL, now=NOW)
    assert verdict.items or verdict.rejections or verdict.model is not None
