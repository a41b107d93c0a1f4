"""What the ledgers compare: content fingerprints of interactions, canonical JSON of values.

Kept apart from :mod:`empathy_bridge.store` (which needs SQLAlchemy) because the pipeline
compares both without a database, and ``empathy-bridge analyze`` should not import one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from empathy_bridge.schemas import Interaction

__all__ = ["fingerprint", "value_json"]


def value_json(value: Any) -> str:
    """Canonical JSON of a field value, so equal values compare equal as text in the ledger."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(interaction: Interaction) -> str:
    """Content fingerprint of what the analysis depends on (not tags or fields we write)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (
        interaction.text,
        interaction.author_role.value,
        interaction.author.id if interaction.author else "",
        interaction.conversation_id,
        interaction.visibility.value,
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()
