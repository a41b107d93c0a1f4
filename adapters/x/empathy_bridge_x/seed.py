"""Seeded, realistic X data for the sandbox: the brand, its customers and their threads.

Threads (times relative to the sandbox's start): a brewing outage (a trickle of "is it down?"
posts over the last hours, the baseline a spike rule compares against), a happy customer with
the brand's answer, a confused customer asking twice, a high-reach angry customer, a reply to a
deleted post, a reply to a protected account's post, an emoji-only post and posts in Spanish and
Japanese. ``records`` adds that many generated mentions for load tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BRAND_HANDLE", "BRAND_ID", "SeedTweet", "SeedUser", "seed_data"]

BRAND_ID = "1000000000000000001"
BRAND_HANDLE = "AcmeSupport"


@dataclass
class SeedUser:
    """An X account in the sandbox."""

    id: str
    username: str
    name: str
    followers: int
    protected: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API v2 user object."""
        return {"id": self.id, "username": self.username, "name": self.name,
                "protected": self.protected,
                "public_metrics": {"followers_count": self.followers, "following_count": 180,
                                   "tweet_count": 2400, "listed_count": 3}}


@dataclass
class SeedTweet:
    """A post in the sandbox; ``minutes_ago`` is resolved against the start time."""

    key: str
    author: str
    text: str
    minutes_ago: float
    lang: str = "en"
    reply_to: str | None = None
    deleted: bool = False
    metrics: dict[str, int] = field(default_factory=dict)


_CUSTOMERS = [
    SeedUser("2000000000000000010", "dana_rivers", "Dana Rivers", 412),
    SeedUser("2000000000000000011", "liam_k", "Liam K.", 95),
    SeedUser("2000000000000000012", "priya_codes", "Priya", 1830),
    SeedUser("2000000000000000013", "TechReviewerMax", "Max | Tech Reviews", 251_000),
    SeedUser("2000000000000000014", "confused_carl", "Carl", 57),
    SeedUser("2000000000000000015", "happy_hana", "Hana", 640),
    SeedUser("2000000000000000016", "sofia_mx", "Sofía", 310),
    SeedUser("2000000000000000017", "kenji_t", "Kenji", 88),
    SeedUser("2000000000000000018", "emoji_ed", "Ed", 23),
    SeedUser("2000000000000000019", "quiet_quinn", "Quinn (private)", 40, protected=True),
    SeedUser("2000000000000000020", "gone_gary", "Gary", 12),
    SeedUser("2000000000000000021", "ops_olivia", "Olivia", 2200),
]

_THREADS = [
    # A brewing outage: about one post an hour, the baseline a spike is measured against.
    SeedTweet("out1", "liam_k", "@AcmeSupport is there an outage? The app won't load for me", 330),
    SeedTweet("out2", "priya_codes",
              "acme checkout down again? getting errors at payment #acmeoutage", 265),
    SeedTweet("out3", "ops_olivia", "@AcmeSupport seeing intermittent outage on the API, anything "
              "on your status page?", 205),
    SeedTweet("out4", "dana_rivers", "@AcmeSupport login keeps timing out, is this an outage?",
              150),
    SeedTweet("out5", "liam_k", "@AcmeSupport still slow here, was the outage fixed?", 95),
    SeedTweet("out6", "priya_codes", "@AcmeSupport another outage today?? this is getting old", 40),
    # A happy customer and the brand's reply.
    SeedTweet("happy", "happy_hana", "@AcmeSupport huge thanks for sorting my refund so fast, you "
              "folks rock! 🎉", 120, metrics={"like_count": 14}),
    SeedTweet("happy_reply", BRAND_HANDLE, "@happy_hana So glad we could help, Hana! Enjoy your "
              "weekend.", 110, reply_to="happy"),
    # A confused customer who asks twice.
    SeedTweet("confused", "confused_carl", "@AcmeSupport how do I change the billing address on my "
              "account? The settings page makes no sense to me", 80),
    SeedTweet("confused2", "confused_carl",
              "@AcmeSupport still can't find it... is it under Profile or Billing? I'm lost", 70,
              reply_to="confused"),
    # A high-reach angry customer.
    SeedTweet("angry", "TechReviewerMax", "@AcmeSupport Third time my order arrived broken. "
              "Absolutely unacceptable, I am done with you. Refund me NOW.", 30,
              metrics={"reply_count": 48, "retweet_count": 120, "like_count": 900,
                       "quote_count": 15, "impression_count": 88_000}),
    # A reply to a post that has since been deleted.
    SeedTweet("deleted_root", "gone_gary", "@AcmeSupport you charged me twice", 200, deleted=True),
    SeedTweet("after_deleted", "dana_rivers", "@AcmeSupport same thing happened to me, any news?",
              190, reply_to="deleted_root"),
    # A reply to a protected account's post (X reports it as not authorised).
    SeedTweet("protected_root", "quiet_quinn", "@AcmeSupport my account is locked", 170),
    SeedTweet("after_protected", "priya_codes", "@quiet_quinn @AcmeSupport had the same, DM them",
              165, reply_to="protected_root"),
    # Emoji only and non-English posts.
    SeedTweet("emoji", "emoji_ed", "@AcmeSupport 😡😡😡", 55, lang="und"),
    SeedTweet("spanish", "sofia_mx", "@AcmeSupport ¡Otra vez sin servicio! Llevo dos horas "
              "esperando, qué desastre.", 50, lang="es"),
    SeedTweet("japanese", "kenji_t", "@AcmeSupport アプリが起動しません。助けてください", 45,
              lang="ja"),
]

_GENERATED = [
    "@AcmeSupport my package is late again, where is it?",
    "@AcmeSupport thanks for the quick help today",
    "@AcmeSupport why was I charged twice this month?",
    "@AcmeSupport how do I reset my password?",
    "@AcmeSupport love the new update!",
    "@AcmeSupport the app keeps crashing when I open settings",
    "@AcmeSupport still waiting on a reply to my ticket, three days now",
    "@AcmeSupport is there a discount for annual plans?",
]


def seed_data(seed: int, records: int) -> tuple[list[SeedUser], list[SeedTweet]]:
    """The brand plus customers, and the seeded threads plus ``records`` generated mentions."""
    rng = random.Random(seed)
    brand = SeedUser(BRAND_ID, BRAND_HANDLE, "Acme Support", 52_000)
    users = [brand, *_CUSTOMERS]
    tweets = list(_THREADS)
    for n in range(records):
        author = rng.choice(_CUSTOMERS[:9])
        tweets.append(SeedTweet(f"gen{n}", author.username, rng.choice(_GENERATED),
                                minutes_ago=rng.uniform(360, 60 * 48)))
    return users, tweets
