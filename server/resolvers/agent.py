"""Agents: the seed's access patterns for the Agents table, and the rules that tie agents to
their project's tools and to active built-in tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.dataloaders.ready import Resolved, then, when_all_loaded, when_loaded
from server.errors import BadUserInput, NotFound
from server.models import Agent, AgentPatch, NewAgent, Project, Tool, is_key, new_id, now_iso
from server.resolvers.revision import revised
from server.store import settle
from server.store.lookup import existing

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["create_agent", "delete_agent", "get_agent", "tools_of", "update_agent"]


async def get_agent(context: Context, agent_id: str) -> Agent | None:
    if not is_key(agent_id):
        return None
    return await context.loaders.agent_by_id.load((context.user_id, agent_id))


async def create_agent(context: Context, project_id: str, new: NewAgent) -> Agent:
    """Put the agent, append it to the project's agentIds, mark its tools used: one transaction."""
    user_id = context.user_id
    if not is_key(project_id):
        raise NotFound("project", project_id)

    async def attempt() -> Agent:
        # The project first: another user's project must be NOT_FOUND, not a tool-name error.
        project = await context.store.projects.get(user_id, project_id, consistent=True)
        if project is None:
            raise NotFound("project", project_id)
        tools = await project_tools(context, project)
        used = tools_named(tools, new.tool_names)
        await require_active_builtins(context, new.builtin_tool_names)
        now = now_iso()
        agent = Agent(
            user_id=user_id,
            agent_id=new_id(),
            project_id=project_id,
            name=new.name,
            config=new.to_config(),
            created_at=now,
            updated_at=now,
            tool_ids=[tool.tool_id for tool in used],
        )
        await context.store.agents.create(agent, used, builtin_checks=new.builtin_tool_names)
        return agent

    agent = await settle(attempt)
    context.loaders.forget_agent(agent.user_id, agent.agent_id, agent.project_id)
    return agent


async def update_agent(context: Context, agent_id: str, patch: AgentPatch) -> Agent:
    async def attempt() -> Agent:
        old = await _current(context, agent_id)
        new = revised(
            old,
            patch.apply(old.config),
            version=old.version,
            expected=patch.expected_version,
            names=f"agent {agent_id!r}",
        )
        project = await context.store.projects.get(context.user_id, old.project_id, consistent=True)
        tools = await project_tools(context, project)
        new = new.model_copy(update={"tool_ids": _ids_of(tools, new.tool_names)})
        added = [name for name in new.tool_names if name not in old.tool_names]
        removed = [name for name in old.tool_names if name not in new.tool_names]
        added_builtins = [n for n in new.builtin_tool_names if n not in old.builtin_tool_names]
        used = tools_named(tools, added)
        await require_active_builtins(context, added_builtins)
        released = [tools[name] for name in removed if name in tools]
        await context.store.agents.replace(
            old, new, used=used, released=released, builtin_checks=added_builtins
        )
        return new

    agent = await settle(attempt)
    context.loaders.forget_agent(agent.user_id, agent.agent_id, agent.project_id)
    return agent


async def delete_agent(context: Context, agent_id: str) -> str:
    """Delete the agent, drop it from the project's agentIds and its tools' usedBy."""

    async def attempt() -> Agent:
        agent = await _current(context, agent_id)
        project = await context.store.projects.get(
            context.user_id, agent.project_id, consistent=True
        )
        tools = await project_tools(context, project)
        released = [tools[name] for name in agent.tool_names if name in tools]
        await context.store.agents.remove(agent, project, released)
        return agent

    agent = await settle(attempt)
    context.loaders.forget_agent(agent.user_id, agent.agent_id, agent.project_id)
    return agent_id


def tools_of(context: Context, agent: Agent) -> Resolved[list[Tool]]:
    """The agent's tools, in its `toolNames` order: read by the ids the agent keeps
    (`toolIds`, one BatchGetItem) when they still name its tools, else found by name among
    its project's tools (the project's read first, then its tools)."""
    names = agent.tool_names
    loaders = context.loaders

    def from_project() -> Resolved[list[Tool]]:
        def named(tools: list[Tool]) -> list[Tool]:
            by_name = {tool.name: tool for tool in tools}
            return [by_name[name] for name in names if name in by_name]

        return when_loaded(loaders.tools_by_project, (agent.user_id, agent.project_id), named)

    ids = agent.tool_ids
    if not names or ids is None or len(ids) != len(names):
        return from_project() if names else []

    def if_named(tools: list[Tool | None]) -> list[Tool] | None:
        for tool, name in zip(tools, names, strict=True):
            if tool is None or tool.name != name or tool.project_id != agent.project_id:
                return None
        return [tool for tool in tools if tool is not None]

    keys = [(agent.user_id, tool_id) for tool_id in ids]
    hinted = when_all_loaded(loaders.tool_by_id, keys, if_named)
    return then(hinted, lambda tools: tools if tools is not None else from_project())


def _ids_of(tools: dict[str, Tool], names: Sequence[str]) -> list[str]:
    """The ids of the tools `names` name, of those that exist (an agent written by another
    program may name one that does not: its list then falls short and is not believed)."""
    return [tools[name].tool_id for name in names if name in tools]


async def project_tools(context: Context, project: Project | None) -> dict[str, Tool]:
    """The project's tools by name, read consistently by the ids it lists (for checks before
    a write); none when the project is gone."""
    if project is None:
        return {}
    tools = await context.store.tools.listed(project, project.tool_ids)
    return {tool.name: tool for tool in tools}


def tools_named(tools: dict[str, Tool], names: Sequence[str]) -> list[Tool]:
    missing = [name for name in names if name not in tools]
    if missing:
        raise BadUserInput(
            f"no tool named {', '.join(missing)} in this agent's project", field="toolNames"
        )
    return [tools[name] for name in names]


async def require_active_builtins(context: Context, names: Sequence[str]) -> None:
    if not names:
        return
    found = await context.store.builtin_tools.get_many(names)
    unusable = [
        name for name, tool in zip(names, found, strict=True) if tool is None or not tool.is_active
    ]
    if unusable:
        raise BadUserInput(
            f"not an active built-in tool: {', '.join(unusable)}", field="builtinToolNames"
        )


async def _current(context: Context, agent_id: str) -> Agent:
    return await existing(context.store.agents, context.user_id, agent_id, "agent")
