"""Opportunistic micro-batching of single-text analysis requests.

The analyzer reads a batch several times faster per text than one text at a time (vectorised
model, one hook call), so concurrent ``/v1/analyze`` calls are grouped: each request queues its
text and awaits a future; one drain task takes *whatever is already queued* (no timer, so an idle
server adds no latency), analyses it in one call on a worker thread, and resolves the futures.
Under load, requests that arrive while a batch is being analysed form the next, larger batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import EmotionalContext
from empathy_bridge.server.futures import settle

__all__ = ["AnalyzeBatcher"]

#: A function analysing many texts with the same interaction fields (``Bridge.analyze_many``).
AnalyzeMany = Callable[..., list[EmotionalContext]]

_Item = tuple[str, tuple[tuple[str, Any], ...], "asyncio.Future[EmotionalContext]"]


class AnalyzeBatcher:
    """Group concurrent single-text analyses into batched analyzer calls (one event loop)."""

    def __init__(self, analyze_many: AnalyzeMany, max_batch: int = 64) -> None:
        self.analyze_many = analyze_many
        self.max_batch = max_batch
        self._pending: list[_Item] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # analyzer calls made (for tests and diagnostics)

    async def analyze(self, text: str, **fields: Any) -> EmotionalContext:
        """The context of ``text``; raises :class:`SkippableError` if it cannot be analysed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EmotionalContext] = loop.create_future()
        self._pending.append((text, tuple(sorted(fields.items())), future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            taken, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            groups: dict[tuple[tuple[str, Any], ...], list[_Item]] = {}
            for item in taken:
                groups.setdefault(item[1], []).append(item)
            for key, items in groups.items():
                results = await run_in_threadpool(self._run, [i[0] for i in items], dict(key))
                for (_, _, future), result in zip(items, results, strict=True):
                    settle(future, result)

    def _run(self, texts: list[str], fields: dict[str, Any]
             ) -> list[EmotionalContext | BaseException]:
        self.batches += 1
        try:
            return list(self.analyze_many(texts, **fields))
        except SkippableError:
            pass
        except Exception as exc:  # any failure is handed to every waiting request
            return [exc] * len(texts)
        # One text broke the batch: analyse one by one so only that request fails.
        out: list[EmotionalContext | BaseException] = []
        for text in texts:
            try:
                out.append(self.analyze_many([text], **fields)[0])
            except Exception as exc:  # this failure belongs to this request only
                out.append(exc)
        return out
