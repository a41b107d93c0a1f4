"""Brand-safety checks on a public reply draft, each failure with a reason a person can act on.

A draft is blocked (it cannot be approved or posted until edited) when it leaks personal data
(an email address, a phone number, a payment card number that passes the Luhn check, an order
number), contains a blocked phrase, or is longer than the platform allows. Length is counted
roughly as X counts it: a URL weighs ``url_length`` (23), CJK characters and emoji weigh 2.

Matches are masked in the reasons, so a reason can be shown, logged and stored safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from empathy_bridge.social.settings import BrandSafetySettings

__all__ = ["Violation", "check_draft", "luhn_valid", "weighted_length"]

_URL = re.compile(r"\bhttps?://[^\s]+|\bwww\.[^\s]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_DIGIT_RUN = re.compile(r"(?<![\w@#])\+?\d[\d \-().]{5,}\d(?![\w])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# twitter-text v3 weighs these ranges 1 and everything else 2.
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_ZERO_WIDTH = {0x200D, 0xFE0E, 0xFE0F}


@dataclass(frozen=True)
class Violation:
    """One reason a draft may not go out."""

    code: str
    reason: str


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def weighted_length(text: str, url_length: int = 23) -> int:
    """Length of ``text`` as X counts it, roughly (URLs ``url_length``; CJK and emoji 2)."""
    total = 0
    rest = _URL.sub("", text)
    total += url_length * len(_URL.findall(text))
    for char in rest:
        code = ord(char)
        if code in _ZERO_WIDTH:
            continue
        total += 1 if any(lo <= code <= hi for lo, hi in _LIGHT) else 2
    return total


def _mask(value: str) -> str:
    keep = value[-4:] if len(value) > 6 else ""
    return "*" * max(3, len(value) - len(keep)) + keep


def check_draft(text: str, settings: BrandSafetySettings, *,
                platform_max_length: int | None = None) -> list[Violation]:
    """Every brand-safety violation in ``text`` (empty list: safe to send)."""
    found: list[Violation] = []
    without_urls = _URL.sub(" ", text)
    if settings.check_emails:
        for match in _EMAIL.finditer(without_urls):
            local, _, domain = match.group().partition("@")
            found.append(Violation("email", f"contains an email address ({local[:1]}***@{domain}); "
                                   "never post personal data in public, ask them to DM"))
    order_spans: list[tuple[int, int]] = []
    for pattern in settings.order_patterns:
        for match in re.finditer(pattern, without_urls):
            order_spans.append(match.span())
            found.append(Violation("order_number", f"contains an order/account number "
                                   f"({_mask(match.group())}); refer to it without the number"))
    for match in _DIGIT_RUN.finditer(without_urls):
        if any(lo <= match.start() < hi for lo, hi in order_spans):
            continue  # already reported as an order number
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        if settings.check_cards and 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(Violation("card_number", f"contains a payment card number "
                                   f"({_mask(digits)}); remove it"))
        elif settings.check_cards and 16 <= len(digits) <= 19:
            # Too long for a phone number, fails Luhn: an account or mistyped card number.
            found.append(Violation("account_number", f"contains a long number "
                                   f"({_mask(digits)}) that looks like an account number"))
        elif (settings.check_phones and 7 <= len(digits) <= 15
              and not _ISO_DATE.match(raw.strip())):
            found.append(Violation("phone_number", f"contains a phone number ({_mask(digits)}); "
                                   "never post personal data in public, ask them to DM"))
    lowered = text.lower()
    for phrase in settings.blocked_phrases:
        if re.search(r"(?<!\w)" + re.escape(phrase.lower()) + r"(?!\w)", lowered):
            found.append(Violation("blocked_phrase", f"contains the blocked phrase {phrase!r}"))
    limit = settings.max_length or platform_max_length
    if limit is not None:
        length = weighted_length(text, settings.url_length)
        if length > limit:
            found.append(Violation("too_long", f"is {length} characters as the platform counts "
                                   f"them; the limit is {limit}"))
    if not text.strip():
        found.append(Violation("empty", "is empty"))
    return found
