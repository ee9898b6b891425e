"""One user's projects, written straight through the store, at the sizes a profile gives.

`SMALL` is the Dashboard benchmark's profile (tiny items); `REALISTIC` is what a real account
holds (kilobytes of prompts and code, deployments with full snapshots and logs).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.models import (  # noqa: E402
    Agent,
    AgentConfig,
    AgentType,
    Deployment,
    DeploymentStatus,
    DeploymentSummary,
    EnvVar,
    MainConfig,
    ModelSettings,
    OrchestratorConfig,
    Project,
    Snapshot,
    Tool,
    ToolConfig,
    ToolType,
    main_config_id,
    new_id,
    now_iso,
)
from server.models.project import recent_deployments  # noqa: E402
from server.models.snapshot import SnapshotProject  # noqa: E402
from server.store import Store  # noqa: E402

__all__ = ["REALISTIC", "SMALL", "Profile", "seed_projects", "text"]

BATCH_WRITE = 25


def text(size: int, word: str) -> str:
    """About `size` characters of `word`s."""
    return (word + " ") * (size // (len(word) + 1))


@dataclass(frozen=True)
class Profile:
    """How many of each child a project has, and how big their texts are."""

    agents: int
    tools: int
    env_vars: int
    deployments: int
    log_lines: int
    description: int
    prompt: int
    code: int
    value: int
    # Deployments holding the project's full snapshot (as `createDeployment` writes), and
    # tools carrying the `usedBy` set of the agents that list them; otherwise tiny stand-ins.
    full_snapshots: bool
    used_by: bool


SMALL = Profile(
    agents=5,
    tools=5,
    env_vars=5,
    deployments=10,
    log_lines=3,
    description=10,
    prompt=400,
    code=150,
    value=20,
    full_snapshots=False,
    used_by=False,
)
REALISTIC = Profile(
    agents=5,
    tools=5,
    env_vars=3,
    deployments=5,
    log_lines=40,
    description=200,
    prompt=3500,
    code=8000,
    value=60,
    full_snapshots=True,
    used_by=True,
)


async def seed_projects(store: Store, user: str, projects: int, profile: Profile) -> list[str]:
    """`projects` projects of `profile`; their ids, oldest first."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    project_ids = []
    for _ in range(projects):
        pid = new_id()
        project_ids.append(pid)
        for table, items in _project_items(user, pid, profile, now_iso()).items():
            rows[getattr(store.tables, table)] += items
    for table, items in rows.items():
        for start in range(0, len(items), BATCH_WRITE):
            await store.dynamo.batch_write(table, puts=items[start : start + BATCH_WRITE])
    return project_ids


def _project_items(
    user: str, pid: str, profile: Profile, now: str
) -> dict[str, list[dict[str, Any]]]:
    """The items of one project, by the attribute of `TableNames` that names their table."""
    tools = [
        Tool(
            user_id=user,
            tool_id=new_id(),
            project_id=pid,
            name=f"tool_{pid[-6:]}_{t}",
            config=ToolConfig(
                name=f"tool_{pid[-6:]}_{t}",
                description=text(profile.description, "describes"),
                type=ToolType.CODE,
                inputSchema={
                    "type": "object",
                    "properties": {f"arg{k}": {"type": "string"} for k in range(3)},
                },
                code=text(profile.code, "code()"),
            ),
            created_at=now,
            updated_at=now,
        )
        for t in range(profile.tools)
    ]
    agents = [
        Agent(
            user_id=user,
            agent_id=new_id(),
            project_id=pid,
            name=f"Agent {a}",
            config=AgentConfig(
                name=f"Agent {a}",
                description=text(profile.description, "agent"),
                type=AgentType.AGENT_TOOL,
                system_prompt=text(profile.prompt, "prompt"),
                tools=[tool.name for tool in tools[:3]],
                builtin_tools=["web-search", "calculator"],
                model=ModelSettings(region="us-east-1", model_id="anthropic.claude-3"),
            ),
            tool_ids=[tool.tool_id for tool in tools[:3]],
            created_at=now,
            updated_at=now,
        )
        for a in range(profile.agents)
    ]
    if profile.used_by:
        users = [agent.agent_id for agent in agents]
        tools = [
            t.model_copy(update={"used_by": users if n < 3 else []}) for n, t in enumerate(tools)
        ]
    variables = [
        EnvVar(
            user_id=user,
            env_id=f"project-{pid}-KEY_{e}",
            project_id=pid,
            key=f"KEY_{e}",
            value=text(profile.value, "value"),
            secret=e == 0,
            created_at=now,
            updated_at=now,
        )
        for e in range(profile.env_vars)
    ]
    main = MainConfig(
        user_id=user,
        config_id=main_config_id(pid),
        project_id=pid,
        config=OrchestratorConfig(
            name="Main",
            description=text(profile.description, "main"),
            system_prompt=text(profile.prompt, "route"),
            model=ModelSettings(region="us-east-1", model_id="anthropic.claude-3"),
        ),
        created_at=now,
        updated_at=now,
    )
    project = Project(
        user_id=user,
        project_id=pid,
        name=f"Project {pid[-4:]}",
        description=text(profile.description, "project"),
        agent_ids=[a.agent_id for a in agents],
        tool_ids=[t.tool_id for t in tools],
        env_ids=[v.env_id for v in variables],
        main_agent_config=main.config_id,
        created_at=now,
        updated_at=now,
    )
    snapshot = (
        Snapshot.of(project, main, agents, tools, variables)
        if profile.full_snapshots
        else Snapshot(project=SnapshotProject(id=pid))
    )
    deployments = [
        Deployment(
            user_id=user,
            deployment_id=new_id(),
            project_id=pid,
            status=DeploymentStatus.SUCCESS,
            config=snapshot.stored(),
            logs=[f"{now} step {n}: " + text(60, "log") for n in range(profile.log_lines)],
            created_at=now,
            updated_at=now,
        )
        for _ in range(profile.deployments)
    ]
    ids = sorted(d.deployment_id for d in deployments)
    summaries = {d.deployment_id: DeploymentSummary.of(d) for d in deployments}
    project = project.model_copy(  # with `recentDeployments`, as creating them writes it
        update={"deployment_ids": ids, "recent_deployments": recent_deployments(ids, summaries)}
    )
    return {
        "projects": [project.to_item()],
        "agents": [a.to_item() for a in agents],
        "tools": [
            {**t.to_item(), "usedBy": set(t.used_by)} if t.used_by else t.to_item() for t in tools
        ],
        "environment": [v.to_item() for v in variables],
        "deployments": [d.to_item() for d in deployments],
        "main_config": [main.to_item()],
    }
