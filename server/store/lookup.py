"""Reading the item a mutation names, or answering NOT_FOUND."""

from __future__ import annotations

from typing import Protocol, TypeVar

from server.errors import NotFound
from server.models import is_key

__all__ = ["existing"]

T = TypeVar("T", covariant=True)


class Readable(Protocol[T]):
    async def get(self, user_id: str, item_id: str, *, consistent: bool = False) -> T | None: ...


async def existing(table: Readable[T], user_id: str, item_id: str, entity: str) -> T:
    """The caller's item as it is now (a consistent read); `NotFound` if there is none, or if
    `item_id` could not even be a key."""
    item = await table.get(user_id, item_id, consistent=True) if is_key(item_id) else None
    if item is None:
        raise NotFound(entity, item_id)
    return item
