"""Throughput of the built-in decision policies over synthetic conversations (prints numbers).

Run: ``.venv/bin/python benchmarks/policies_bench.py [N]`` (default 5,000 conversations).
Contexts are built directly, so the figures measure the policies, not the analyzer.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from empathy_bridge.policies.handoff import decide_handoff
from empathy_bridge.policies.library import load_library
from empathy_bridge.policies.responses import suggest_responses
from empathy_bridge.policies.routing import route
from empathy_bridge.policies.settings import (
    HandoffSettings,
    ResponsesSettings,
    RoutingSettings,
    SlaSettings,
)
from empathy_bridge.policies.sla import decide_priority
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    Cue,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
)

TEXTS = [
    "My order still hasn't arrived and it's been two weeks. Where is my package?",
    "I was charged twice for my subscription this month, please refund me.",
    "The app is down again and we can't log in. Our whole team is blocked!",
    "How do I export my reports? The settings page is confusing.",
    "Please cancel my account, I'm switching to a competitor.",
    "The export button is broken on Firefox.",
    "Thanks, that fixed it!",
]
BOT = "I can help with that! Have you tried checking our help center?"


def _conversation(n: int, rng: random.Random) -> tuple[Interaction, EmotionalContext,
                                                       Conversation]:
    start = datetime(2026, 11, 25, 10, tzinfo=UTC) + timedelta(minutes=rng.randrange(10_000))
    customer = Party(source="bench", id=f"c{n}", name="Dana Reyes",
                     segment=rng.choice([None, "enterprise"]))
    channel = rng.choice(["email", "chat", "social", "web"])
    interactions, contexts = [], {}
    for turn in range(rng.randrange(1, 4)):
        message = Interaction(source="bench", native_id=f"{n}-{turn}", conversation_id=str(n),
                              channel=channel, author=customer, customer=customer,
                              text=rng.choice(TEXTS),
                              created_at=start + timedelta(minutes=turn * 3))
        tier = rng.choice(list(Tier))
        state = rng.choice(list(EmotionalState))
        cues = tuple(Cue(kind=k) for k in rng.sample(["repeated_contact", "churn_threat",
                                                      "human_request"], rng.randrange(0, 2)))
        contexts[message.native_id] = EmotionalContext(
            sentiment=-0.5, state=state, states={state: 0.6}, intensity=rng.random(), tier=tier,
            cues=cues, analyzer="bench")
        interactions.append(message)
        interactions.append(Interaction(source="bench", native_id=f"{n}-{turn}b",
                                        conversation_id=str(n), channel=channel,
                                        author_role=AuthorRole.BOT, text=BOT,
                                        created_at=start + timedelta(minutes=turn * 3 + 1)))
    conversation = Conversation(source="bench", conversation_id=str(n),
                                interactions=tuple(interactions), contexts=contexts,
                                customer=customer)
    latest = [i for i in interactions if i.author_role is AuthorRole.CUSTOMER][-1]
    return latest, contexts[latest.native_id], conversation


def _time(label: str, count: int, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"{label:<22} {count / elapsed:>10,.0f} conversations/s  "
          f"({elapsed * 1e6 / count:,.0f} µs each)")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rng = random.Random(7)
    cases = [_conversation(n, rng) for n in range(count)]
    sla = SlaSettings.model_validate({"business_hours": {"timezone": "America/New_York",
                                                         "holiday_country": "US"}})
    routing = RoutingSettings.model_validate({"mode": "all", "rules": [
        {"name": f"rule-{k}", "when": {"min_tier": tier, "channels": [channel]},
         "target": f"q{k}"}
        for k, (tier, channel) in enumerate(
            (t.value, c) for t in Tier for c in ("email", "chat", "social", "web"))]})
    handoff, responses, library = HandoffSettings(), ResponsesSettings(), load_library()
    print(f"{count:,} conversations, {len(routing.rules)} routing rules, "
          f"{len(library.templates())} templates")
    _time("priority (SLA)", count, lambda: [decide_priority(i, c, v, sla) for i, c, v in cases])
    _time("routing (all mode)", count, lambda: [route(i, c, v, routing) for i, c, v in cases])
    _time("handoff", count, lambda: [decide_handoff(v, handoff) for _, _, v in cases])
    _time("reply suggestions", count,
          lambda: [suggest_responses(i, c, v, responses, library) for i, c, v in cases])


if __name__ == "__main__":
    main()
