"""Comments waiting for their ticket's export page: a few in memory, the rest on disk.

The ticket-events window of an export page holds comments of tickets that only come in a later
page (on a real account, a solved ticket is closed, and so re-exported, days after its last
comment). How many wait at once grows with the account's ticket rate, not with the page size:
about 30,000 comments for a 100,000-ticket backlog, ten times that for a million. Holding them
all would make memory grow with the backlog; resolving them early with ``show_many`` would emit
a ticket twice in one cycle (once early, again with its later comments) and so write it twice.

So up to ``memory_max`` comments stay in memory and the rest are spilled to a private temporary
SQLite file (deleted when it is closed); memory stays flat and each ticket is still emitted
once, with all its comments. The file is scratch space only: the committed events position is
held back to the oldest waiting comment, so a crash re-reads them from Zendesk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from empathy_bridge_zendesk.normalize import Comment

__all__ = ["OrphanBuffer"]

_COLUMNS = ("id", "ticket_id", "author_id", "public", "body", "html_body", "channel",
            "created_at", "timestamp", "is_description")
_SCHEMA = f"""
CREATE TABLE orphan ({", ".join(_COLUMNS)}, PRIMARY KEY (id)) WITHOUT ROWID;
CREATE INDEX orphan_ticket ON orphan (ticket_id);
CREATE INDEX orphan_timestamp ON orphan (timestamp);
"""
#: Ticket ids per ``IN (...)`` lookup (well under SQLite's bound-parameter limit).
_LOOKUP_CHUNK = 500


class OrphanBuffer:
    """Comments by ticket id, at most ``memory_max`` of them in memory."""

    def __init__(self, memory_max: int) -> None:
        self.memory_max = memory_max
        self._memory: dict[int, dict[int, Comment]] = {}
        self._memory_count = 0
        self._disk: sqlite3.Connection | None = None
        self._disk_count = 0

    def __len__(self) -> int:
        return self._memory_count + self._disk_count

    @property
    def spilled(self) -> int:
        """Comments currently on disk."""
        return self._disk_count

    def hold(self, ticket_id: int, comments: dict[int, Comment]) -> None:
        """Keep ``comments`` of ``ticket_id`` until :meth:`take_many` asks for the ticket."""
        held = self._memory.setdefault(ticket_id, {})
        before = len(held)
        held.update(comments)
        self._memory_count += len(held) - before
        if self._memory_count > self.memory_max:
            self._spill()

    def take_many(self, ticket_ids: Iterable[int]) -> dict[int, dict[int, Comment]]:
        """Remove and return the held comments of ``ticket_ids`` (tickets without any left out)."""
        wanted = list(ticket_ids)
        out: dict[int, dict[int, Comment]] = {}
        if self._disk_count:
            for comment in self._pop_disk(wanted):
                out.setdefault(comment.ticket_id, {})[comment.id] = comment
        for ticket_id in wanted:
            held = self._memory.pop(ticket_id, None)
            if held:
                self._memory_count -= len(held)
                out.setdefault(ticket_id, {}).update(held)
        return out

    def oldest(self) -> int | None:
        """Event timestamp of the oldest held comment (``None`` when nothing is held)."""
        stamps = [c.timestamp for held in self._memory.values() for c in held.values()]
        if self._disk is not None and self._disk_count:
            row = self._disk.execute("SELECT min(timestamp) FROM orphan").fetchone()
            if row and row[0] is not None:
                stamps.append(int(row[0]))
        return min(stamps) if stamps else None

    def ticket_ids(self) -> list[int]:
        """Ids of the tickets with held comments, ascending."""
        ids = {tid for tid, held in self._memory.items() if held}
        if self._disk is not None and self._disk_count:
            ids.update(int(r[0]) for r in self._disk.execute(
                "SELECT DISTINCT ticket_id FROM orphan"))
        return sorted(ids)

    def close(self) -> None:
        """Drop everything held and delete the scratch file."""
        self._memory.clear()
        self._memory_count = 0
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        self._disk_count = 0

    # -- disk -------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._disk is None:
            # "" is SQLite's private temporary on-disk database, removed on close. One fetch
            # generator owns the buffer, but a caller may resume it from another thread.
            self._disk = sqlite3.connect("", check_same_thread=False)
            # A small page cache: the file only exists on large backlogs, where SQLite's
            # default 2 MB cache would add to the peak; its pages stay in the OS cache anyway.
            self._disk.execute("PRAGMA cache_size = -256")
            self._disk.executescript(_SCHEMA)
        return self._disk

    def _spill(self) -> None:
        rows = [tuple(getattr(c, name) for name in _COLUMNS)
                for held in self._memory.values() for c in held.values()]
        disk = self._connection()
        with disk:  # one transaction, committed on exit
            # A comment is read once per cycle, so a repeat only replaces itself.
            disk.executemany(f"INSERT OR REPLACE INTO orphan VALUES "
                             f"({', '.join('?' for _ in _COLUMNS)})", rows)
        self._disk_count = int(disk.execute("SELECT count(*) FROM orphan").fetchone()[0])
        self._memory.clear()
        self._memory_count = 0

    def _pop_disk(self, ticket_ids: list[int]) -> list[Comment]:
        disk = self._connection()
        found: list[Comment] = []
        with disk:
            for start in range(0, len(ticket_ids), _LOOKUP_CHUNK):
                chunk = ticket_ids[start:start + _LOOKUP_CHUNK]
                marks = ", ".join("?" for _ in chunk)
                rows = disk.execute(f"SELECT {', '.join(_COLUMNS)} FROM orphan "
                                    f"WHERE ticket_id IN ({marks})", chunk).fetchall()
                if rows:
                    disk.execute(f"DELETE FROM orphan WHERE ticket_id IN ({marks})", chunk)
                    found.extend(_comment(row) for row in rows)
        self._disk_count -= len(found)
        return found


def _comment(row: tuple[object, ...]) -> Comment:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["public"] = bool(values["public"])
    values["is_description"] = bool(values["is_description"])
    return Comment(**values)  # type: ignore[arg-type]
