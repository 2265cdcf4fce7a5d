"""Defence in depth: configured secret values never leave the process through logging.

The code never logs the session string, the API hash or the phone number on
purpose; this catches the accidents (a library that logs a request, an
exception whose message carries a value, a ``%r`` of the wrong object).  It
works at record creation, so it covers every logger and every handler,
including ones added later (pytest's caplog, a JSON handler in production).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any, Final

REDACTED: Final = "[redacted]"
# Short values ("1", "12") would redact innocent digits everywhere; real secrets are longer.
_MIN_LENGTH: Final = 6


class SecretFilter(logging.Filter):
    """Rewrites a record so none of ``secrets`` appears in its message or traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = {*self._secrets, *(s for s in secrets if len(s) >= _MIN_LENGTH)}
            # Longest first, so a secret containing another is replaced whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw parts, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_installed: SecretFilter | None = None


def install(secrets: Iterable[str]) -> SecretFilter:
    """Redact ``secrets`` from every log record created from now on (idempotent, additive)."""
    global _installed
    if _installed is None:
        secret_filter = SecretFilter()
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            secret_filter.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = secret_filter
    _installed.add(secrets)
    return _installed
