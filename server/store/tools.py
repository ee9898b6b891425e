"""The Tools table: `userId` + `toolId`, plus one name-reservation item per tool.

A tool's name is unique among its user's tools under any concurrency: the tool and the item
`toolId = name#{name}` (with `toolRef`, the tool's id, and `reservedFor`, its project) are
written and removed in the same transactions. Reservations carry no `projectId`, so listings
of a project's tools never see them.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import Conflict, NotFound
from server.models import Project, Tool, name_reservation_id
from server.store.children import ChildTable, ProjectLists, at_version
from server.store.codec import Item
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, user_partition
from server.store.transactions import LostRace, TransactionCancelled, TransactItem, delete, put
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
        items = [
            put(self.table, tool.to_item(), condition=Attr("toolId").not_exists()),
            self._reserve(tool),
            self._lists.append(tool.user_id, tool.project_id, "toolIds", tool.tool_id),
        ]
        try:
            await self._usage.transact(tool.user_id, items, for_list("toolIds", 1))
        except TransactionCancelled as cancelled:
            if 1 in cancelled.failed:
                raise _name_taken(tool.name) from None
            raise self._lists.refusal(cancelled.failed.get(2), "toolIds", tool.project_id) from None

    async def replace(self, old: Tool, new: Tool) -> None:
        """Replace `old` by `new` if `old` is still current; a rename needs it unused."""
        renamed = new.name != old.name
        items = [
            self.revise(
                old.user_id, old.tool_id, old.version, new, unless=NOT_IN_USE if renamed else None
            )
        ]
        if renamed:
            items += [self._release(old), self._reserve(new)]
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            if 2 in cancelled.failed:
                raise _name_taken(new.name) from None
            raise await self._why(cancelled, old, "renamed" if renamed else None) from None

    async def remove(self, tool: Tool, project: Project | None) -> None:
        items = [
            delete(
                self.table,
                self.key(tool.user_id, tool.tool_id),
                condition=Attr("toolId").exists() & at_version(tool.version) & NOT_IN_USE,
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
        except TransactionCancelled as cancelled:
            raise await self._why(cancelled, tool, "deleted") from None

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

    def _reserve(self, tool: Tool) -> TransactItem:
        reservation = {
            "userId": tool.user_id,
            "toolId": name_reservation_id(tool.name),
            "toolRef": tool.tool_id,
            "reservedFor": tool.project_id,
        }
        return put(self.table, reservation, condition=Attr("toolId").not_exists())

    def _release(self, tool: Tool) -> TransactItem:
        # Tools written by other programs may have no reservation: nothing to release then.
        return delete(
            self.table,
            self.key(tool.user_id, name_reservation_id(tool.name)),
            condition=Attr("toolId").not_exists() | Attr("toolRef").eq(tool.tool_id),
        )

    async def _why(
        self, cancelled: TransactionCancelled, tool: Tool, change: str | None
    ) -> Exception:
        """The error for a failed change of `tool`: gone, in use (for a `change` that needs it
        unused), or a lost race."""
        if 0 not in cancelled.failed:
            return LostRace()
        current = cancelled.failed[0]
        if current is None:
            return NotFound("tool", tool.tool_id)
        users = current.get("usedBy") or []
        if change is not None and users and current.get("version", 1) == tool.version:
            names = await self._agent_names(tool.user_id, sorted(users))
            return Conflict(
                f"tool {tool.name!r} cannot be {change}: agents use it ({', '.join(names)})"
            )
        return LostRace()

    async def _agent_names(self, user_id: str, agent_ids: Sequence[str]) -> list[str]:
        items = await self.dynamo.batch_get(
            self._agents, [{"userId": user_id, "agentId": agent_id} for agent_id in agent_ids]
        )
        return sorted(str(item.get("name", item["agentId"])) for item in items)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a tool named {name!r} already exists")
