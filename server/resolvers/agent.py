"""Agents: the seed's access patterns for the Agents table, and the rules that tie agents to
their project's tools and to active built-in tools."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.dataloaders import forget
from server.errors import BadUserInput, NotFound
from server.models import Agent, AgentPatch, NewAgent, Tool, is_key, new_id, now_iso
from server.resolvers.lookup import existing
from server.resolvers.revision import revised
from server.store import settle

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["create_agent", "delete_agent", "get_agent", "update_agent"]


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
        project, tools = await asyncio.gather(
            context.store.projects.get(user_id, project_id, consistent=True),
            project_tools(context, project_id),
        )
        if project is None:
            raise NotFound("project", project_id)
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
        )
        await context.store.agents.create(agent, used, builtin_checks=new.builtin_tool_names)
        return agent

    agent = await settle(attempt)
    _forget(context, agent)
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
        tools = await project_tools(context, old.project_id)
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
    _forget(context, agent)
    return agent


async def delete_agent(context: Context, agent_id: str) -> str:
    """Delete the agent, drop it from the project's agentIds and its tools' usedBy."""

    async def attempt() -> Agent:
        agent = await _current(context, agent_id)
        project = await context.store.projects.get(
            context.user_id, agent.project_id, consistent=True
        )
        tools = await project_tools(context, agent.project_id)
        released = [tools[name] for name in agent.tool_names if name in tools]
        await context.store.agents.remove(agent, project, released)
        return agent

    agent = await settle(attempt)
    _forget(context, agent)
    return agent_id


async def project_tools(context: Context, project_id: str) -> dict[str, Tool]:
    """The project's tools by name, read consistently (for checks before a write)."""
    tools = await context.store.tools.list_for_projects(
        context.user_id, [project_id], consistent=True
    )
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


def _forget(context: Context, agent: Agent) -> None:
    """This request's loaders must not serve what the write just changed."""
    project = (agent.user_id, agent.project_id)
    loaders = context.loaders
    forget(loaders.agent_by_id, (agent.user_id, agent.agent_id))
    forget(loaders.agents_by_project, project)
    forget(loaders.tools_by_project, project)
    forget(loaders.project_by_id, project)
