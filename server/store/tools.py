"""The Tools table: `userId` + `toolId`, plus one name-reservation item per tool.

A tool's name is unique among its user's tools under any concurrency: the tool and the item
`toolId = name#{name}` (with `toolRef`, the tool's id, and `reservedFor`, its project) are
written and removed in the same transactions. Reservations carry no `projectId`, so listings
of a project's tools never see them.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import Conflict, NameClash, NotFound
from server.models import Project, Tool, name_reservation_id
from server.store.child_tables import ChildTable, ProjectLists, at_version
from server.store.codec import Item
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, user_partition
from server.store.transactions import LostRace, Refusal, TransactItem, delete
from server.store.usage import Changes, Usage, for_list

__all__ = ["ToolStore"]

NOT_IN_USE = Attr("usedBy").not_exists()


class ToolStore(ChildTable[Tool]):
    sort_key = "toolId"
    model = Tool

    def __init__(
        self,
        dynamo: Dynamo,
        table: str,
        *,
        agents_table: str,
        lists: ProjectLists,
        usage: Usage,
    ) -> None:
        super().__init__(dynamo, table)
        self._agents = agents_table
        self._lists = lists
        self._usage = usage

    async def create(self, tool: Tool) -> None:
        # In the order their errors take precedence: the name's, then the project's.
        items = [
            self.reserve(tool, otherwise=NameClash([tool.name])),
            self._lists.append(tool.user_id, tool.project_id, "toolIds", tool.tool_id),
            self.insert(tool.to_item(), otherwise=None),  # a new ULID, never taken
        ]
        await self._usage.transact(tool.user_id, items, for_list("toolIds", 1))

    async def replace(self, old: Tool, new: Tool) -> None:
        """Replace `old` by `new` if `old` is still current; a rename needs it unused."""
        renamed = new.name != old.name
        revision = self.revise(
            old.user_id,
            old.tool_id,
            old.version,
            new,
            otherwise=_refusal(old, "renamed" if renamed else None),
            unless=NOT_IN_USE if renamed else None,
        )
        # In the order their errors take precedence: the new name's, then the tool's.
        items = [revision]
        if renamed:
            reservation = self.reserve(new, otherwise=NameClash([new.name]))
            items = [reservation, revision, self._release(old)]
        try:
            await self.dynamo.transact(items)
        except _InUse as used:
            raise await self._conflict(old, used) from None

    async def remove(self, tool: Tool, project: Project | None) -> None:
        items = [
            delete(
                self.table,
                self.key(tool.user_id, tool.tool_id),
                condition=Attr("toolId").exists() & at_version(tool.version) & NOT_IN_USE,
                otherwise=_refusal(tool, "deleted"),
            ),
            self._release(tool),
        ]
        changes: Changes = {}
        if project is not None:
            removal = self._lists.remove(project, "toolIds", project.tool_ids, tool.tool_id)
            if removal is not None:
                items.append(removal)
                changes = for_list("toolIds", -1)
        try:
            await self._usage.transact(tool.user_id, items, changes)
        except _InUse as used:
            raise await self._conflict(tool, used) from None

    async def reservations_for_project(self, user_id: str, project_id: str) -> list[Item]:
        """The name reservations of a project's tools (for the cascade delete)."""
        items = self.dynamo.query(
            self.table,
            user_partition(user_id),
            where=Attr("reservedFor").eq(project_id),
            attributes=["userId", "toolId"],
            consistent=True,
        )
        return [item async for item in items]

    def reserve(self, tool: Tool, *, otherwise: Refusal) -> TransactItem:
        """The Put of `tool`'s name reservation, on condition that the name is free."""
        reservation = {
            "userId": tool.user_id,
            "toolId": name_reservation_id(tool.name),
            "toolRef": tool.tool_id,
            "reservedFor": tool.project_id,
        }
        return self.insert(reservation, otherwise=otherwise)

    async def taken_names(self, user_id: str, names: Sequence[str]) -> list[str]:
        """Those of `names` the user's tools hold (their reservations, read consistently)."""
        keys = [self.key(user_id, name_reservation_id(name)) for name in names]
        items = await self.dynamo.batch_get(self.table, keys, consistent=True)
        taken = {str(item["toolId"]).removeprefix("name#") for item in items}
        return [name for name in names if name in taken]

    def _release(self, tool: Tool) -> TransactItem:
        # Tools written by other programs may have no reservation: nothing to release then.
        return delete(
            self.table,
            self.key(tool.user_id, name_reservation_id(tool.name)),
            condition=Attr("toolId").not_exists() | Attr("toolRef").eq(tool.tool_id),
            otherwise=LostRace(),
        )

    async def _conflict(self, tool: Tool, used: _InUse) -> Conflict:
        """The conflict of a change refused because agents use `tool`, naming them."""
        items = await self.dynamo.batch_get(
            self._agents,
            [{"userId": tool.user_id, "agentId": agent_id} for agent_id in used.agent_ids],
        )
        names = sorted(str(item.get("name", item["agentId"])) for item in items)
        return Conflict(
            f"tool {tool.name!r} cannot be {used.change}: agents use it ({', '.join(names)})"
        )


class _InUse(Exception):
    """A `change` that needs the tool unused found agents using it (their ids): the conflict
    names them, which takes a read."""

    def __init__(self, change: str, agent_ids: list[str]) -> None:
        super().__init__(f"cannot be {change}: used by {agent_ids}")
        self.change = change
        self.agent_ids = agent_ids


def _refusal(tool: Tool, change: str | None) -> Refusal:
    """What the failed condition of a write of `tool` (as read) means, given the item as it
    is: gone, in use (for a `change` that needs it unused), or a lost race."""

    def refusal(current: Item | None) -> Exception:
        if current is None:
            return NotFound("tool", tool.tool_id)
        users = current.get("usedBy") or []
        if change is not None and users and current.get("version", 1) == tool.version:
            return _InUse(change, sorted(users))
        return LostRace()

    return refusal
