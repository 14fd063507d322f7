"""Encrypted pushes: general-glo-ciphering (APDU ``DB``) with AES-128-GCM, security suite 0 (IEC 62056-5-3 9.2).

``DB | 08 system-title(8) | length | security-control | invocation-counter(4) | ciphertext | tag(12)``.
IV = system title || invocation counter; additional authenticated data = security control || authentication key.
Only security control 0x30 (authenticated and encrypted) is accepted: a push the meter did not authenticate is
not one the gateway should trust. The tag is 12 bytes, which ``AESGCM`` (16-byte tags only) cannot check, so
this uses the same library's GCM mode with ``min_tag_length=12``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from goflex.dlms.axdr import read_length, write_length
from goflex.dlms.errors import AuthenticationFailed, InvalidSetting, MalformedApdu

GLO_CIPHERING_TAG = 0xDB
AUTHENTICATED_ENCRYPTED = 0x30
TAG_LENGTH = 12
KEY_LENGTH = 16
SYSTEM_TITLE_LENGTH = 8


@dataclass(frozen=True)
class Keys:
    """The global unicast encryption key and the authentication key, 16 bytes each."""

    encryption: bytes
    authentication: bytes

    def __post_init__(self) -> None:
        for name, key in (("key", self.encryption), ("auth_key", self.authentication)):
            if len(key) != KEY_LENGTH:
                raise InvalidSetting(f"{name} must be {KEY_LENGTH} bytes (32 hex digits), got {len(key)}")


def _cipher(keys: Keys, system_title: bytes, counter: int, tag: bytes | None = None) -> Cipher[modes.GCM]:
    iv = system_title + counter.to_bytes(4, "big")
    mode = modes.GCM(iv) if tag is None else modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)
    return Cipher(algorithms.AES(keys.encryption), mode)


def decrypt_apdu(apdu: bytes, keys: Keys | None) -> bytes:
    """The plain APDU inside a general-glo-ciphering APDU, after verifying its tag.

    Raises:
        MalformedApdu: not a well-formed ``DB`` APDU, or a security control other than 0x30.
        AuthenticationFailed: no keys given, or the tag does not verify.
    """
    if len(apdu) < 2 + SYSTEM_TITLE_LENGTH or apdu[0] != GLO_CIPHERING_TAG or apdu[1] != SYSTEM_TITLE_LENGTH:
        raise MalformedApdu("not a general-glo-ciphering APDU with an 8-byte system title")
    system_title = apdu[2:10]
    length, start = read_length(apdu, 10)
    if start + length != len(apdu) or length < 5 + TAG_LENGTH:
        raise MalformedApdu(f"ciphered content announces {length} bytes, carries {len(apdu) - start}")
    control = apdu[start]
    if control != AUTHENTICATED_ENCRYPTED:
        raise MalformedApdu(f"security control 0x{control:02X} not supported (0x30 only)")
    if keys is None:
        raise AuthenticationFailed("encrypted push and no key given")
    counter = int.from_bytes(apdu[start + 1 : start + 5], "big")
    body, tag = apdu[start + 5 : -TAG_LENGTH], apdu[-TAG_LENGTH:]
    decryptor = _cipher(keys, system_title, counter, tag).decryptor()
    decryptor.authenticate_additional_data(bytes((control,)) + keys.authentication)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise AuthenticationFailed("AES-GCM tag does not verify (wrong key or altered bytes)") from None


def encrypt_apdu(apdu: bytes, keys: Keys, *, system_title: bytes, invocation_counter: int) -> bytes:
    """Wrap ``apdu`` in general-glo-ciphering, authenticated and encrypted.

    Raises:
        InvalidSetting: system title not 8 bytes or invocation counter outside 0..2**32-1.
    """
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise InvalidSetting(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
    if not 0 <= invocation_counter <= 0xFFFFFFFF:
        raise InvalidSetting("invocation counter must be 0..2**32-1")
    encryptor = _cipher(keys, system_title, invocation_counter).encryptor()
    encryptor.authenticate_additional_data(bytes((AUTHENTICATED_ENCRYPTED,)) + keys.authentication)
    body = encryptor.update(apdu) + encryptor.finalize()
    content = (
        bytes((AUTHENTICATED_ENCRYPTED,)) + invocation_counter.to_bytes(4, "big") + body + encryptor.tag[:TAG_LENGTH]
    )
    return bytes((GLO_CIPHERING_TAG, SYSTEM_TITLE_LENGTH)) + system_title + write_length(len(content)) + content
