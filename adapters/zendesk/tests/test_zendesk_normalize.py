"""Normalisation shortcuts give exactly what the full path gives."""

from __future__ import annotations

import random
from typing import Any

import pytest

from empathy_bridge.schemas import Interaction
from empathy_bridge.text import clean_text
from empathy_bridge_zendesk.normalize import (
    Comment,
    UserInfo,
    _is_clean,
    comment_text,
    rating_interaction,
    ticket_interactions,
)


def test_text_taken_as_is_only_when_cleaning_would_not_change_it() -> None:
    rng = random.Random(3)
    alphabet = " \n\t\r\x00\x7f\u200b\xe9ab.<"
    taken = 0
    for _ in range(100_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
        if _is_clean(text):
            taken += 1
            assert clean_text(text)[0] == text, repr(text)
    assert taken > 1_000  # the shortcut is really exercised
    for text in ("Hello,\n\nmy order #12 is late.", "a\n\n\nb", "a \n b", " a", "a\n", "a  b"):
        comment = Comment(id=1, ticket_id=1, author_id=None, public=True, body=text,
                          html_body=None, channel=None, created_at="", timestamp=0)
        assert comment_text(comment) == clean_text(text)[0]


def test_copied_interactions_equal_validated_ones() -> None:
    ticket = {"id": 7, "requester_id": 20, "status": "open", "priority": "high",
              "tags": ["vip", 3], "group_id": 5, "subject": "Late order",
              "custom_fields": [{"id": 11, "value": "x"}, {"id": 12, "value": [1, 2]}],
              "via": {"channel": "email"}, "updated_at": "2026-11-27T10:00:00Z"}
    comments = [
        Comment(id=100 + n, ticket_id=7, author_id=(20, 30, None)[n % 3], public=n % 2 == 0,
                body=f"message  {n}\n\n\nend" if n % 2 else f"message {n}", html_body=None,
                channel=("email", "web", None)[n % 3], created_at=f"2026-11-27T09:0{n}:00Z",
                timestamp=1_800_000_000 + n, is_description=n == 0)
        for n in range(6)
    ]
    users = {20: UserInfo(id=20, name="Cus", email="c@x", role="end-user"),
             30: UserInfo(id=30, name="Agent", email="a@x", role="agent", organization_id=4)}
    out = ticket_interactions("zendesk", ticket, comments, users, bot_channels=frozenset(),
                              bot_user_ids=frozenset())
    assert [i.native_id for i in out] == [str(c.id) for c in comments]
    for interaction in out:
        validated = Interaction.model_validate(interaction.model_dump())
        assert validated == interaction
        assert interaction.model_fields_set == out[0].model_fields_set
    assert len({id(i.native_fields) for i in out}) == len(out)


@pytest.mark.parametrize(("body", "html_body"), [
    ({"text": "hi"}, None), (["hi"], None), (5, None), (None, {"p": 1}), (None, ["<p>"]),
    (None, 7), ("", 0),
])
def test_a_comment_whose_text_is_not_text_is_a_bad_record(body: Any, html_body: Any) -> None:
    # TypeError is what the reader dead-letters; anything else would stop the whole sync.
    comment = Comment(id=1, ticket_id=1, author_id=None, public=True, body=body,
                      html_body=html_body, channel=None, created_at="", timestamp=0)
    with pytest.raises(TypeError):
        comment_text(comment)


def test_a_rating_comment_that_is_not_text_is_a_bad_record() -> None:
    rating = {"id": 1, "ticket_id": 2, "score": "bad", "requester_id": 3,
              "created_at": "2026-11-27T10:00:00Z", "comment": {"text": "slow"}}
    with pytest.raises(TypeError):
        rating_interaction("zendesk", rating, {})
    rating["comment"] = "slow"
    interaction = rating_interaction("zendesk", rating, {})
    assert interaction is not None and interaction.text == "slow"
