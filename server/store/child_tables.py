"""What the tables of a project's children share: keys, reads, and the project's id lists."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from server.errors import NotFound, ServiceUnavailable
from server.models import Project, StoredConfig
from server.store.codec import Item
from server.store.dynamo import Dynamo
from server.store.expressions import (
    Attr,
    Condition,
    Update,
    if_not_exists,
    list_append,
    user_partition,
)
from server.store.transactions import LostRace, Refusal, TransactItem, check, put, update
from server.store.usage import COUNTED_LISTS

__all__ = ["LIVE_PROJECT", "ChildTable", "ProjectLists", "at_version", "settle"]

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")

RACE_RETRIES = 10
RACE_BACKOFF = 0.005  # seconds, doubled with each retry, up to RACE_BACKOFF_MAX
RACE_BACKOFF_MAX = 0.2
# A project that can take children: it exists and no cascade delete has begun on it.
LIVE_PROJECT = Attr("projectId").exists() & Attr("deleting").not_exists()


class Named(Protocol):
    """An item with a name and a config map, versioned (agents and tools)."""

    @property
    def name(self) -> str: ...
    @property
    def config(self) -> StoredConfig: ...
    @property
    def version(self) -> int: ...
    @property
    def updated_at(self) -> str: ...


async def settle(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` until it does not lose a race (bounded). Each retry waits a random
    moment, up to twice as long as the last, so that writers racing for the same items take
    turns instead of colliding again and again."""
    for retry in range(RACE_RETRIES):
        try:
            return await attempt()
        except LostRace:
            await asyncio.sleep(random.uniform(0, min(RACE_BACKOFF * 2**retry, RACE_BACKOFF_MAX)))
    raise ServiceUnavailable("too many concurrent changes to the same items; retry")


class ChildTable(Generic[ModelT]):
    """A table partitioned by `userId` whose items belong to a project (`projectId`)."""

    sort_key: str
    model: type[ModelT]

    def __init__(self, dynamo: Dynamo, table: str) -> None:
        self.dynamo = dynamo
        self.table = table

    def key(self, user_id: str, item_id: str) -> dict[str, str]:
        return {"userId": user_id, self.sort_key: item_id}

    def parse(self, item: Item) -> ModelT:
        return self.model.model_validate(item)

    async def get(self, user_id: str, item_id: str, *, consistent: bool = False) -> ModelT | None:
        item = await self.dynamo.get_item(
            self.table, self.key(user_id, item_id), consistent=consistent
        )
        return self.parse(item) if item is not None else None

    async def get_many(
        self, keys: Sequence[tuple[str, str]], *, consistent: bool = False
    ) -> list[ModelT | None]:
        """One value per (user_id, item_id) key, in key order; None where absent."""
        items = await self.dynamo.batch_get(
            self.table, [self.key(*key) for key in keys], consistent=consistent
        )
        found = {(item["userId"], item[self.sort_key]): self.parse(item) for item in items}
        return [found.get(key) for key in keys]

    async def listed(self, project: Project, ids: Sequence[str]) -> list[ModelT]:
        """The project's children at `ids` (one of its id lists), in that order, read
        consistently by key (for writes and snapshots): what the project holds, whatever the
        size of the account. Ids without an item, or whose item names another project, are
        left out."""
        found = await self.get_many([(project.user_id, id_) for id_ in ids], consistent=True)
        return [
            child
            for child in found
            if child is not None and getattr(child, "project_id", None) == project.project_id
        ]

    async def first_page(self, user_id: str) -> tuple[list[ModelT], bool]:
        """The user's children found on the first page of their partition (one request, at
        most 1 MB read), and whether that page held them all."""
        items, more = await self.dynamo.query_first_page(
            self.table, user_partition(user_id), where=Attr("projectId").exists()
        )
        return [self.parse(item) for item in items], not more

    def insert(self, item: Mapping[str, object], *, otherwise: Refusal | None) -> TransactItem:
        """A Put of a new item, on condition that its key is free; `otherwise` says what it
        means if not."""
        return put(
            self.table, item, condition=Attr(self.sort_key).not_exists(), otherwise=otherwise
        )

    def revise(
        self,
        user_id: str,
        item_id: str,
        old_version: int,
        new: Named,
        *,
        otherwise: Refusal,
        unless: Condition | None = None,
        also: Mapping[str, object] | None = None,
    ) -> TransactItem:
        """An Update writing `new`'s name and config (and the attributes `also` gives, e.g.
        `toolIds`), if the item is still at `old_version` (and `unless` holds); `otherwise`
        says what it means if not."""
        changes = (
            Update()
            .set(Attr("name"), new.name)
            .set(Attr("config"), new.config.stored())
            .set(Attr("updatedAt"), new.updated_at)
            .set(Attr("version"), new.version)
        )
        for attribute, value in (also or {}).items():
            changes = changes.set(Attr(attribute), value)
        condition = Attr(self.sort_key).exists() & at_version(old_version)
        return update(
            self.table,
            self.key(user_id, item_id),
            changes,
            condition=condition if unless is None else condition & unless,
            otherwise=otherwise,
        )

    async def keys_of_project(self, user_id: str, project_id: str) -> list[Item]:
        """The keys of every item of one project, read consistently (for the cascade delete)."""
        items = self.dynamo.query(
            self.table,
            user_partition(user_id),
            where=Attr("projectId").eq(project_id),
            attributes=["userId", self.sort_key],
            consistent=True,
        )
        return [item async for item in items]


class ProjectLists:
    """Transaction items that keep a project's `agentIds`, `toolIds`, ... in step with children."""

    def __init__(self, table: str) -> None:
        self.table = table

    def key(self, user_id: str, project_id: str) -> dict[str, str]:
        return {"userId": user_id, "projectId": project_id}

    def require_live(self, user_id: str, project_id: str) -> TransactItem:
        """A check that the project can take children; else it is not found."""
        return check(
            self.table,
            self.key(user_id, project_id),
            LIVE_PROJECT,
            otherwise=NotFound("project", project_id),
        )

    def append(self, user_id: str, project_id: str, attribute: str, child_id: str) -> TransactItem:
        """Append `child_id` to the list, if the project can take children (else it is not
        found) and the list has room under its per-project quota (else that is exceeded)."""
        ids = Attr(attribute)
        return update(
            self.table,
            self.key(user_id, project_id),
            Update().set(ids, list_append(if_not_exists(ids, []), [child_id])),
            condition=LIVE_PROJECT
            & (ids.not_exists() | ids.size().lt(COUNTED_LISTS[attribute].quota.limit)),
            otherwise=lambda project: _unappendable(project, attribute, project_id),
        )

    def remove(
        self, project: Project, attribute: str, ids: list[str], child_id: str
    ) -> TransactItem | None:
        """Remove `child_id` by its index, on condition that the index still holds it.

        None when the list does not hold it. A concurrent removal shifts the indexes and fails
        the condition: the caller reads the project again and retries.
        """
        if child_id not in ids:
            return None
        listed = Attr(attribute)[ids.index(child_id)]
        return update(
            self.table,
            self.key(project.user_id, project.project_id),
            Update().remove(listed),
            condition=listed.eq(child_id),
            otherwise=LostRace(),
        )


def _unappendable(project: Item | None, attribute: str, project_id: str) -> Exception:
    """Why an `append` to `attribute` failed, given the project item as it was."""
    if project is None or "deleting" in project:
        return NotFound("project", project_id)
    quota = COUNTED_LISTS[attribute].quota
    if len(project.get(attribute) or []) >= quota.limit:
        return quota.exceeded()
    return RuntimeError(f"an append to {attribute} failed on a live project with room")


def at_version(version: int) -> Condition:
    """The item is at `version`; items written without one count as version 1."""
    at = Attr("version").eq(version)
    return at | Attr("version").not_exists() if version == 1 else at
