"""The endpoint's pre-packed PUBLISH properties are byte for byte what paho's generic Properties pack."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from goflex.cloudio.transport import UserPublishProperties, publish_properties

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300)


@given(st.dictionaries(texts, texts, min_size=1, max_size=5))
def test_packed_user_properties_equal_paho_s(user: dict[str, str]) -> None:
    reference = Properties(PacketTypes.PUBLISH)
    reference.UserProperty = list(user.items())
    ours = publish_properties(user)
    assert isinstance(ours, UserPublishProperties)
    assert ours.pack() == reference.pack()
    assert ours.UserProperty == list(user.items())


def test_no_user_properties_means_no_properties() -> None:
    assert publish_properties({}) is None
    assert publish_properties(None) is None
