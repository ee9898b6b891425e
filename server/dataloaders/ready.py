"""Nested fields that answer at once when their rows are already loaded.

The look-ahead primes the loaders before the nested fields run, so most of them find their
rows in the loader's cache. An `async def` resolver would still cost an awaitable per field
(a coroutine, and a task when graphql-core gathers a list of them): the largest share of the
server's CPU for a big operation. These helpers return the value itself when the loader
already holds it, and an awaitable only when it must wait; graphql-core accepts either from
a plain `def` resolver.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeAlias, TypeVar

from strawberry.dataloader import DataLoader

__all__ = ["Resolved", "then", "when_all_loaded", "when_loaded", "when_ready"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

Resolved: TypeAlias = R | Awaitable[R]
"""What a resolver built on these helpers returns: the value, or an awaitable of it."""


def when_loaded(loader: DataLoader[K, V], key: K, use: Callable[[V], R]) -> Resolved[R]:
    """`use(value of key)`: now if `loader` holds it, else once it is loaded."""
    return when_ready(loader.load(key), use)


def when_ready(pending: Awaitable[V], use: Callable[[V], R]) -> Resolved[R]:
    """`use(value)`: now if `pending` (a loader's future) is done, else once it is."""
    if isinstance(pending, asyncio.Future) and pending.done():
        return use(pending.result())
    return _later(pending, use)


def when_all_loaded(
    loader: DataLoader[K, V], keys: Iterable[K], use: Callable[[list[V]], R]
) -> Resolved[R]:
    """`use(values of keys)`, in order: now if `loader` holds them all, else once loaded."""
    pending = [loader.load(key) for key in keys]
    if all(isinstance(one, asyncio.Future) and one.done() for one in pending):
        return use([one.result() for one in pending])  # type: ignore[attr-defined]
    return _later(asyncio.gather(*pending), use)


def then(first: Resolved[V], use: Callable[[V], Resolved[R]]) -> Resolved[R]:
    """`use(first's value)`, itself a value or an awaitable: now if `first` is a value."""
    if not inspect.isawaitable(first):
        return use(first)
    return _then_later(first, use)


async def _then_later(first: Awaitable[V], use: Callable[[V], Resolved[R]]) -> R:
    result = use(await first)
    if inspect.isawaitable(result):
        return await result
    return result


async def _later(pending: Awaitable[V], use: Callable[[V], R]) -> R:
    return use(await pending)
