"""Per-request loaders, keyed by what DynamoDB is keyed by.

Children of projects are keyed `(user_id, project_id)` and loaded with one Query of the
user's partition per batch; items by id are keyed `(user_id, item_id)` and loaded with one
BatchGetItem per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from server.dataloaders.children import grouped_by_project
from server.models import Agent, BuiltinTool, Deployment, EnvVar, MainConfig, Project, Tool
from server.store import ProjectKey, Store
from server.store.deployments import SUMMARY_ATTRIBUTES

__all__ = ["ItemKey", "Loaders", "ProjectKey", "forget"]

ItemKey = tuple[str, str]  # (user_id, item_id)


@dataclass(frozen=True, kw_only=True)
class Loaders:
    project_by_id: DataLoader[ProjectKey, Project | None]
    agents_by_project: DataLoader[ProjectKey, list[Agent]]
    tools_by_project: DataLoader[ProjectKey, list[Tool]]
    env_vars_by_project: DataLoader[ProjectKey, list[EnvVar]]
    main_config_by_id: DataLoader[ItemKey, MainConfig | None]
    deployment_summaries_by_project: DataLoader[ProjectKey, list[Deployment]]
    deployments_by_project: DataLoader[ProjectKey, list[Deployment]]
    agent_by_id: DataLoader[ItemKey, Agent | None]
    tool_by_id: DataLoader[ItemKey, Tool | None]
    deployment_by_id: DataLoader[ItemKey, Deployment | None]
    builtin_tool_by_name: DataLoader[str, BuiltinTool | None]

    @classmethod
    def for_request(cls, store: Store) -> Loaders:
        async def deployment_summaries(
            user_id: str, project_ids: Sequence[str]
        ) -> list[Deployment]:
            return await store.deployments.list_for_projects(
                user_id, project_ids, attributes=SUMMARY_ATTRIBUTES
            )

        return cls(
            project_by_id=DataLoader(load_fn=store.projects.get_many),
            agents_by_project=DataLoader(
                load_fn=grouped_by_project(store.agents.list_for_projects, _project_of)
            ),
            tools_by_project=DataLoader(
                load_fn=grouped_by_project(store.tools.list_for_projects, _project_of)
            ),
            env_vars_by_project=DataLoader(
                load_fn=grouped_by_project(store.env_vars.list_for_projects, _project_of)
            ),
            main_config_by_id=DataLoader(load_fn=store.main_configs.get_many),
            deployment_summaries_by_project=DataLoader(
                load_fn=grouped_by_project(deployment_summaries, _project_of)
            ),
            deployments_by_project=DataLoader(
                load_fn=grouped_by_project(store.deployments.list_for_projects, _project_of)
            ),
            agent_by_id=DataLoader(load_fn=store.agents.get_many),
            tool_by_id=DataLoader(load_fn=store.tools.get_many),
            deployment_by_id=DataLoader(load_fn=store.deployments.get_many),
            builtin_tool_by_name=DataLoader(load_fn=store.builtin_tools.get_many),
        )


def forget(loader: DataLoader[Any, Any], *keys: Any) -> None:
    """Drop cached values (strawberry's `clear` raises for keys it never loaded)."""
    for key in keys:
        with suppress(KeyError):
            loader.clear(key)


def _project_of(item: Agent | Tool | EnvVar | Deployment) -> str:
    return item.project_id
