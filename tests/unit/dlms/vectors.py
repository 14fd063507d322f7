"""The captured CII test vectors (tests/data/cii-vectors) as bytes and expected JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).resolve().parents[2] / "data" / "cii-vectors"
NAMES = ("e450-no-clock", "e450-vse-2026", "e360-p1", "e450-encrypted")


@dataclass(frozen=True)
class Vector:
    name: str
    frames: list[bytes]
    expected: dict[str, Any]

    @property
    def stream(self) -> bytes:
        return b"".join(self.frames)

    @property
    def decoder_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"model": self.expected["model"]}
        if "key" in self.expected:
            args["key"] = bytes.fromhex(self.expected["key"])
            args["auth_key"] = bytes.fromhex(self.expected["auth_key"])
        return args


def load(name: str) -> Vector:
    lines = (VECTOR_DIR / f"{name}.hex").read_text().splitlines()
    frames = [bytes.fromhex(line) for line in lines if line.strip()]
    expected = json.loads((VECTOR_DIR / f"{name}.expected.json").read_text())
    return Vector(name, frames, expected)
