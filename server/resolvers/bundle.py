"""Import and export of a project as a bundle (`server.models.bundle` describes it).

The functions take the store and the user, so the command line runs them as the API does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from server.errors import BadUserInput, NameClash
from server.models import (
    Agent,
    Bundle,
    BundleContents,
    EnvVar,
    MainConfig,
    Project,
    Tool,
    env_id,
    main_config_id,
    new_id,
    now_iso,
    read_bundle,
)
from server.store import Store, settle
from server.store.imports import ProjectTree, write_project_tree
from server.store.lookup import existing
from server.store.usage import COUNTED_LISTS

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["export_bundle", "export_project", "import_bundle", "import_project"]


async def export_project(context: Context, project_id: str) -> dict[str, Any]:
    return await export_bundle(context.store, context.user_id, project_id)


async def import_project(context: Context, bundle: object, name: str | None) -> Project:
    project = await import_bundle(context.store, context.user_id, bundle, name=name)
    context.loaders.remember_project(project.user_id, project.project_id, project)
    return project


async def export_bundle(store: Store, user_id: str, project_id: str) -> dict[str, Any]:
    """The project's bundle, read consistently by the ids it lists; `NotFound` if the user has
    no such project."""
    project = await existing(store.projects, user_id, project_id, "project")
    main, agents, tools, variables = await asyncio.gather(
        store.main_configs.get(user_id, main_config_id(project_id), consistent=True),
        store.agents.listed(project, project.agent_ids),
        store.tools.listed(project, project.tool_ids),
        store.env_vars.listed(project, project.env_ids),
    )
    bundle = Bundle.of(project, main, agents, tools, variables, exported_at=now_iso())
    return bundle.to_json()


async def import_bundle(
    store: Store, user_id: str, data: object, *, name: str | None = None
) -> Project:
    """A new project of the user's, with new ids, from the bundle `data`: checked whole, then
    its tool names against the user's tools, then written all or nothing."""
    contents = read_bundle(data, name=name)
    _within_project_quotas(contents)
    await _require_free_names(store, user_id, contents)

    async def attempt() -> Project:
        # Again on a retry: a built-in tool deactivated meanwhile is the caller's to fix.
        await _require_active_builtins(store, contents)
        tree = _tree(user_id, contents, now=now_iso())
        await write_project_tree(store, tree, now=tree.project.created_at)
        return tree.project

    return await settle(attempt)


def _within_project_quotas(contents: BundleContents) -> None:
    for attribute, count in (
        ("agentIds", len(contents.agents)),
        ("toolIds", len(contents.tools)),
        ("envIds", len(contents.env_vars)),
    ):
        quota = COUNTED_LISTS[attribute].quota
        if count > quota.limit:
            raise quota.exceeded()


async def _require_free_names(store: Store, user_id: str, contents: BundleContents) -> None:
    taken = await store.tools.taken_names(user_id, [tool.name for tool in contents.tools])
    if taken:
        raise NameClash(taken)


async def _require_active_builtins(store: Store, contents: BundleContents) -> None:
    names = sorted({name for agent in contents.agents for name in agent.builtin_tool_names})
    found = dict(zip(names, await store.builtin_tools.get_many(names), strict=True))
    for index, agent in enumerate(contents.agents):
        unusable = [
            name
            for name in agent.builtin_tool_names
            if (tool := found[name]) is None or not tool.is_active
        ]
        if unusable:
            raise BadUserInput(
                f"not an active built-in tool: {', '.join(unusable)}",
                field=f"bundle.agents[{index}].builtin_tools",
            )


def _tree(user_id: str, contents: BundleContents, *, now: str) -> ProjectTree:
    """The bundle's items with new ids, the project's lists naming its children."""
    project_id = new_id()
    times = {"created_at": now, "updated_at": now}
    tools = {
        new.name: Tool(
            user_id=user_id,
            tool_id=new_id(),
            project_id=project_id,
            name=new.name,
            config=new.to_config(),
            **times,
        )
        for new in contents.tools
    }
    agents = [
        Agent(
            user_id=user_id,
            agent_id=new_id(),
            project_id=project_id,
            name=new.name,
            config=new.to_config(),
            tool_ids=[tools[name].tool_id for name in new.tool_names],
            **times,
        )
        for new in contents.agents
    ]
    users: dict[str, list[str]] = {name: [] for name in tools}
    for agent in agents:
        for name in agent.tool_names:
            users[name].append(agent.agent_id)
    used_tools = [tool.model_copy(update={"used_by": users[tool.name]}) for tool in tools.values()]
    variables = [
        EnvVar(
            user_id=user_id,
            env_id=env_id(project_id, spec.key),
            project_id=project_id,
            key=spec.key,
            value=spec.value,
            secret=spec.secret,
            **times,
        )
        for spec in contents.env_vars
    ]
    main = contents.main_config
    main_config = (
        MainConfig(
            user_id=user_id,
            config_id=main_config_id(project_id),
            project_id=project_id,
            config=main.to_config(),
            **times,
        )
        if main is not None
        else None
    )
    project = Project(
        user_id=user_id,
        project_id=project_id,
        name=contents.project.name,
        description=contents.project.description,
        agent_ids=[agent.agent_id for agent in agents],
        tool_ids=[tool.tool_id for tool in used_tools],
        env_ids=[variable.env_id for variable in variables],
        main_agent_config=main_config.config_id if main_config is not None else None,
        **times,
    )
    builtins = sorted({name for agent in agents for name in agent.builtin_tool_names})
    return ProjectTree(
        project=project,
        main_config=main_config,
        agents=agents,
        tools=used_tools,
        env_vars=variables,
        builtin_names=builtins,
    )
