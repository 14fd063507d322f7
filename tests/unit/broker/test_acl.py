"""Topic authorisation: MQTT filter semantics against a reference model, endpoint confinement, grants."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from goflex.broker.acl import (
    AccessPolicy,
    EndpointPermission,
    Grant,
    Principal,
    PrincipalKind,
    api_grants,
    filter_covers,
    grants_for_application,
    ingest_grants,
    is_valid_filter,
    topic_matches,
)

# -- reference model of MQTT 5.0 section 4.7, written as a regular expression -----------------------------------


def reference_matches(topic_filter: str, topic: str) -> bool:
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2]
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    parts = []
    for level in topic_filter.split("/"):
        parts.append("[^/]*" if level == "+" else "#" if level == "#" else re.escape(level))
    regex = "/".join(parts)
    if regex == "#":
        regex = ".*"
    elif regex.endswith("/#"):
        regex = regex[:-2] + "(/.*)?"
    return re.fullmatch(regex, topic, flags=re.DOTALL) is not None


LEVELS = st.sampled_from(["a", "b", "", "$x", "@update", "ep"])
topics = st.lists(LEVELS, min_size=1, max_size=5).map("/".join).filter(bool)


@st.composite
def filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(st.one_of(LEVELS, st.just("+")), min_size=1, max_size=5))
    if draw(st.booleans()):
        levels.append("#")
    text = "/".join(levels)
    assume(text)
    if draw(st.integers(0, 5)) == 0:
        text = "$share/g/" + text
    return text


@given(filters(), topics)
def test_topic_matching_agrees_with_the_reference_model(topic_filter: str, topic: str) -> None:
    assert is_valid_filter(topic_filter)
    assert topic_matches(topic_filter, topic) == reference_matches(topic_filter, topic)


@given(filters(), filters(), topics)
def test_a_covering_filter_matches_everything_the_covered_one_does(granted: str, requested: str, topic: str) -> None:
    if filter_covers(granted, requested) and topic_matches(requested, topic):
        assert topic_matches(granted, topic)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("#", "$SYS/broker/uptime", False),
        ("+/broker/uptime", "$SYS/broker/uptime", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("a/#", "a", True),
        ("a/+", "a", False),
        ("a/+", "a/", True),
        ("$share/ingest/@update/+/#", "@update/ep/n/o/a", True),
        ("a/#/b", "a/x/b", False),  # invalid filter
        ("a+", "a+", False),  # invalid filter
        ("$share//a", "a", False),
    ],
)
def test_topic_matching_examples(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


# -- endpoints ------------------------------------------------------------------------------------------------

EP = Principal("goflex-dc-004", PrincipalKind.ENDPOINT)
OWN_PUBLISH = [
    "@online/goflex-dc-004",
    "@offline/goflex-dc-004",
    "@update/goflex-dc-004/meter/objects/power/attributes/datapoint",
    "@didSet/goflex-dc-004/n/o/a",
    "@transaction/goflex-dc-004",
    "@delayed/goflex-dc-004",
    "@nodeAdded/goflex-dc-004/n",
    "@nodeRemoved/goflex-dc-004/n",
    "@logs/goflex-dc-004",
]


@pytest.mark.parametrize("topic", OWN_PUBLISH)
def test_an_endpoint_publishes_its_own_topics(topic: str) -> None:
    assert AccessPolicy().may_publish(EP, topic)


@pytest.mark.parametrize(
    "topic",
    [
        "@set/goflex-dc-004/n/o/a",
        "@ack/goflex-dc-004",
        "@update/goflex-dc-005/n/o/a",
        "@online/goflex-dc-005",
        "@transaction/goflex-dc-004/extra",
        "other/goflex-dc-004",
        "$SYS/x",
        "@update/+/x",
        "@update/goflex-dc-004/#",
    ],
)
def test_an_endpoint_publishes_nothing_else(topic: str) -> None:
    assert not AccessPolicy().may_publish(EP, topic)


def test_an_endpoint_subscribes_only_to_its_commands_and_acks() -> None:
    policy = AccessPolicy(ingest_grants())
    assert policy.may_subscribe(EP, "@set/goflex-dc-004/#")
    assert policy.may_subscribe(EP, "@set/goflex-dc-004/n/o/+")
    assert policy.may_subscribe(EP, "@ack/goflex-dc-004")
    for snooping in ["#", "@update/+/#", "@set/goflex-dc-005/#", "@set/+/#", "+/goflex-dc-004/#", "$SYS/#"]:
        assert not policy.may_subscribe(EP, snooping)
    assert policy.may_receive(EP, "@set/goflex-dc-004/n/o/a")
    assert not policy.may_receive(EP, "@set/goflex-dc-005/n/o/a")


@pytest.mark.parametrize("name", ["#", "+", "a/b", ""])
def test_an_endpoint_whose_name_is_a_wildcard_gets_nothing(name: str) -> None:
    evil = Principal(name, PrincipalKind.ENDPOINT)
    assert not AccessPolicy().may_publish(evil, f"@update/{name}/x")
    assert not AccessPolicy().may_publish(evil, "@update/victim/x")
    assert not AccessPolicy().may_subscribe(evil, f"@set/{name}/#")


names = st.text(alphabet=st.characters(blacklist_characters="/+#\x00"), min_size=1, max_size=12)
actions = st.sampled_from(["@online", "@offline", "@update", "@didSet", "@set", "@ack", "@logs", "@exec", "x", ""])


@given(names, names, actions, st.lists(st.sampled_from(["n", "+", "#", "a"]), max_size=3))
def test_an_endpoint_never_touches_another_endpoints_second_level(
    me: str, other: str, action: str, rest: list[str]
) -> None:
    assume(me != other)
    topic = "/".join([action, other, *[r for r in rest if r not in "+#"]])
    policy = AccessPolicy([*ingest_grants(), Grant(me, "#", read=True, write=True)])
    principal = Principal(me, PrincipalKind.ENDPOINT)
    assert not policy.may_publish(principal, topic)
    assert not policy.may_receive(principal, topic)
    assert not policy.may_subscribe(principal, "/".join([action, other, *rest]))


# -- services and applications ------------------------------------------------------------------------------------


def test_services_get_exactly_their_grants() -> None:
    policy = AccessPolicy([*ingest_grants(), *api_grants()])
    ingest = Principal("ingest", PrincipalKind.SERVICE)
    api = Principal("api", PrincipalKind.SERVICE)
    assert policy.may_subscribe(ingest, "$share/ingest/@update/+/#")
    assert policy.may_receive(ingest, "@update/ep/n/o/a")
    assert policy.may_publish(ingest, "@ack/ep")
    assert not policy.may_publish(ingest, "@set/ep/n/o/a")
    assert not policy.may_publish(ingest, "@update/ep/n/o/a")
    assert not policy.may_subscribe(ingest, "#")
    assert policy.may_publish(api, "@set/ep/n/o/a")
    assert not policy.may_receive(api, "@update/ep/n/o/a")
    stranger = Principal("stranger", PrincipalKind.SERVICE)
    assert not policy.may_publish(stranger, "@ack/ep")
    assert not policy.may_receive(stranger, "@update/ep/x")


def test_a_server_certificate_gets_nothing() -> None:
    policy = AccessPolicy([Grant("broker", "#", read=True, write=True)])
    server = Principal("broker", PrincipalKind.SERVER)
    assert not policy.may_publish(server, "a")
    assert not policy.may_subscribe(server, "#")


@pytest.mark.parametrize("level", list(EndpointPermission))
def test_application_grants_follow_the_permission_level(level: EndpointPermission) -> None:
    policy = AccessPolicy(grants_for_application("dashboard", "ep-1", level))
    app = Principal("dashboard", PrincipalKind.APPLICATION)
    reads = policy.may_receive(app, "@update/ep-1/n/o/a") and policy.may_subscribe(app, "@online/ep-1")
    writes = policy.may_publish(app, "@set/ep-1/n/o/a")
    assert reads is (level >= EndpointPermission.READ)
    assert writes is (level >= EndpointPermission.WRITE)
    assert not policy.may_receive(app, "@update/ep-2/n/o/a")
    assert not policy.may_publish(app, "@set/ep-2/n/o/a")
    assert not policy.may_receive(app, "@logs/ep-1")


def test_application_grants_for_a_wildcard_endpoint_name_are_empty() -> None:
    assert grants_for_application("app", "#", EndpointPermission.OWN) == []
