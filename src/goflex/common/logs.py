"""Logging setup shared by every service.

Human-readable lines on stderr (stdout is reserved for ``--json`` documents, DESIGN.md 5.2). A filter redacts
anything that looks like a secret (private keys, passwords, tokens) before it reaches a handler, as a last line
of defence behind the rule that secrets are never logged (reliability.md S10).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Final

_SECRET_PATTERNS: Final = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\S+)"),
)
REDACTED: Final = "[redacted]"


def redact(text: str) -> str:
    """Return ``text`` with private keys and ``password=...``-style values replaced by ``[redacted]``."""
    text = _SECRET_PATTERNS[0].sub(REDACTED, text)
    return _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once: stderr, timestamps in UTC, secret redaction."""
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces each of its autogenerate plugins at INFO when it is imported: noise before every command
    # that opens a database, nothing an operator can act on.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
