"""A deployment's snapshot: the project's whole configuration as it is when it is deployed.

The snapshot is the deployment's `config`: the project, its main config, every agent and
every tool in the seed's config shapes, and its env vars with secret values left out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from server.errors import BadUserInput
from server.models import Project, main_config_id
from server.store import Store
from server.store.codec import item_size

__all__ = ["MAX_SNAPSHOT_BYTES", "snapshot"]

# DynamoDB items hold 400 KB; a snapshot may use this much, leaving the rest for logs.
MAX_SNAPSHOT_BYTES = 350_000


async def snapshot(store: Store, project: Project) -> dict[str, Any]:
    """The project's complete configuration, secret values left out; `BAD_USER_INPUT` when it
    is larger than a deployment holds."""
    config = await _configuration(store, project)
    size = item_size(config)
    if size > MAX_SNAPSHOT_BYTES:
        raise BadUserInput(
            f"the project's configuration is {size} bytes as a deployment snapshot;"
            f" a deployment holds at most {MAX_SNAPSHOT_BYTES} (DynamoDB items hold 400 KB)"
        )
    return config


async def _configuration(store: Store, project: Project) -> dict[str, Any]:
    user_id = project.user_id
    main, agents, tools, variables = await asyncio.gather(
        store.main_configs.get(user_id, main_config_id(project.project_id), consistent=True),
        store.agents.listed(project, project.agent_ids),
        store.tools.listed(project, project.tool_ids),
        store.env_vars.listed(project, project.env_ids),
    )
    return {
        "project": {
            "id": project.project_id,
            "name": project.name,
            "description": project.description,
        },
        "mainConfig": main.config if main is not None else None,
        "agents": [{"id": agent.agent_id, **agent.config} for agent in agents],
        "tools": [{"id": tool.tool_id, **tool.config} for tool in tools],
        "env": [
            {
                "key": variable.key,
                "value": None if variable.secret else variable.value,
                "secret": variable.secret,
            }
            for variable in sorted(variables, key=lambda variable: variable.key)
        ],
    }
