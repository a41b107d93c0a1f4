"""Canonical schemas: validation rules and JSON Schema drift."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from empathy_bridge.schema_export import render_schemas
from empathy_bridge.schemas import (
    EmotionalContext,
    EmotionalState,
    Interaction,
    Priority,
    Tier,
)

ROOT = Path(__file__).resolve().parents[1]


def test_naive_timestamps_are_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Interaction(source="s", native_id="1", conversation_id="c", created_at=datetime(2026, 1, 1))


def test_timestamps_are_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    i = Interaction(
        source="s",
        native_id="1",
        conversation_id="c",
        created_at=datetime(2026, 1, 1, 10, 0, tzinfo=cet),
    )
    assert i.created_at.utcoffset() == timedelta(0)
    assert i.created_at.hour == 9


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Interaction.model_validate(
            {
                "source": "s",
                "native_id": "1",
                "conversation_id": "c",
                "created_at": "2026-01-01T00:00:00Z",
                "txet": "typo",
            }
        )


def test_tiers_are_ordered() -> None:
    assert Tier.CALM < Tier.CONCERNED < Tier.UPSET < Tier.DISTRESSED < Tier.CRITICAL
    assert Tier.CRITICAL.raised() is Tier.CRITICAL
    assert Tier.UPSET.raised(1) is Tier.DISTRESSED
    assert max([Tier.UPSET, Tier.CALM, Tier.DISTRESSED]) is Tier.DISTRESSED
    assert Priority.URGENT.rank > Priority.HIGH.rank > Priority.NORMAL.rank > Priority.LOW.rank


def test_context_ranges_are_enforced() -> None:
    with pytest.raises(ValidationError):
        EmotionalContext(
            sentiment=1.5, state=EmotionalState.NEUTRAL, intensity=0.1, tier=Tier.CALM, analyzer="x"
        )
    with pytest.raises(ValidationError, match=r"within 0\.\.1"):
        EmotionalContext(
            sentiment=0,
            state=EmotionalState.NEUTRAL,
            intensity=0.1,
            tier=Tier.CALM,
            analyzer="x",
            states={EmotionalState.ANXIETY: 2.0},
        )


def test_committed_json_schemas_match_the_models() -> None:
    committed = {
        p.name: p.read_text(encoding="utf-8") for p in (ROOT / "schemas").glob("*.schema.json")
    }
    rendered = render_schemas()
    drifted = sorted(name for name in rendered if committed.get(name) != rendered[name])
    assert not drifted, (
        f"schemas/ is out of date for {drifted}: run `empathy-bridge schema export schemas`"
    )
