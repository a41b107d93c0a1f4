"""State store: cursors, interaction ledger, analyses, outbox, write-back ledger, dead letters."""

from empathy_bridge.store.store import (
    DeadLetter,
    DecisionRow,
    OutboxRow,
    Store,
    fingerprint,
    value_json,
)

__all__ = ["DeadLetter", "DecisionRow", "OutboxRow", "Store", "fingerprint", "value_json"]
