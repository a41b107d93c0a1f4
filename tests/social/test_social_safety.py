"""Brand-safety checks: the table of what blocks a public reply, and why."""

from __future__ import annotations

import pytest

from empathy_bridge.social.safety import check_draft, luhn_valid, weighted_length
from empathy_bridge.social.settings import BrandSafetySettings

SETTINGS = BrandSafetySettings(blocked_phrases=["guarantee", "our lawyers"])


@pytest.mark.parametrize(("text", "codes"), [
    ("So sorry, Max. Could you DM us so we can make it right?", []),
    ("Email jo.doe@example.com and we'll sort it", ["email"]),
    ("Call us on +1 (555) 123-4567 any time", ["phone_number"]),
    ("Your card 4111 1111 1111 1111 was charged", ["card_number"]),
    ("Card 4111-1111-1111-1112 fails Luhn but is a long number", ["account_number"]),
    ("Your order #A-12345678 ships today", ["order_number"]),
    ("order 99887766 is on its way", ["order_number"]),
    ("We guarantee a refund", ["blocked_phrase"]),
    ("Our lawyers will be in touch", ["blocked_phrase"]),
    ("Guaranteed is a different word", []),
    ("Fixed on 2026-11-27, thanks for your patience", []),
    ("See https://status.example.com/incidents/12345678901 for updates", []),
    ("x" * 281, ["too_long"]),
    ("x" * 280, []),
    ("   ", ["empty"]),
])
def test_brand_safety_table(text: str, codes: list[str]) -> None:
    assert [v.code for v in check_draft(text, SETTINGS, platform_max_length=280)] == codes


def test_reasons_are_shown_and_mask_the_personal_data() -> None:
    [violation] = check_draft("write to jo.doe@example.com", SETTINGS)
    assert "email address" in violation.reason and "jo.doe" not in violation.reason
    [card] = check_draft("4111 1111 1111 1111", SETTINGS)
    assert card.reason.endswith("remove it") and "4111 1111" not in card.reason
    [long] = check_draft("y" * 300, SETTINGS, platform_max_length=280)
    assert long.reason == "is 300 characters as the platform counts them; the limit is 280"


def test_configured_max_length_wins_over_the_platform() -> None:
    settings = BrandSafetySettings(max_length=100)
    assert [v.code for v in check_draft("z" * 101, settings, platform_max_length=280)] == [
        "too_long"]


def test_checks_can_be_switched_off() -> None:
    settings = BrandSafetySettings(check_emails=False, check_phones=False, order_patterns=[])
    assert check_draft("a@b.co 555 123 4567 order 1234567", settings) == []


def test_weighted_length_counts_like_x() -> None:
    assert weighted_length("hello") == 5
    assert weighted_length("see https://example.com/" + "a" * 200) == 4 + 23
    assert weighted_length("😡😡😡") == 6
    assert weighted_length("アプリ") == 6
    assert weighted_length("👍🏽") == 4  # emoji plus skin-tone modifier, two code points


@pytest.mark.parametrize(("digits", "valid"), [
    ("4111111111111111", True), ("5500005555555559", True), ("378282246310005", True),
    ("4111111111111112", False), ("1234567812345678", False), ("12ab", False),
])
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid
