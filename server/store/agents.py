"""The Agents table: `userId` + `agentId`; each agent's tools know it in their `usedBy` set."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import NotFound
from server.models import Agent, Project, Tool
from server.store.child_tables import ChildTable, ProjectLists, at_version
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, Update
from server.store.transactions import (
    LostRace,
    TransactItem,
    check,
    delete,
    gone_or_lost,
    update,
)
from server.store.usage import Changes, Usage, for_list

__all__ = ["AgentStore"]

# A tool's set of the agents that use it.
USED_BY = Attr("usedBy")


class AgentStore(ChildTable[Agent]):
    sort_key = "agentId"
    model = Agent

    def __init__(
        self,
        dynamo: Dynamo,
        table: str,
        *,
        tools_table: str,
        builtin_table: str,
        lists: ProjectLists,
        usage: Usage,
    ) -> None:
        super().__init__(dynamo, table)
        self._tools = tools_table
        self._builtins = builtin_table
        self._lists = lists
        self._usage = usage

    async def create(
        self, agent: Agent, tools: Sequence[Tool], *, builtin_checks: Sequence[str]
    ) -> None:
        """Write the agent, list it in its project, and mark its tools as used by it.

        `NotFound` if the project is gone; `QuotaExceeded` if the project or the account holds
        as many agents as it may; `LostRace` if a tool or built-in tool changed since the caller
        checked them.
        """
        items = [
            # First, as its errors (the project gone, a quota reached) take precedence.
            self._lists.append(agent.user_id, agent.project_id, "agentIds", agent.agent_id),
            # A new id already taken is a lost race too: the retry makes another.
            self.insert(agent.to_item(), otherwise=LostRace()),
            *self._tool_uses(agent, tools, builtin_checks),
        ]
        await self._usage.transact(agent.user_id, items, for_list("agentIds", 1))

    async def replace(
        self,
        old: Agent,
        new: Agent,
        *,
        used: Sequence[Tool],
        released: Sequence[Tool],
        builtin_checks: Sequence[str],
    ) -> None:
        """Replace `old` by `new` if `old` is still current; move tool marks along."""
        items = [
            self.revise(
                old.user_id,
                old.agent_id,
                old.version,
                new,
                otherwise=gone_or_lost(NotFound("agent", old.agent_id)),
                also={"toolIds": new.tool_ids or []},
            ),
            *self._tool_uses(new, used, builtin_checks),
            *self._tool_releases(old, released),
        ]
        await self.dynamo.transact(items)

    async def remove(self, agent: Agent, project: Project | None, released: Sequence[Tool]) -> None:
        items = [
            delete(
                self.table,
                self.key(agent.user_id, agent.agent_id),
                condition=Attr("agentId").exists() & at_version(agent.version),
                otherwise=gone_or_lost(NotFound("agent", agent.agent_id)),
            ),
            *self._tool_releases(agent, released),
        ]
        changes: Changes = {}
        if project is not None:
            removal = self._lists.remove(project, "agentIds", project.agent_ids, agent.agent_id)
            if removal is not None:
                items.append(removal)
                changes = for_list("agentIds", -1)
        await self._usage.transact(agent.user_id, items, changes)

    def _tool_uses(
        self, agent: Agent, tools: Sequence[Tool], builtin_names: Sequence[str]
    ) -> list[TransactItem]:
        """Mark each tool as used by the agent, if it still has its name in the agent's project;
        and check each built-in tool is still active. Else the caller's check of them lost a
        race."""
        uses = [
            update(
                self._tools,
                {"userId": tool.user_id, "toolId": tool.tool_id},
                Update().add(USED_BY, {agent.agent_id}),
                condition=Attr("toolId").exists()
                & Attr("name").eq(tool.name)
                & Attr("projectId").eq(agent.project_id),
                otherwise=LostRace(),
            )
            for tool in tools
        ]
        checks = [
            check(
                self._builtins, {"toolName": name}, Attr("isActive").eq(True), otherwise=LostRace()
            )
            for name in builtin_names
        ]
        return uses + checks

    def _tool_releases(self, agent: Agent, tools: Sequence[Tool]) -> list[TransactItem]:
        return [
            update(
                self._tools,
                {"userId": tool.user_id, "toolId": tool.tool_id},
                Update().delete(USED_BY, {agent.agent_id}),
                condition=Attr("toolId").exists(),
                otherwise=LostRace(),
            )
            for tool in tools
        ]
