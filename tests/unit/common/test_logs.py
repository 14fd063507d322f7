from __future__ import annotations

import logging

import pytest

from goflex.common.logs import RedactingFilter, redact


def test_private_keys_and_passwords_are_redacted() -> None:
    key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----"
    text = redact(f"loaded {key} with password=hunter2 and token: abc123")
    assert "MHcCAQEEI" not in text
    assert "hunter2" not in text
    assert "abc123" not in text
    assert text.count("[redacted]") == 3


def test_filter_rewrites_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("goflex.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="goflex.test.redact"):
        logger.info("connecting with password=%s", "s3cret")
    assert "s3cret" not in caplog.text
