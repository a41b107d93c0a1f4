"""Resolving a request's future with the outcome computed for it elsewhere."""

from __future__ import annotations

import asyncio
from typing import TypeVar

__all__ = ["settle"]

T = TypeVar("T")


def settle(future: asyncio.Future[T], result: T | BaseException) -> None:
    """Set ``future``'s result, or its exception when ``result`` is one.

    A future already done belongs to a client that went away (its request was cancelled):
    it is left alone rather than raising ``InvalidStateError`` into the batch's other requests.
    """
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
