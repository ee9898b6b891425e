"""Per-request loaders, keyed by what DynamoDB is keyed by.

Items by id are keyed `(user_id, item_id)` and loaded with one BatchGetItem per batch (chunks
of 100 keys in parallel). A project's children are keyed `(user_id, project_id)` and read by
the ids its item lists (`agentIds`, `toolIds`, `envIds`), through those same by-id loaders:
what a project shows costs what it holds, whatever the size of the account. The look-ahead
of `projects` (`prefetch.py`) may prime them from the first page of each child table instead.
Built-in tools come from the process-wide catalog cache.

Deployments, whose items are the largest (snapshots up to 350 KB), are listed from the
project item's `recentDeployments` (the newest 10) when that holds them, else by id: the
newest `count` of the project's `deploymentIds`, keyed
`(user_id, project_id, count)` (count None: all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from server.builtin_catalog import BuiltinCatalog
from server.dataloaders.listed import listed_by_project
from server.models import (
    Agent,
    BuiltinTool,
    Deployment,
    EnvVar,
    MainConfig,
    Project,
    Tool,
    main_config_id,
)
from server.store import ProjectKey, Store

__all__ = ["HistoryKey", "ItemKey", "Loaders", "ProjectKey"]

ItemKey = tuple[str, str]  # (user_id, item_id)
HistoryKey = tuple[str, str, int | None]  # (user_id, project_id, newest count or None: all)
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, kw_only=True)
class Loaders:
    project_by_id: DataLoader[ProjectKey, Project | None]
    agents_by_project: DataLoader[ProjectKey, list[Agent]]
    tools_by_project: DataLoader[ProjectKey, list[Tool]]
    env_vars_by_project: DataLoader[ProjectKey, list[EnvVar]]
    env_var_by_id: DataLoader[ItemKey, EnvVar | None]
    main_config_by_id: DataLoader[ItemKey, MainConfig | None]
    deployment_summaries_by_project: DataLoader[HistoryKey, list[Deployment]]
    agent_by_id: DataLoader[ItemKey, Agent | None]
    tool_by_id: DataLoader[ItemKey, Tool | None]
    deployment_by_id: DataLoader[ItemKey, Deployment | None]
    builtin_tool_by_name: DataLoader[str, BuiltinTool | None]
    # Whole-partition reads of the look-ahead, started once per request (`read_once`).
    reads: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)

    def read_once(self, key: Hashable, read: Callable[[], Awaitable[V]]) -> Awaitable[V]:
        """`read()`, started the first time this request asks for `key` and shared after:
        aliases of `projects` or `project(id)` read each table once, not once each."""
        started = self.reads.get(key)
        if started is None:
            started = self.reads[key] = asyncio.ensure_future(read())
        return started

    def newest_deployments(self, key: ProjectKey, count: int | None) -> Awaitable[list[Deployment]]:
        """The project's newest `count` deployments (None: all) as summaries, newest first:
        from its `recentDeployments` when that holds them, else read by id. With the project
        already loaded and its summary holding them, the answer is there at once."""
        history: HistoryKey = (*key, count)
        loaded = self.project_by_id.cache_map.get(key) if self.project_by_id.cache else None
        if (
            loaded is not None
            and loaded.done()
            and not loaded.cancelled()
            and not loaded.exception()
        ):
            project = loaded.result()
            listed = project.listed_deployments(count) if project is not None else []
            if listed is not None:
                self.deployment_summaries_by_project.prime(history, listed)
        return self.deployment_summaries_by_project.load(history)

    # What a write may have changed, dropped so that the rest of the request reads it again.
    # Resolvers call these after each write, rather than knowing which loaders hold what.

    def forget_agent(self, user_id: str, agent_id: str, project_id: str) -> None:
        """After an agent is written: the agent, its project's agents and tools (the write
        marks tools used or not) and the project item (its `agentIds`)."""
        project = (user_id, project_id)
        _forget(self.agent_by_id, (user_id, agent_id))
        _forget(self.agents_by_project, project)
        _forget(self.tools_by_project, project)
        _forget(self.project_by_id, project)

    def forget_tool(self, user_id: str, tool_id: str, project_id: str) -> None:
        """After a custom tool is written: the tool, its project's tools and the project item
        (its `toolIds`)."""
        project = (user_id, project_id)
        _forget(self.tool_by_id, (user_id, tool_id))
        _forget(self.tools_by_project, project)
        _forget(self.project_by_id, project)

    def forget_env_var(self, user_id: str, env_id: str, project_id: str) -> None:
        """After an env var is written: the variable, its project's env vars (read through
        the variables by id, so those must go too) and the project item (its `envIds`)."""
        project = (user_id, project_id)
        _forget(self.env_var_by_id, (user_id, env_id))
        _forget(self.env_vars_by_project, project)
        _forget(self.project_by_id, project)

    def forget_main_config(self, user_id: str, project_id: str) -> None:
        """After a project's main config is written: the config and the project item (its
        `mainAgentConfig`)."""
        _forget(self.main_config_by_id, (user_id, main_config_id(project_id)))
        _forget(self.project_by_id, (user_id, project_id))

    def forget_deployment(
        self, user_id: str, deployment_id: str, project_id: str, *, pruned: Iterable[str] = ()
    ) -> None:
        """After a deployment is written (and the `pruned` ones of its project deleted): those
        deployments, every deployment listing and the project item (its `deploymentIds`,
        `recentDeployments` and `activeDeploymentId`)."""
        _forget(self.deployment_by_id, *((user_id, id_) for id_ in (deployment_id, *pruned)))
        # Keyed by count as well: every listing of this request is read again.
        self.deployment_summaries_by_project.clear_all()
        _forget(self.project_by_id, (user_id, project_id))

    def forget_builtin_tool(self, name: str) -> None:
        """After a catalog entry is written."""
        _forget(self.builtin_tool_by_name, name)

    def remember_project(self, user_id: str, project_id: str, project: Project | None) -> None:
        """After a project is written: the rest of the request sees it as written (None:
        deleted) without reading it again."""
        self.project_by_id.prime((user_id, project_id), project, force=True)

    @classmethod
    def for_request(cls, store: Store, catalog: BuiltinCatalog, *, naive: bool = False) -> Loaders:
        """The loaders of one request; `naive` (for the benchmark) loads key by key, uncached."""

        def loader(load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
            if naive:
                return DataLoader(load_fn=load, max_batch_size=1, cache=False)
            return DataLoader(load_fn=load)

        project_by_id = loader(store.projects.get_many)

        async def newest_deployments(keys: list[HistoryKey]) -> list[list[Deployment]]:
            """Each key's deployments from its project's `recentDeployments` when that holds
            them, else one BatchGetItem round for the rest, read by id from their
            `deploymentIds` as many as the largest count asks for."""
            counts: dict[ProjectKey, int | None] = {}
            for user_id, project_id, count in keys:
                known = counts.get((user_id, project_id), 0)
                counts[(user_id, project_id)] = (
                    None if count is None or known is None else max(count, known)
                )
            projects = await project_by_id.load_many(list(counts))
            by_project: dict[ProjectKey, list[Deployment]] = {}
            unlisted: list[tuple[ProjectKey, Project, int | None]] = []
            for (key, count), project in zip(counts.items(), projects, strict=True):
                listed = project.listed_deployments(count) if project is not None else []
                if listed is not None:
                    by_project[key] = listed
                elif project is not None:
                    unlisted.append((key, project, count))
            read = await store.deployments.newest(
                [
                    (user_id, project.deployment_ids, count)
                    for (user_id, _), project, count in unlisted
                ]
            )
            by_project |= dict(zip((key for key, _, _ in unlisted), read, strict=True))
            return [by_project[(user, project)][:count] for user, project, count in keys]

        agent_by_id = loader(store.agents.get_many)
        tool_by_id = loader(store.tools.get_many)
        env_var_by_id = loader(store.env_vars.get_many)
        return cls(
            project_by_id=project_by_id,
            agents_by_project=loader(
                listed_by_project(project_by_id, agent_by_id, lambda p: p.agent_ids)
            ),
            tools_by_project=loader(
                listed_by_project(project_by_id, tool_by_id, lambda p: p.tool_ids)
            ),
            env_vars_by_project=loader(
                listed_by_project(project_by_id, env_var_by_id, lambda p: p.env_ids)
            ),
            env_var_by_id=env_var_by_id,
            main_config_by_id=loader(store.main_configs.get_many),
            deployment_summaries_by_project=loader(newest_deployments),
            agent_by_id=agent_by_id,
            tool_by_id=tool_by_id,
            deployment_by_id=loader(store.deployments.get_many),
            builtin_tool_by_name=loader(catalog.get_many),
        )


def _forget(loader: DataLoader[Any, Any], *keys: Any) -> None:
    """Drop cached values (strawberry's `clear` raises for keys it never loaded)."""
    for key in keys:
        with suppress(KeyError):
            loader.clear(key)
