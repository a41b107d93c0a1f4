"""Text hygiene: HTML, control characters, invalid UTF-8, size caps."""

from __future__ import annotations

from empathy_bridge.text import MAX_STORED_CHARS, cap, clean_text, html_to_text


def test_html_is_stripped_and_entities_decoded() -> None:
    text, cut = clean_text(
        "<p>Hello&nbsp;<b>there</b></p><script>alert(1)</script><p>bye &amp; thanks</p>",
        is_html=True,
    )
    assert "there" in text and "bye & thanks" in text and text.startswith("Hello")
    assert "alert" not in text and "<" not in text and not cut


def test_invalid_utf8_and_control_characters() -> None:
    text, _ = clean_text(b"ok \xff\xfe bad\x00\x07 end")
    assert "\x00" not in text and "\x07" not in text
    assert text.startswith("ok") and text.endswith("end")
    lone, _ = clean_text("a\ud800b")
    assert lone.encode("utf-8")  # no lone surrogate left


def test_huge_text_is_capped_and_marked() -> None:
    text, cut = clean_text("x " * (MAX_STORED_CHARS * 3))
    assert cut and len(text) <= MAX_STORED_CHARS
    assert cap("abcdef", 3) == ("abc", True)
    assert cap("abc", 3) == ("abc", False)


def test_malformed_html_never_raises() -> None:
    assert "text" in html_to_text("<div><p>text<</div></b></i>><<")
    assert clean_text(None) == ("", False)
