from __future__ import annotations

import pytest

from goflex.dlms import AuthenticationFailed, InvalidSetting, MalformedApdu, PushDecoder
from goflex.dlms.security import Keys, decrypt_apdu, encrypt_apdu

KEYS = Keys(bytes(range(16)), bytes(range(16, 32)))
TITLE = b"LGZ\x01\x02\x03\x04\x05"


def test_round_trip_and_layout() -> None:
    sealed = encrypt_apdu(b"\x0f hello", KEYS, system_title=TITLE, invocation_counter=0x177BCA)
    assert sealed[:10] == b"\xdb\x08" + TITLE
    assert sealed[11:16] == bytes.fromhex("3000177BCA")
    assert decrypt_apdu(sealed, KEYS) == b"\x0f hello"


@pytest.mark.parametrize("index", [2, 12, 14, 17, -1])
def test_any_altered_byte_fails(index: int) -> None:
    sealed = bytearray(encrypt_apdu(b"\x0f hello", KEYS, system_title=TITLE, invocation_counter=1))
    sealed[index] ^= 0x40
    with pytest.raises(AuthenticationFailed):
        decrypt_apdu(bytes(sealed), KEYS)


def test_wrong_authentication_key_fails() -> None:
    sealed = encrypt_apdu(b"\x0f", KEYS, system_title=TITLE, invocation_counter=1)
    with pytest.raises(AuthenticationFailed):
        decrypt_apdu(sealed, Keys(KEYS.encryption, bytes(16)))


def test_only_authenticated_encryption_is_accepted() -> None:
    sealed = bytearray(encrypt_apdu(b"\x0f", KEYS, system_title=TITLE, invocation_counter=1))
    sealed[11] = 0x20  # encryption only: no tag to trust
    with pytest.raises(MalformedApdu, match="0x20"):
        decrypt_apdu(bytes(sealed), KEYS)


def test_key_lengths_are_checked() -> None:
    with pytest.raises(InvalidSetting, match="16 bytes"):
        Keys(bytes(15), bytes(16))
    with pytest.raises(InvalidSetting, match="both"):
        PushDecoder(key=bytes(16))
