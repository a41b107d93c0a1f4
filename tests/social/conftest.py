"""Fixtures of the social tests: a store with public posts and their readings."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.schemas import (
    AuthorRole,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
    Visibility,
)
from empathy_bridge.store import Store, fingerprint

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_ids = itertools.count(1000)


def make_post(text: str = "@Acme it's down again", *, minutes_ago: float = 1.0,
              followers: int | None = 100, sentiment: float = -0.6,
              state: EmotionalState = EmotionalState.FRUSTRATION, tier: Tier = Tier.UPSET,
              intensity: float = 0.6, role: AuthorRole = AuthorRole.CUSTOMER,
              channel: str = "social", language: str | None = "en", source: str = "x",
              native_id: str | None = None) -> tuple[Interaction, EmotionalContext]:
    """A public post and its emotional reading."""
    native = native_id or str(next(_ids))
    author = Party(source=source, id=f"u{native}", role=role, handle=f"@user{native}",
                   followers=followers)
    post = Interaction(source=source, native_id=native, conversation_id=native,
                       channel=channel, kind="post", author=author, author_role=role,
                       customer=author if role is AuthorRole.CUSTOMER else None,
                       visibility=Visibility.PUBLIC, text=text, language=language,
                       created_at=NOW - timedelta(minutes=minutes_ago),
                       native_fields={"url": f"https://x.com/user{native}/status/{native}"})
    context = EmotionalContext(sentiment=sentiment, state=state, intensity=intensity, tier=tier,
                               author_role=role, analyzer="test")
    return post, context


@pytest.fixture
def social_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'social.db'}")
    yield store
    store.close()


@pytest.fixture
def add_posts(social_store: Store) -> Callable[..., list[Interaction]]:
    """``add_posts(*(post, context))`` stores posts as a sync would."""

    def add(*items: tuple[Interaction, EmotionalContext]) -> list[Interaction]:
        with social_store.transaction() as conn:
            social_store.save_analyses(conn, [(p, fingerprint(p), c) for p, c in items])
        return [p for p, _ in items]

    return add


@pytest.fixture
def post_factory() -> Callable[..., tuple[Interaction, EmotionalContext]]:
    return make_post


@pytest.fixture
def now() -> datetime:
    return NOW


class FakePoster:
    """An in-test ReplyPoster that records posts and can lose answers or refuse."""

    reply_max_length = 280

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.calls = 0
        self.lookups = 0
        self.fail_with: Exception | None = None

    def post_reply(self, in_reply_to: str, text: str, *, draft_id: str,
                   reconcile: bool = False) -> Any:
        from empathy_bridge.social.posting import PostedReply

        self.calls += 1
        if reconcile:
            found = self.find_reply(in_reply_to, text)
            if found is not None:
                return found
        if self.fail_with is not None:
            raise self.fail_with
        native = f"p{len(self.posted) + 1}"
        self.posted.append({"id": native, "in_reply_to": in_reply_to, "text": text,
                            "draft_id": draft_id})
        return PostedReply(native, f"https://x.com/acme/status/{native}")

    def find_reply(self, in_reply_to: str, text: str) -> Any:
        from empathy_bridge.social.posting import PostedReply

        self.lookups += 1
        for p in self.posted:
            if p["in_reply_to"] == in_reply_to and p["text"] == text:
                return PostedReply(p["id"], None)
        return None


@pytest.fixture
def fake_poster() -> FakePoster:
    return FakePoster()


def ids(items: Sequence[Any]) -> list[str]:
    return [getattr(i, "id", getattr(i, "native_id", "")) for i in items]
