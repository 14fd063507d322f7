"""JSON and CBOR payload codec (reference/cloudio.md, "Payload encoding").

The receiver tells the formats apart by the first byte: ``{`` (after optional JSON whitespace) is JSON, a byte
whose top three bits are ``101`` is a CBOR map. Both carry the same documents: maps with text keys, arrays,
text, integers, finite floats, booleans and null. Anything else is refused before it reaches a decoder that
might choke on it: CBOR byte strings, tags, undefined and simple values, non-text map keys, duplicate keys
(JSON and CBOR, so two readers can never see different values), NaN and infinities, nesting deeper than
``max_depth`` and payloads larger than ``max_bytes``. :func:`decode` raises only :class:`RejectedPayload`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum

import cbor2

from goflex.cloudio.errors import RejectedPayload, RejectReason

MAX_BYTES = 256 * 1024
"""Default largest accepted payload [bytes]."""
MAX_DEPTH = 32
"""Default deepest accepted nesting of maps and arrays (the top-level map is depth 1)."""

CBOR_INT_MIN, CBOR_INT_MAX = -(2**64), 2**64 - 1
"""Integers CBOR carries without a bignum tag; JSON is held to the same range so both formats agree."""

_JSON_WHITESPACE = b" \t\r\n"
_CBOR_MAP = 5


class Format(StrEnum):
    """Payload encodings an endpoint can list in ``supportedFormats``."""

    JSON = "JSON"
    CBOR = "CBOR"


def detect_format(data: bytes) -> Format:
    """Tell JSON from CBOR by the first byte.

    Raises:
        RejectedPayload: MALFORMED if the payload is neither a JSON object nor a CBOR map.
    """
    if data.lstrip(_JSON_WHITESPACE)[:1] == b"{":
        return Format.JSON
    if data and data[0] >> 5 == _CBOR_MAP:
        return Format.CBOR
    raise RejectedPayload(RejectReason.MALFORMED, "payload", "neither a JSON object nor a CBOR map")


def encode(document: Mapping[str, object], fmt: Format = Format.JSON) -> bytes:
    """Encode a document; JSON is compact UTF-8 and floats stay floats (``5.0``, never ``5``).

    Raises:
        RejectedPayload: the document holds something the wire cannot carry (NOT_FINITE, NOT_UTF8,
            WRONG_SCHEMA, TOO_DEEP).
    """
    _check_tree(document, "payload", 1, MAX_DEPTH)
    if fmt is Format.CBOR:
        return bytes(cbor2.dumps(document))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def decode(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> dict[str, object]:
    """Decode a JSON or CBOR payload whose top level is a map.

    Args:
        data: the payload.
        max_bytes: largest accepted size [bytes].
        max_depth: deepest accepted nesting (top-level map = 1).

    Raises:
        RejectedPayload: TOO_LARGE, NOT_UTF8, MALFORMED, TOO_DEEP, NOT_FINITE or WRONG_SCHEMA; nothing else.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RejectedPayload(RejectReason.MALFORMED, "payload", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise RejectedPayload(RejectReason.TOO_LARGE, "payload", f"{len(data)} bytes > {max_bytes}")
    if detect_format(data) is Format.JSON:
        document = _decode_json(data)
    else:
        _scan_cbor(data, max_depth)
        try:
            document = cbor2.loads(data)
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise RejectedPayload(RejectReason.MALFORMED, "payload", f"invalid CBOR: {exc}") from exc
    if not isinstance(document, dict):
        raise RejectedPayload(RejectReason.WRONG_SCHEMA, "payload", "top level is not a map")
    _check_tree(document, "payload", 1, max_depth)
    return document


def _decode_json(data: bytes) -> object:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedPayload(RejectReason.NOT_UTF8, "payload", f"invalid UTF-8 at byte {exc.start}") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise RejectedPayload(RejectReason.TOO_DEEP, "payload", "nesting too deep") from exc
    except ValueError as exc:  # json.JSONDecodeError, and integers beyond Python's digit limit
        raise RejectedPayload(RejectReason.MALFORMED, "payload", f"invalid JSON: {exc}") from exc


def _reject_constant(name: str) -> object:
    raise RejectedPayload(RejectReason.NOT_FINITE, "payload", f"{name} is not a finite number")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RejectedPayload(RejectReason.MALFORMED, f"payload.{key}", "duplicate key")
            seen.add(key)
    return result


def _check_tree(value: object, field: str, depth: int, max_depth: int) -> None:
    """Walk a decoded (or to-be-encoded) document and refuse what the wire must not carry."""
    if isinstance(value, dict | list | tuple):
        if depth > max_depth:
            raise RejectedPayload(RejectReason.TOO_DEEP, field, f"nesting deeper than {max_depth}")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise RejectedPayload(RejectReason.WRONG_SCHEMA, field, f"map key {key!r} is not text")
                _check_text(key, field)
                _check_tree(item, f"{field}.{key}", depth + 1, max_depth)
        else:
            for index, item in enumerate(value):
                _check_tree(item, f"{field}[{index}]", depth + 1, max_depth)
    else:
        _check_scalar(value, field)


def _check_scalar(value: object, field: str) -> None:
    if isinstance(value, str):
        _check_text(value, field)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RejectedPayload(RejectReason.NOT_FINITE, field, f"{value} is not a finite number")
    elif isinstance(value, int):  # bool is an int
        if not CBOR_INT_MIN <= value <= CBOR_INT_MAX:
            raise RejectedPayload(RejectReason.WRONG_TYPE, field, "integer beyond 64 bits")
    elif value is not None:
        raise RejectedPayload(RejectReason.WRONG_SCHEMA, field, f"unsupported value of type {type(value).__name__}")


def _check_text(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a JSON "\ud800" escape decodes to a lone surrogate
        raise RejectedPayload(RejectReason.NOT_UTF8, field, "text is not valid Unicode") from exc


# --- CBOR structure check (RFC 8949), run before cbor2 sees the bytes -----------------------------------------


class _Frame:
    """An open CBOR array or map while scanning."""

    __slots__ = ("count", "is_map", "keys", "remaining")

    def __init__(self, remaining: int, is_map: bool) -> None:
        self.remaining = remaining  # items still expected, -1 for indefinite length
        self.is_map = is_map
        self.count = 0  # items seen (a map counts keys and values)
        self.keys: set[bytes] = set()


def _malformed(problem: str) -> RejectedPayload:
    return RejectedPayload(RejectReason.MALFORMED, "payload", f"invalid CBOR: {problem}")


def _read_head(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """Read an item head at ``pos``: (major type, additional information, argument or -1, next position)."""
    if pos >= len(data):
        raise _malformed("truncated")
    initial = data[pos]
    pos += 1
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        return major, info, info, pos
    if info <= 27:
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise _malformed("truncated")
        return major, info, int.from_bytes(data[pos : pos + size], "big"), pos + size
    if info == 31:
        return major, info, -1, pos
    raise _malformed(f"reserved additional information {info}")


def _scan_cbor(data: bytes, max_depth: int) -> None:  # noqa: PLR0912 (a flat state machine over RFC 8949 heads)
    """Check the CBOR item structure iteratively: well formed, allowed types only, bounded depth.

    Doing this without recursion means a hostile payload cannot exhaust the stack of the C decoder.
    """
    n, pos = len(data), 0
    stack: list[_Frame] = []
    while True:
        major, info, arg, pos = _read_head(data, pos)
        is_break = major == 7 and info == 31
        at_key = bool(stack) and stack[-1].is_map and stack[-1].count % 2 == 0
        if at_key and not is_break and major != 3:
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, "payload", "CBOR map key is not text")
        if major in (2, 6):
            what = "byte strings" if major == 2 else "tags"
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, "payload", f"CBOR {what} are not allowed")
        if major in (0, 1) and arg < 0:
            raise _malformed("indefinite-length integer")
        if major == 3:
            pos, text = _scan_text(data, pos, arg)
            if at_key:
                if text in stack[-1].keys:
                    raise RejectedPayload(RejectReason.MALFORMED, "payload", "duplicate CBOR map key")
                stack[-1].keys.add(text)
        elif major in (4, 5):
            if _open_container(stack, major, arg, n - pos, max_depth):
                continue
        elif is_break:
            if not stack or stack[-1].remaining != -1:
                raise _malformed("unexpected break")
            frame = stack.pop()
            if frame.is_map and frame.count % 2:
                raise _malformed("map without a value for its last key")
        elif major == 7 and info not in (20, 21, 22, 25, 26, 27):  # false, true, null, half/single/double float
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, "payload", "CBOR simple value not allowed")
        # The item is complete: count it in its container, closing every container it completes.
        while stack:
            frame = stack[-1]
            frame.count += 1
            if frame.remaining == -1 or frame.count < frame.remaining:
                break
            stack.pop()
        if not stack:
            break
    if pos != n:
        raise _malformed(f"{n - pos} bytes after the top-level map")


def _open_container(stack: list[_Frame], major: int, arg: int, bytes_left: int, max_depth: int) -> bool:
    """Push an array or map; False if it is empty (and so already complete)."""
    if len(stack) >= max_depth:
        raise RejectedPayload(RejectReason.TOO_DEEP, "payload", f"nesting deeper than {max_depth}")
    items = arg * 2 if major == 5 and arg > 0 else arg
    if items > bytes_left:  # every item takes at least one byte
        raise _malformed("truncated container")
    if items == 0:
        return False
    stack.append(_Frame(items, major == 5))
    return True


def _scan_text(data: bytes, pos: int, length: int) -> tuple[int, bytes]:
    """Skip a text string (definite or chunked) whose head ends at ``pos``; check that it is UTF-8."""
    if length >= 0:
        end = pos + length
        if end > len(data):
            raise _malformed("truncated text")
        chunk = data[pos:end]
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RejectedPayload(RejectReason.NOT_UTF8, "payload", "CBOR text is not UTF-8") from exc
        return end, chunk
    parts: list[bytes] = []
    while True:
        major, info, length, pos = _read_head(data, pos)
        if major == 7 and info == 31:
            return pos, b"".join(parts)
        if major != 3 or length < 0:
            raise _malformed("chunk of an indefinite text string is not definite text")
        pos, chunk = _scan_text(data, pos, length)
        parts.append(chunk)
