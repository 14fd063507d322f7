"""Argument types shared by the command groups (argparse ``type=`` callables with messages naming the rule)."""

from __future__ import annotations

import argparse


def house_count(text: str) -> int:
    """A number of Direct Control houses: 1..999 (endpoint names ``goflex-dc-<###>``, seed 3.2.5.10)."""
    value = int(text)
    if not 1 <= value <= 999:
        raise argparse.ArgumentTypeError(f"{text}: must be 1..999 (house numbers have three digits)")
    return value


def positive(text: str) -> float:
    """A number > 0 (a speed, a duration)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be > 0")
    return value
