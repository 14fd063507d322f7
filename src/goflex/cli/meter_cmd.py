"""``goflex meter decode [FILE|-] [--model e450|e360] [--key HEX --auth-key HEX] [--json]`` (meter-cii.md).

Decodes captured CII pushes: the input is hex text (one HDLC frame per line, whitespace tolerated, ``#``
comments) or the raw bytes read off the line, told apart by content (hex text is printable and has no HDLC
flag ``~``). ``--json`` prints ``{"pushes": [{"device", "time", "values"}], "rejected": N}`` on stdout;
otherwise a readable table goes to stdout. Unusable input (bad hex, a key of the wrong length, a missing file)
ends with a message naming it and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goflex.common import ConfigError

if TYPE_CHECKING:
    from goflex.dlms import DecoderStats, Push

_HEX_TEXT = frozenset((string.hexdigits + string.whitespace + "#").encode()) | frozenset(range(0x20, 0x7E))


def register(sub: Any) -> None:
    """Add the ``meter`` command group."""
    meter = sub.add_parser("meter", help="smart meter (CII) tools")
    commands = meter.add_subparsers(dest="meter_command", metavar="METER_COMMAND", required=True)
    decode = commands.add_parser("decode", help="decode captured CII pushes (hex text or raw bytes)")
    decode.add_argument("file", nargs="?", default="-", metavar="FILE", help="capture file, or - for stdin")
    decode.add_argument("--model", default="e450", choices=("e450", "e360"), help="scaling table (default e450)")
    decode.add_argument("--key", default=None, metavar="HEX", help="encryption key, 32 hex digits")
    decode.add_argument("--auth-key", default=None, metavar="HEX", help="authentication key, 32 hex digits")
    decode.add_argument("--json", action="store_true", help="one JSON document on stdout")
    decode.set_defaults(handler=_decode)


def _decode(args: argparse.Namespace) -> int:
    from goflex.dlms import PushDecoder  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    key = _key("--key", args.key)
    auth_key = _key("--auth-key", args.auth_key)
    if (key is None) != (auth_key is None):
        raise ConfigError("--key/--auth-key", "give both keys or neither")
    decoder = PushDecoder(model=args.model, key=key, auth_key=auth_key)
    pushes = decoder.feed(read_capture(_read(args.file)))
    pushes += decoder.finish()
    if args.json:
        document = {"pushes": [push_json(p) for p in pushes], "rejected": decoder.stats.rejected}
        json.dump(document, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_table(pushes, decoder.stats)
    return 0


def _key(option: str, text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(option, "is not hex") from None
    if len(key) != 16:
        raise ConfigError(option, f"must be 16 bytes (32 hex digits), got {len(key)} bytes")
    return key


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ConfigError("FILE", f"cannot read {name}: {exc.strerror or exc}") from None


def read_capture(data: bytes) -> bytes:
    """The line bytes of a capture: hex text is converted, anything else is taken as raw bytes.

    Raises:
        ConfigError: hex text with a line that is not whole bytes of hex.
    """
    if b"~" in data or not set(data) <= _HEX_TEXT:
        return data
    frames = []
    for number, line in enumerate(data.decode("ascii").splitlines(), start=1):
        text = "".join(line.split("#", 1)[0].split())
        try:
            frames.append(bytes.fromhex(text))
        except ValueError:
            bad = next((c for c in text if c not in string.hexdigits), None)
            problem = f"character {bad!r}" if bad else f"an odd number of hex digits ({len(text)})"
            raise ConfigError("FILE", f"line {number} is not hex: {problem}") from None
    return b"".join(frames)


def iso_utc(t: datetime) -> str:
    """ISO 8601 UTC with ``Z``; milliseconds only when the meter sent hundredths other than zero."""
    t = t.astimezone(UTC)
    millis = f".{t.microsecond // 1000:03d}" if t.microsecond else ""
    return f"{t:%Y-%m-%dT%H:%M:%S}{millis}Z"


def push_json(push: Push) -> dict[str, Any]:
    """The meter-cii.md JSON object of one push."""
    return {"device": push.device, "time": iso_utc(push.time), "values": dict(push.values)}


def _print_table(pushes: list[Push], stats: DecoderStats) -> None:
    for push in pushes:
        print(f"{iso_utc(push.time)}  {push.device or '(no device name)'}")
        for obis, value in push.values.items():
            print(f"  {obis:<14} {value}")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(stats.rejected_by_reason.items()))
    print(f"pushes: {len(pushes)}  rejected: {stats.rejected}{f' ({reasons})' if reasons else ''}")
    print(f"frames: {stats.frames}  discarded bytes: {stats.discarded_bytes}")
