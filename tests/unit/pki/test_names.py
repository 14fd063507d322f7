"""Identity names: whatever the input, an accepted name cannot widen an MQTT topic (S7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.pki import MAX_NAME_LENGTH, InvalidIdentity, validate_identity


@given(st.text(max_size=80))
def test_accepted_names_are_safe_topic_levels(name: str) -> None:
    try:
        validate_identity(name)
    except InvalidIdentity:
        return
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert not set(name) & set("/.#+*")
    assert all(c.isprintable() and not c.isspace() for c in name)


@given(st.text(min_size=0, max_size=20), st.sampled_from("/.#+* \t\n\x00"), st.text(max_size=20))
def test_any_forbidden_character_is_refused(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(InvalidIdentity):
        validate_identity(prefix + bad + suffix)


@pytest.mark.parametrize("name", ["goflex-dc-004", "ingest", "ÄppLé_1", "a" * MAX_NAME_LENGTH])
def test_ordinary_names_are_accepted(name: str) -> None:
    assert validate_identity(name) == name
