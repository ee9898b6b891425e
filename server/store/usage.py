"""Per-account quotas, kept exact under any concurrency by one usage item per account.

The seed's tables have no user item, so each account's counts live in an item of the Tools
table beside the tool-name reservations: `toolId = usage#account`, with the numbers
`projects`, `agents`, `tools` and `envVars`. Like the reservations it has no `projectId`, so
listings of a project's tools never see it.

- `agents`, `tools` and `envVars` are the sums of the lengths of the account's projects'
  `agentIds`, `toolIds` and `envIds` (deleting projects included), and `projects` counts the
  project items: every transaction that adds to or removes from those lists, or writes or
  deletes a project item, changes the usage item too, on condition that a create stays within
  its quota.
- Writes never create the usage item: they require it. When it is missing (an account from
  before quotas), it is first counted from the project items and put on condition that it is
  still missing. Since no counted change can commit without the item, that count is exact,
  and losing the race to put it only means another request counted the same numbers first.

The quotas' values are read from `server.quotas` by name at every use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server import quotas
from server.errors import QuotaExceeded
from server.store.codec import Item
from server.store.dynamo import ConditionFailed, Dynamo
from server.store.expressions import Attr, Update, all_of, user_partition
from server.store.transactions import TransactItem, update

__all__ = [
    "COUNTED_LISTS",
    "COUNTERS",
    "USAGE_ID",
    "Changes",
    "CountedList",
    "Quota",
    "Usage",
    "for_list",
]

USAGE_ID = "usage#account"

# How much each counter of the usage item changes, e.g. {"agents": 1}.
Changes = Mapping[str, int]


@dataclass(frozen=True)
class Quota:
    """One quota of `server.quotas`, `name`d there; `holder` holds at most that many `things`."""

    name: str
    holder: str
    things: str

    @property
    def limit(self) -> int:
        value: int = getattr(quotas, self.name)
        return value

    def exceeded(self) -> QuotaExceeded:
        return QuotaExceeded(self.name, self.limit, self.holder, self.things)


@dataclass(frozen=True)
class CountedList:
    """A list of the project item (`attribute`), bounded per project by `quota` and counted
    account-wide by the usage item's `counter`."""

    attribute: str
    counter: str
    quota: Quota


# The usage item's counters, each bounded by an account-wide quota.
COUNTERS: dict[str, Quota] = {
    "projects": Quota("PROJECTS_PER_USER", "an account", "projects"),
    "agents": Quota("AGENTS_PER_USER", "an account", "agents"),
    "tools": Quota("TOOLS_PER_USER", "an account", "tools"),
    "envVars": Quota("ENV_VARS_PER_USER", "an account", "environment variables"),
}

COUNTED_LISTS: dict[str, CountedList] = {
    counted.attribute: counted
    for counted in (
        CountedList("agentIds", "agents", Quota("AGENTS_PER_PROJECT", "a project", "agents")),
        CountedList("toolIds", "tools", Quota("TOOLS_PER_PROJECT", "a project", "tools")),
        CountedList(
            "envIds",
            "envVars",
            Quota("ENV_VARS_PER_PROJECT", "a project", "environment variables"),
        ),
    )
}


def for_list(attribute: str, by: int) -> Changes:
    """The usage change of adding `by` ids to (or, negative, removing them from) a list."""
    return {COUNTED_LISTS[attribute].counter: by}


class Usage:
    """The usage items, in the Tools table; the project items they are counted from."""

    def __init__(self, dynamo: Dynamo, table: str, *, projects_table: str) -> None:
        self._dynamo = dynamo
        self._table = table
        self._projects = projects_table

    def key(self, user_id: str) -> dict[str, str]:
        return {"userId": user_id, "toolId": USAGE_ID}

    async def transact(self, user_id: str, items: Sequence[TransactItem], changes: Changes) -> None:
        """Write `items` and apply `changes` to the user's usage, all or none.

        `QuotaExceeded` if a counter would pass its quota; if conditions of `items` fail, the
        error they declare takes precedence (the usage item comes last in the transaction).
        """
        if not changes:
            await self._dynamo.transact(items)
            return
        if await self._attempt(user_id, items, changes):
            return
        await self.initialize(user_id)
        if not await self._attempt(user_id, items, changes):
            raise RuntimeError(f"the usage item of {user_id!r} vanished after being counted")

    async def _attempt(self, user_id: str, items: Sequence[TransactItem], changes: Changes) -> bool:
        """Run the transaction; False when the usage item is missing."""
        try:
            await self._dynamo.transact([*items, self._change(user_id, changes)])
        except _Uncounted:
            return False
        return True

    def _change(self, user_id: str, changes: Changes) -> TransactItem:
        additions = Update()
        conditions = [Attr("toolId").exists()]
        for counter, by in changes.items():
            additions = additions.add(Attr(counter), by)
            if by > 0:
                # Room for `by` more: the count now is at most the quota less `by`.
                conditions.append(Attr(counter).le(COUNTERS[counter].limit - by))
        return update(
            self._table,
            self.key(user_id),
            additions,
            condition=all_of(*conditions),
            otherwise=lambda usage: _Uncounted() if usage is None else _exceeded(usage, changes),
        )

    async def initialize(self, user_id: str) -> None:
        """Put the user's usage item, counted from the project items, unless it exists."""
        counts = await self.count(user_id)
        try:
            await self._dynamo.put_item(
                self._table,
                {**self.key(user_id), **counts},
                condition=Attr("toolId").not_exists(),
            )
        except ConditionFailed:
            pass  # another request put it first, from the same count

    async def count(self, user_id: str) -> dict[str, int]:
        """The user's counts as the project items tell them (a consistent Query to its end)."""
        counts = dict.fromkeys(COUNTERS, 0)
        items = self._dynamo.query(
            self._projects,
            user_partition(user_id),
            attributes=["projectId", *COUNTED_LISTS],
            consistent=True,
        )
        async for item in items:
            counts["projects"] += 1
            for counted in COUNTED_LISTS.values():
                counts[counted.counter] += len(item.get(counted.attribute) or [])
        return counts

    async def read(self, user_id: str) -> dict[str, int] | None:
        """The user's usage item's counters (a consistent read); None if it has none yet."""
        item = await self._dynamo.get_item(self._table, self.key(user_id), consistent=True)
        if item is None:
            return None
        return {counter: int(item.get(counter, 0)) for counter in COUNTERS}


class _Uncounted(Exception):
    """The account has no usage item yet: it is counted, and the transaction run again."""


def _exceeded(usage: Item, changes: Changes) -> Exception:
    """The quota that refused `changes` to `usage`."""
    for counter, by in changes.items():
        quota = COUNTERS[counter]
        if by > 0 and int(usage.get(counter, 0)) + by > quota.limit:
            return quota.exceeded()
    return RuntimeError(f"the usage item refused {dict(changes)} within every quota: {usage}")
