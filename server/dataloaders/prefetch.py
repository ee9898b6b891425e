"""Look-ahead: load a project's children in the same round as the project itself.

All seven tables are partitioned by `userId` alone, so the children of a user's projects can
be queried before the projects are known: one Query per child table, started at the same
moment as the projects' own read. The results then prime the per-project loaders, so the
nested fields resolve without another round trip.

Not deployments: their listings come from the project items' `recentDeployments`
(`Loaders.newest_deployments`), so no Query reads their large items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from server.dataloaders.children import group_by_project
from server.models import main_config_id

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["Children", "prefetch"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Children:
    """Which children of its projects an operation will read."""

    agents: bool = False
    tools: bool = False
    main_configs: bool = False
    env_vars: bool = False
    builtin_tools: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())


async def prefetch(
    context: Context,
    parents: Awaitable[T],
    project_ids: Sequence[str] | None,
    wanted: Children,
    ids_of: Callable[[T], Iterable[str]],
) -> T:
    """Await `parents` while the `wanted` children of `project_ids` (None: all the user's
    projects) are read in parallel; then prime the loaders for the projects `ids_of(parents)`
    names, so nested fields need no further request."""
    store, user_id, loaders = context.store, context.user_id, context.loaders
    if context.settings.bench_naive_loaders or not wanted.any:
        return await parents
    scope = (user_id, None if project_ids is None else tuple(project_ids))
    reads: dict[str, Awaitable[Any]] = {}

    def read(name: str, start: Callable[[], Awaitable[Any]]) -> None:
        reads[name] = loaders.read_once((name, scope), start)

    if wanted.agents:
        read("agents", lambda: store.agents.list_for_projects(user_id, project_ids))
    if wanted.tools:
        read("tools", lambda: store.tools.list_for_projects(user_id, project_ids))
    if wanted.main_configs:
        read("main_configs", lambda: store.main_configs.list_for_projects(user_id, project_ids))
    if wanted.env_vars:
        read("env_vars", lambda: store.env_vars.list_for_projects(user_id, project_ids))
    if wanted.builtin_tools:
        reads["builtin_tools"] = context.catalog.all()
    parents_result: T
    parents_result, *results = await asyncio.gather(parents, *reads.values())
    found = dict(zip(reads, results, strict=True))
    keys = [(user_id, project_id) for project_id in ids_of(parents_result)]
    for name, loader in (
        ("agents", loaders.agents_by_project),
        ("tools", loaders.tools_by_project),
        ("env_vars", loaders.env_vars_by_project),
    ):
        if name in found:
            grouped = group_by_project([user_id], [found[name]])
            for key in keys:
                loader.prime(key, grouped.get(key, []))
    if "builtin_tools" in found:
        catalog = {tool.tool_name: tool for tool in found["builtin_tools"]}
        loaders.builtin_tool_by_name.prime_many(catalog)
    if "main_configs" in found:
        by_project = {config.project_id: config for config in found["main_configs"]}
        for user, project_id in keys:
            loaders.main_config_by_id.prime(
                (user, main_config_id(project_id)), by_project.get(project_id)
            )
    return parents_result
