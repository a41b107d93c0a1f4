"""The right to be forgotten: remove everything derived from one customer, on demand.

Removes the customer's conversations (interactions, analyses, decisions), the outbox and
write-back ledger rows of their records, and dead letters that mention them, in one transaction,
and writes an audit entry that records *that* a customer was forgotten without storing who (a
keyed hash of the id lets an operator confirm a request was honoured).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select

from empathy_bridge.store import tables as t

if TYPE_CHECKING:
    from empathy_bridge.engine import Bridge

__all__ = ["customer_reference", "forget_customer"]


def customer_reference(customer_id: str) -> str:
    """A stable, non-reversible reference to a customer id for the audit log."""
    return hashlib.blake2b(
        customer_id.encode("utf-8"), digest_size=12, person=b"eb-forget"
    ).hexdigest()


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def forget_customer(
    bridge: Bridge, customer_id: str, *, actor: str = "cli", vacuum: bool = False
) -> dict[str, int]:
    """Delete a customer's derived data from the store; returns counts per kind.

    The customer is matched on the ``customer_id`` stored with each interaction (the customer
    of the conversation), per source; their conversations are removed whole, agent replies
    included, because those quote and describe the customer.

    On SQLite the deleted rows are overwritten with zeros (``secure_delete``), not only
    unlinked. Older versions of rows that were *updated* before (a decision revised by a later
    message) can still sit in the file's free space; ``vacuum=True`` rewrites the whole file
    to remove those too, which holds the store's write lock for a while on a large store.
    """
    store = bridge.store
    counts = {"conversations": 0, "interactions": 0, "dead_letters": 0}
    sqlite = store.engine.dialect.name == "sqlite"
    with store.transaction() as conn:
        if sqlite:
            # Without it SQLite only unlinks the freed pages: the customer's text would stay
            # readable in the file until a VACUUM. Set per connection, before the deletes.
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
        found = conn.execute(
            select(
                t.interactions.c.source,
                t.interactions.c.conversation_id,
                t.interactions.c.native_id,
                t.interactions.c.record_id,
            ).where(t.interactions.c.customer_id == customer_id)
        ).all()
        by_source: dict[str, set[str]] = {}
        mentions = {customer_id}
        for source, conversation_id, native_id, record_id in found:
            by_source.setdefault(source, set()).add(conversation_id)
            mentions.update((native_id, record_id))
        for source, conversations in by_source.items():
            counts["conversations"] += len(conversations)
            counts["interactions"] += store.delete_conversations(
                conn, source, sorted(conversations)
            )
        # A dead letter mentions the customer when it is about one of their records, or its
        # payload carries their id as a JSON string (payloads are JSON).
        quoted = _like_escape(f'"{customer_id}"')
        counts["dead_letters"] = int(
            conn.execute(
                delete(t.dead_letters).where(
                    or_(
                        t.dead_letters.c.native_id.in_(sorted(mentions)),
                        t.dead_letters.c.payload.like(f"%{quoted}%", escape="\\"),
                    )
                )
            ).rowcount
        )
        store.audit(
            "forget_customer",
            actor=actor,
            detail={"customer_ref": customer_reference(customer_id), **counts},
            conn=conn,
        )
    if sqlite:
        # The write-ahead log still holds the pages as they were before the deletes; copy the
        # zeroed pages into the database and empty the log.
        with store.engine.connect() as conn:
            if vacuum:
                conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts
