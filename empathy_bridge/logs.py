"""Logging set-up: plain or JSON lines, with personal data redacted from every record.

Emails, phone numbers and card-like digit runs are replaced before a record is formatted, so a
customer message quoted in an error never reaches a log collector verbatim.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

__all__ = ["RedactingFilter", "configure_logging", "redact"]

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"\b(?:\d[ -]?){13,19}\b"), "[card]"),
    # Not an ISO date ("2026-11-27 10:00" is a timestamp in a log line, not a phone number).
    (re.compile(r"(?<![\w:])(?!\d{4}-\d\d-\d\d)\+?\d[\d ().-]{7,}\d(?!\w)"), "[phone]"),
]


def redact(text: str) -> str:
    """``text`` with emails, card numbers and phone numbers replaced by placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts personal data from a record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(
    *, debug: bool = False, verbose: bool = False, json_lines: bool = False
) -> None:
    """Configure the ``empathy_bridge`` logger (idempotent): warnings by default."""
    logger = logging.getLogger("empathy_bridge")
    logger.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    for handler in list(logger.handlers):
        if getattr(handler, "_empathy_bridge", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._empathy_bridge = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.propagate = False


def logging_flags() -> list[str]:
    """CLI flags that give a child process (the HTTP service's worker) this process's logging.

    So the child's lines have the same format (``--log-json``) and pass the same redaction.
    """
    logger = logging.getLogger("empathy_bridge")
    flags = []
    if any(
        getattr(handler, "_empathy_bridge", False) and isinstance(handler.formatter, _JsonFormatter)
        for handler in logger.handlers
    ):
        flags.append("--log-json")
    if logger.level == logging.DEBUG:
        flags.append("--debug")
    return flags
