"""The four captured pushes decode exactly to their expected JSON (values, int/float types, device, time)."""

from __future__ import annotations

import json

import pytest

from goflex.cli.meter_cmd import push_json
from goflex.dlms import E360_STYLE, PushDecoder, encode_push

from .vectors import NAMES, load


def _typed(document: object) -> object:
    """JSON with the type of every number kept, so 0 and 0.0 compare different."""
    if isinstance(document, dict):
        return {k: _typed(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_typed(v) for v in document]
    if isinstance(document, int | float) and not isinstance(document, bool):
        return (type(document).__name__, document)
    return document


@pytest.mark.parametrize("name", NAMES)
def test_vector_decodes_to_expected_json(name: str) -> None:
    vector = load(name)
    decoder = PushDecoder(**vector.decoder_args)
    pushes = decoder.feed(vector.stream)
    decoder.finish()
    document = json.loads(json.dumps({"pushes": [push_json(p) for p in pushes], "rejected": decoder.stats.rejected}))
    expected = {k: v for k, v in vector.expected.items() if k in ("pushes", "rejected")}
    assert _typed(document) == _typed(expected)
    assert decoder.stats.frames == len(vector.frames)
    assert decoder.stats.discarded_bytes == 0


@pytest.mark.parametrize("name", NAMES)
def test_vector_fed_byte_by_byte_gives_the_same_push(name: str) -> None:
    vector = load(name)
    whole = PushDecoder(**vector.decoder_args).feed(vector.stream)
    decoder = PushDecoder(**vector.decoder_args)
    pieces = [p for i in range(len(vector.stream)) for p in decoder.feed(vector.stream[i : i + 1])]
    assert pieces == whole
    assert len(pieces) == 1


def test_encoder_reproduces_the_e360_capture_byte_for_byte() -> None:
    vector = load("e360-p1")
    [push] = PushDecoder(model="e360").feed(vector.stream)
    assert encode_push(push, model="e360", frame=E360_STYLE, invoke_id=0x9EE) == vector.frames


def test_encrypted_vector_without_keys_is_rejected_for_authentication() -> None:
    vector = load("e450-encrypted")
    decoder = PushDecoder(model="e450")
    assert decoder.feed(vector.stream) == []
    assert dict(decoder.stats.rejected_by_reason) == {"auth_failed": 1}


def test_encrypted_vector_with_a_wrong_key_is_rejected() -> None:
    vector = load("e450-encrypted")
    args = vector.decoder_args
    args["key"] = bytes(16)
    decoder = PushDecoder(**args)
    assert decoder.feed(vector.stream) == []
    assert dict(decoder.stats.rejected_by_reason) == {"auth_failed": 1}


def test_no_clock_vector_scaled_as_e360_keeps_its_registers() -> None:
    """The model picks the table: E450 registers in this capture are the same under E360 (Wh, W)."""
    vector = load("e450-no-clock")
    [push] = PushDecoder(model="e360").feed(vector.stream)
    assert push.values == vector.expected["pushes"][0]["values"]
