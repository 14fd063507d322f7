from __future__ import annotations

import pytest

from goflex.cloudio import Action, AttributePath, InvalidTopic, Topic, TopicForm, build_topic, parse_topic, subscription

WATTS = AttributePath("goflex-dc-004", "powerMeter-1", ("wattsTotal",), "datapoint")


def test_pilot_long_and_short_topics() -> None:
    long = "@update/goflex-dc-004/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"
    short = "@update/goflex-dc-004/powerMeter-1/wattsTotal/datapoint"
    assert build_topic(Topic.update(WATTS)) == long
    assert build_topic(Topic.update(WATTS), TopicForm.SHORT) == short
    assert parse_topic(long) == parse_topic(short) == Topic.update(WATTS)
    assert parse_topic(long).path == WATTS
    relay = parse_topic("@set/goflex-dc-004/nodes/gateway/objects/relay1Control/attributes/parameter")
    assert relay.action is Action.SET
    assert relay.objects == ("relay1Control",)


def test_endpoint_and_node_topics() -> None:
    assert build_topic(Topic.online("goflex-dc-004")) == "@online/goflex-dc-004"
    assert build_topic(Topic.ack("goflex-dc-004")) == "@ack/goflex-dc-004"
    assert build_topic(Topic.node_added("ep", "n")) == "@nodeAdded/ep/nodes/n"
    assert parse_topic("@nodeRemoved/ep/n") == Topic.node_removed("ep", "n")
    assert Topic.online("ep").path is None


@pytest.mark.parametrize(
    ("topic", "problem"),
    [
        ("@update/ep", "node"),
        ("@online/ep/extra", "endpoint only"),
        ("@setup/goflex-dc-004/#", "unknown action"),  # the seed's typo
        ("update/ep/n/o/a", "unknown action"),
        ("@update/ep/nodes/n/object/o/attributes/a", "long form"),
        ("@update/ep/nodes/n/objects/o/attributes", "long form"),
        ("@update/+/n/o/a", "forbidden"),
        ("@update/ep/n/o/#", "forbidden"),
        ("@nodeAdded/ep/a/b", "nodeAdded"),
        ("@nodeAdded/ep/nodes", "reserved"),
        ("@online/", "empty"),
        ("@online", "no endpoint"),
        ("@update/ep/n/o.x/a", "forbidden"),
    ],
)
def test_malformed_topics_name_the_problem(topic: str, problem: str) -> None:
    with pytest.raises(InvalidTopic, match=problem):
        parse_topic(topic)


def test_subscriptions() -> None:
    assert subscription(Action.SET, "goflex-dc-004") == "@set/goflex-dc-004/#"
    assert subscription(Action.UPDATE) == "@update/+/#"
    assert subscription(Action.ONLINE) == "@online/+"
    assert subscription(Action.ACK, "goflex-dc-004") == "@ack/goflex-dc-004"


def test_topic_constructor_checks_shape() -> None:
    with pytest.raises(InvalidTopic):
        Topic(Action.UPDATE, "ep", "n")
    with pytest.raises(InvalidTopic):
        Topic(Action.ONLINE, "ep", "n")
