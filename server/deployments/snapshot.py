"""A deployment's snapshot: the project's whole configuration as it is when it is deployed.

The snapshot is the deployment's `config`: the project, its main config, every agent and
every tool in the seed's config shapes, and its env vars with secret values left out
(`server.models.Snapshot` describes it).
"""

from __future__ import annotations

import asyncio

from server.errors import BadUserInput
from server.models import Project, Snapshot, main_config_id
from server.store import Store
from server.store.codec import item_size

__all__ = ["MAX_SNAPSHOT_BYTES", "snapshot"]

# DynamoDB items hold 400 KB; a snapshot may use this much, leaving the rest for logs.
MAX_SNAPSHOT_BYTES = 350_000


async def snapshot(store: Store, project: Project) -> Snapshot:
    """The project's complete configuration, read consistently, secret values left out;
    `BAD_USER_INPUT` when it is larger than a deployment holds."""
    user_id = project.user_id
    main, agents, tools, variables = await asyncio.gather(
        store.main_configs.get(user_id, main_config_id(project.project_id), consistent=True),
        store.agents.listed(project, project.agent_ids),
        store.tools.listed(project, project.tool_ids),
        store.env_vars.listed(project, project.env_ids),
    )
    taken = Snapshot.of(project, main, agents, tools, variables)
    size = item_size(taken.stored())
    if size > MAX_SNAPSHOT_BYTES:
        raise BadUserInput(
            f"the project's configuration is {size} bytes as a deployment snapshot;"
            f" a deployment holds at most {MAX_SNAPSHOT_BYTES} (DynamoDB items hold 400 KB)"
        )
    return taken


def snapshot_line(taken: Snapshot) -> str:
    """The first log line of a deployment of a fresh snapshot."""
    return f"pending: snapshot of {len(taken.agents)} agents and {len(taken.tools)} tools"
