"""SDK tour: analyse text, run a sync cycle on the built-in example desk, decide a handoff.

Run from the repository root: .venv/bin/python examples/sdk_quickstart.py
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from empathy_bridge import AuthorRole, Bridge, Conversation, Interaction


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="eb-example-"))
    config = {
        "store": {"url": f"sqlite:///{workdir / 'store.db'}"},
        "sources": {"example": {"adapter": "example", "desk": "sdk-example"}},
    }
    with Bridge.from_config(config) as bridge:
        context = bridge.analyze("This is the third time I'm asking. Cancel my account!")
        print(
            "state:",
            context.state.value,
            "tier:",
            context.tier.value,
            "cues:",
            sorted(context.cue_kinds()),
        )

        report = bridge.sync("example")
        print(f"sync: pulled={report.pulled} analysed={report.analyzed} written={report.written}")

        start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        turns = [
            (AuthorRole.CUSTOMER, "My card was charged twice."),
            (AuthorRole.BOT, "Here is our refunds article."),
            (AuthorRole.CUSTOMER, "That doesn't help. Still charged twice!"),
            (AuthorRole.BOT, "Here is our refunds article."),
            (AuthorRole.CUSTOMER, "Let me talk to a real person NOW."),
        ]
        conversation = Conversation(
            source="chat",
            conversation_id="c1",
            interactions=tuple(
                Interaction(
                    source="chat",
                    native_id=str(n),
                    conversation_id="c1",
                    author_role=role,
                    text=text,
                    channel="chat",
                    created_at=start + timedelta(minutes=n),
                )
                for n, (role, text) in enumerate(turns)
            ),
        )
        decision = bridge.decide_handoff(conversation)
        print("handoff:", decision.handoff, list(decision.reasons))


if __name__ == "__main__":
    main()
