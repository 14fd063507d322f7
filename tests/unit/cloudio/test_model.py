from __future__ import annotations

import dataclasses
import importlib
import math

import pytest

from goflex import cloudio
from goflex.cloudio import (
    Attribute,
    AttributePath,
    AttributeType,
    Constraint,
    EndpointModel,
    InvalidName,
    RejectedPayload,
    RejectReason,
    check_value,
    validate_name,
)
from goflex.cloudio.model import validate_node_name

C, T = Constraint, AttributeType
RELAY = AttributePath("goflex-dc-004", "gateway", ("relay1Control",), "parameter")


@pytest.mark.parametrize("bad", ["a/b", "a.b", "a#", "+", "*x", "", "x" * 65, "a b", "a\x00b", "tab\t", "\u200bzw"])
def test_names_with_separators_wildcards_whitespace_or_too_long_are_refused(bad: str) -> None:
    with pytest.raises(InvalidName):
        validate_name(bad)


def test_pilot_names_are_valid() -> None:
    for name in ("goflex-dc-004", "powerMeter-1", "obis_1_1_1_8_0_255_2", "x" * 64, "Température"):
        assert validate_name(name) == name
    with pytest.raises(InvalidName, match="reserved"):
        validate_node_name("nodes")


def test_constraint_rules() -> None:
    assert {c for c in C if c.updatable} == {C.STATUS, C.MEASURE}
    assert {c for c in C if c.settable} == {C.PARAMETER, C.SETPOINT}


@pytest.mark.parametrize(
    ("type_", "value", "reason"),
    [
        (T.INTEGER, True, RejectReason.WRONG_TYPE),
        (T.NUMBER, 5, RejectReason.WRONG_TYPE),
        (T.NUMBER, math.nan, RejectReason.NOT_FINITE),
        (T.NUMBER, math.inf, RejectReason.NOT_FINITE),
        (T.BOOLEAN, 1, RejectReason.WRONG_TYPE),
        (T.STRING, 3, RejectReason.WRONG_TYPE),
        (T.INTEGER, 2**63, RejectReason.WRONG_TYPE),
        (T.STRING, "\ud800", RejectReason.NOT_UTF8),
    ],
)
def test_wire_values_are_checked_strictly(type_: AttributeType, value: object, reason: RejectReason) -> None:
    with pytest.raises(RejectedPayload) as caught:
        check_value(type_, value, field="update.value")
    assert caught.value.reason is reason
    assert "update.value" in str(caught.value)


def test_python_constructor_stores_numbers_as_floats_and_is_frozen() -> None:
    a = Attribute(C.MEASURE, T.NUMBER, 1_600_000_000, 5)
    assert a.value == 5.0
    assert isinstance(a.value, float)
    assert isinstance(a.timestamp, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = 6.0  # type: ignore[misc]
    with pytest.raises(RejectedPayload):
        a.with_value("five", 1.0)
    with pytest.raises(RejectedPayload, match="Static"):
        Attribute(C.STATIC, T.STRING, 1.0, "x")


def test_model_lookup_replace_and_nodes(house: EndpointModel) -> None:
    assert house.attribute(RELAY).value is True
    changed = house.update_value(RELAY, False, timestamp=1.6e9)
    assert changed.attribute(RELAY) == Attribute(C.PARAMETER, T.BOOLEAN, 1.6e9, False)
    assert house.attribute(RELAY).value is True  # the original is untouched
    assert changed != house
    assert hash(house) == hash(dataclasses.replace(house))
    missing = AttributePath("goflex-dc-004", "gateway", ("relay9Control",), "parameter")
    assert house.find(missing) is None
    with pytest.raises(RejectedPayload) as caught:
        house.attribute(missing)
    assert caught.value.reason is RejectReason.UNKNOWN_ATTRIBUTE
    with pytest.raises(TypeError):
        house.nodes["x"] = house.nodes["gateway"]  # type: ignore[index]
    smaller = house.without_node("powerMeter-1")
    assert "powerMeter-1" not in smaller.nodes
    assert smaller.with_node("powerMeter-1", house.nodes["powerMeter-1"]) == house
    paths = [str(p) for p, _ in house.iter_attributes()]
    assert "goflex-dc-004/powerMeter-1/wattsTotal/datapoint" in paths
    assert len(paths) == 9


def test_attribute_path_forms() -> None:
    long = "goflex-dc-004/nodes/gateway/objects/relay1Control/attributes/parameter"
    assert RELAY.long() == long
    assert str(RELAY) == "goflex-dc-004/gateway/relay1Control/parameter"
    assert AttributePath.parse(long) == AttributePath.parse(str(RELAY)) == RELAY
    nested = AttributePath("ep", "n", ("a", "b"), "v")
    assert nested.long() == "ep/nodes/n/objects/a/objects/b/attributes/v"
    assert AttributePath.parse(nested.long()) == nested
    for bad in ("ep/n/v", "ep/nodes/n/objects/a/attribute/v", "ep/nodes/n/a/v", "ep/n//v"):
        with pytest.raises(InvalidName):
            AttributePath.parse(bad)
    assert sorted([RELAY, nested]) == [nested, RELAY]


def test_sdk_import_does_not_shadow_the_declaration_dsl() -> None:
    """Importing the endpoint SDK must leave ``goflex.cloudio.endpoint`` the DSL function, not a module."""
    importlib.import_module("goflex.cloudio.endpoint_client")
    assert callable(cloudio.endpoint)
