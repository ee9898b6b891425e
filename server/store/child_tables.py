"""What the tables of a project's children share: keys, reads, and the project's id lists."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from server.errors import DomainError, NotFound, ServiceUnavailable
from server.models import Project, StoredConfig
from server.store.codec import Item
from server.store.dynamo import Dynamo, Expression, check, update
from server.store.usage import COUNTED_LISTS

__all__ = ["ChildTable", "LostRace", "ProjectLists", "and_", "at_version", "settle"]

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")

RACE_RETRIES = 10
RACE_BACKOFF = 0.005  # seconds, doubled with each retry, up to RACE_BACKOFF_MAX
RACE_BACKOFF_MAX = 0.2
# A project that can take children: it exists and no cascade delete has begun on it.
LIVE_PROJECT = "attribute_exists(projectId) AND attribute_not_exists(deleting)"


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


class LostRace(Exception):
    """Another writer changed what a transaction was conditioned on; read again and retry."""


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
            self.table,
            Expression("userId = :user", values={":user": user_id}),
            where=Expression("attribute_exists(projectId)"),
        )
        return [self.parse(item) for item in items], not more

    def revise(
        self,
        user_id: str,
        item_id: str,
        old_version: int,
        new: Named,
        *,
        unless: Expression | None = None,
        also: Expression | None = None,
    ) -> dict[str, Any]:
        """An Update writing `new`'s name and config (and the assignments `also` lists, e.g.
        `toolIds = :toolIds`), if the item is still at `old_version` (and `unless` holds)."""
        conditions = [Expression(f"attribute_exists({self.sort_key})"), at_version(old_version)]
        assignments = Expression(
            "SET #name = :name, config = :config, updatedAt = :now, #v = :next",
            {"#name": "name", "#v": "version"},
            {
                ":name": new.name,
                ":config": new.config.stored(),
                ":now": new.updated_at,
                ":next": new.version,
            },
        )
        if also is not None:
            assignments = Expression(
                f"{assignments.text}, {also.text}",
                {**assignments.names, **also.names},
                {**assignments.values, **also.values},
            )
        return update(
            self.table,
            self.key(user_id, item_id),
            assignments,
            condition=and_(*conditions, *([unless] if unless is not None else [])),
        )

    async def keys_of_project(self, user_id: str, project_id: str) -> list[Item]:
        """The keys of every item of one project, read consistently (for the cascade delete)."""
        items = self.dynamo.query(
            self.table,
            Expression("userId = :user", values={":user": user_id}),
            where=Expression("projectId = :project", values={":project": project_id}),
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

    def require_live(self, user_id: str, project_id: str) -> dict[str, Any]:
        return check(self.table, self.key(user_id, project_id), Expression(LIVE_PROJECT))

    def append(
        self, user_id: str, project_id: str, attribute: str, child_id: str
    ) -> dict[str, Any]:
        """Append `child_id` to the list, if the project can take children and the list has
        room under its per-project quota."""
        return update(
            self.table,
            self.key(user_id, project_id),
            Expression(
                "SET #list = list_append(if_not_exists(#list, :empty), :child)",
                {"#list": attribute},
                {":empty": [], ":child": [child_id]},
            ),
            condition=Expression(
                f"{LIVE_PROJECT} AND (attribute_not_exists(#list) OR size(#list) < :max)",
                {"#list": attribute},
                {":max": COUNTED_LISTS[attribute].quota.limit},
            ),
        )

    def refusal(self, project: Item | None, attribute: str, project_id: str) -> DomainError:
        """Why an `append` to `attribute` failed, given the project item as it was."""
        if project is None or "deleting" in project:
            return NotFound("project", project_id)
        quota = COUNTED_LISTS[attribute].quota
        if len(project.get(attribute) or []) >= quota.limit:
            return quota.exceeded()
        raise RuntimeError(f"an append to {attribute} failed on a live project with room")

    def remove(
        self, project: Project, attribute: str, ids: list[str], child_id: str
    ) -> dict[str, Any] | None:
        """Remove `child_id` by its index, on condition that the index still holds it.

        None when the list does not hold it. A concurrent removal shifts the indexes and fails
        the condition: the caller reads the project again and retries.
        """
        if child_id not in ids:
            return None
        index = ids.index(child_id)
        return update(
            self.table,
            self.key(project.user_id, project.project_id),
            Expression(f"REMOVE #list[{index}]", {"#list": attribute}),
            condition=Expression(
                f"#list[{index}] = :child", {"#list": attribute}, {":child": child_id}
            ),
        )


def at_version(version: int) -> Expression:
    """The item is at `version`; items written without one count as version 1."""
    text = "#v = :read OR attribute_not_exists(#v)" if version == 1 else "#v = :read"
    return Expression(text, {"#v": "version"}, {":read": version})


def and_(*expressions: Expression) -> Expression:
    """Expressions joined with AND; their placeholders must not clash."""
    names: dict[str, str] = {}
    values: dict[str, object] = {}
    for expression in expressions:
        names.update(expression.names)
        values.update(expression.values)
    # DynamoDB refuses redundant parentheses: only disjunctions get them.
    parts = (f"({e.text})" if " OR " in e.text else e.text for e in expressions)
    return Expression(" AND ".join(parts), names, values)
