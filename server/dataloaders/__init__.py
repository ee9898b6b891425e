"""Per-request loaders, keyed by what DynamoDB is keyed by.

Children of projects are keyed `(user_id, project_id)` and loaded with one Query of the
user's partition per batch; items by id are keyed `(user_id, item_id)` and loaded with one
BatchGetItem per batch; built-in tools come from the process-wide catalog cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from server.builtin_catalog import BuiltinCatalog
from server.dataloaders.children import grouped_by_project
from server.models import Agent, BuiltinTool, Deployment, EnvVar, MainConfig, Project, Tool
from server.store import ProjectKey, Store
from server.store.deployments import SUMMARY_ATTRIBUTES

__all__ = ["ItemKey", "Loaders", "ProjectKey", "forget"]

ItemKey = tuple[str, str]  # (user_id, item_id)
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, kw_only=True)
class Loaders:
    project_by_id: DataLoader[ProjectKey, Project | None]
    agents_by_project: DataLoader[ProjectKey, list[Agent]]
    tools_by_project: DataLoader[ProjectKey, list[Tool]]
    env_vars_by_project: DataLoader[ProjectKey, list[EnvVar]]
    main_config_by_id: DataLoader[ItemKey, MainConfig | None]
    deployment_summaries_by_project: DataLoader[ProjectKey, list[Deployment]]
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

    @classmethod
    def for_request(cls, store: Store, catalog: BuiltinCatalog, *, naive: bool = False) -> Loaders:
        """The loaders of one request; `naive` (for the benchmark) loads key by key, uncached."""

        def loader(load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
            if naive:
                return DataLoader(load_fn=load, max_batch_size=1, cache=False)
            return DataLoader(load_fn=load)

        async def deployment_summaries(
            user_id: str, project_ids: Sequence[str] | None
        ) -> list[Deployment]:
            return await store.deployments.list_for_projects(
                user_id, project_ids, attributes=SUMMARY_ATTRIBUTES
            )

        return cls(
            project_by_id=loader(store.projects.get_many),
            agents_by_project=loader(grouped_by_project(store.agents.list_for_projects)),
            tools_by_project=loader(grouped_by_project(store.tools.list_for_projects)),
            env_vars_by_project=loader(grouped_by_project(store.env_vars.list_for_projects)),
            main_config_by_id=loader(store.main_configs.get_many),
            deployment_summaries_by_project=loader(grouped_by_project(deployment_summaries)),
            agent_by_id=loader(store.agents.get_many),
            tool_by_id=loader(store.tools.get_many),
            deployment_by_id=loader(store.deployments.get_many),
            builtin_tool_by_name=loader(catalog.get_many),
        )


def forget(loader: DataLoader[Any, Any], *keys: Any) -> None:
    """Drop cached values (strawberry's `clear` raises for keys it never loaded)."""
    for key in keys:
        with suppress(KeyError):
            loader.clear(key)
