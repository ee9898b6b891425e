"""What the costliest documents cost the server on an account at its quotas.

Usage: python bench/cost.py [--runs 3] [--limit N] [--write BENCHMARKS.md]

Seeds one account at the quotas of `server/quotas.py` with realistic sizes (system prompts of
~3 KB, tool code of ~2-8 KB, every agent using the most custom and built-in tools, deployments
of ~300 KB snapshots and 1,000 log lines in the biggest project; 2,000 deployments in all, not
the 100 in every project that retention allows), then runs the SPA Dashboard,
the README's worked example and the costliest documents we could build against a server
(`python -m server serve` on the embedded store, its own process) whose cost limit is
`--limit` (default: the server's). For each: the estimate, the fields really counted, the
server process's CPU (median of `--runs`, from /proc) and the wall time; documents over the
limit are refused before they run, and their CPU is that of the refusal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dashboard import PREFIX, api_server, process_cpu_seconds  # noqa: E402
from bench.seeding import text  # noqa: E402
from server import quotas  # noqa: E402
from server.models import (  # noqa: E402
    Agent,
    AgentConfig,
    AgentType,
    BuiltinTool,
    Deployment,
    DeploymentStatus,
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
from server.models.snapshot import SnapshotProject, SnapshotTool  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import Store, open_store  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.wiring import store_options  # noqa: E402
from tests.documents import (  # noqa: E402
    ALIASED_USED_BY_ATTACK,
    DASHBOARD,
    OVERVIEW,
    USED_BY_ATTACK,
)

USER = "bench-quota-user"
# Projects that hold the account's agents: each at the per-project quotas of agents and tools.
FULL_PROJECTS = quotas.AGENTS_PER_USER // quotas.AGENTS_PER_PROJECT
# Deployments seeded: the first project at its retention bound, the rest shared by the others.
# Not the most an account may keep (every project at the bound, 20,000), which would seed
# gigabytes of snapshots.
DEPLOYMENTS = 2_000


def aliased(count: int, selection: str) -> str:
    return "{ " + " ".join(f"a{n}: {selection}" for n in range(count)) + " }"


# name -> (document, variables); `$p` is the fullest project, `$a` one of its agents. Apart from
# the README's two and the finding's two attacks, each is about as costly as the limit lets a
# document of its kind be (`python bench/cost.py --limit 1000000000` measures them unrefused).
P = {"p": "$p"}
DOCUMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "Dashboard (README)": (DASHBOARD, {}),
    "Overview (README), fullest project": (OVERVIEW, {"projectId": "$p"}),
    "attack: agents.tools.usedBy.tools": (USED_BY_ATTACK, P),
    "attack: 30 x agents.tools.usedBy": (ALIASED_USED_BY_ATTACK, P),
    "deployment history: latestDeployment of every project": (
        "{ projects { latestDeployment { id } } }",
        {},
    ),
    "every agent's prompt and config, 4 aliases": (
        aliased(4, "projects { agents { systemPrompt config } }"),
        {},
    ),
    "every tool's code": ("{ projects { tools { code } } }", {}),
    "tools' code through agents (refused)": ("{ projects { agents { tools { code } } } }", {}),
    "agent(id).tools.usedBy, 12 aliases": (
        "query($a: ID!) " + aliased(12, "agent(id: $a) { tools { usedBy { id name } } }"),
        {"a": "$a"},
    ),
    "agents x builtinTools": (
        "{ projects { agents { builtinTools { name description category type isActive } } } }",
        {},
    ),
    "builtinTools with schemas, 12 aliases": (
        aliased(12, "builtinTools(includeInactive: true) { name description inputSchema }"),
        {},
    ),
    "deploymentIds of every project": ("{ projects { deploymentIds } }", {}),
    "envVars, 7 aliases": (aliased(7, "projects { envVars { key value secret } }"), {}),
    "deployments summaries, 3 aliases": (
        aliased(3, "projects { deployments { id status createdAt } }"),
        {},
    ),
    "deployments(limit: 100) config, fullest project": (
        "query($p: ID!) { project(id: $p) { deployments(limit: 100) { config } } }",
        P,
    ),
    "2 x deployments(limit: 90) config, fullest project": (
        "query($p: ID!) { project(id: $p)"
        " { a: deployments(limit: 90) { config } b: deployments(limit: 90) { config } } }",
        P,
    ),
    "deployments(limit: 32) config + logs, fullest project": (
        "query($p: ID!) { project(id: $p) { deployments(limit: 32) { config logs } } }",
        P,
    ),
    "deployments(limit: 4) changes, fullest project": (
        "query($p: ID!) { project(id: $p)"
        " { deployments(limit: 4) { changes { path kind before after } } } }",
        P,
    ),
    "latestDeployment config of every project (refused)": (
        "{ projects { latestDeployment { config } } }",
        {},
    ),
}


# -- seeding ---------------------------------------------------------------------------------


async def seed(store: Store) -> tuple[str, str]:
    """The account at its quotas; returns its fullest project and one of its agents."""
    now = now_iso()
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    builtins = [
        BuiltinTool(
            tool_name=f"bench-builtin-{n:03d}",
            description=text(200, "builtin"),
            type="builtin",
            input_schema={"type": "object", "properties": {"q": {"type": "string"}}},
            category="bench",
        )
        for n in range(quotas.BUILTIN_TOOLS)
    ]
    rows[store.tables.builtin_tools] += [b.to_item() for b in builtins]
    builtin_names = [b.tool_name for b in builtins[: quotas.BUILTIN_TOOLS_PER_AGENT]]
    tools_left, agents_left = quotas.TOOLS_PER_USER, quotas.AGENTS_PER_USER
    env_left, deployments_left = quotas.ENV_VARS_PER_USER, DEPLOYMENTS
    projects_left = quotas.PROJECTS_PER_USER
    first_project, first_agent = "", ""
    for index in range(quotas.PROJECTS_PER_USER):
        full = index < FULL_PROJECTS
        pid = new_id()
        first_project = first_project or pid

        def share(left: int, per_project: int, projects: int = projects_left) -> int:
            return min(per_project, left // projects)

        n_tools = min(quotas.TOOLS_PER_PROJECT, tools_left) if full else share(tools_left, 100)
        n_agents = min(quotas.AGENTS_PER_PROJECT, agents_left) if full else share(agents_left, 50)
        n_env = share(env_left, quotas.ENV_VARS_PER_PROJECT)
        n_dep = (
            min(quotas.DEPLOYMENTS_PER_PROJECT, deployments_left)
            if index == 0
            else share(deployments_left, quotas.DEPLOYMENTS_PER_PROJECT)
        )
        projects_left -= 1
        tools_left, agents_left = tools_left - n_tools, agents_left - n_agents
        env_left, deployments_left = env_left - n_env, deployments_left - n_dep
        tools = [
            Tool(
                user_id=USER,
                tool_id=new_id(),
                project_id=pid,
                name=f"tool_{pid[-6:]}_{t}",
                config=ToolConfig(
                    name=f"tool_{pid[-6:]}_{t}",
                    description=text(300, "describes"),
                    type=ToolType.CODE,
                    inputSchema={
                        "type": "object",
                        "properties": {f"arg{k}": {"type": "string"} for k in range(5)},
                    },
                    code=text(2000 + 6000 * (t % 2), "code()"),
                ),
                created_at=now,
                updated_at=now,
            )
            for t in range(n_tools)
        ]
        agents = [
            Agent(
                user_id=USER,
                agent_id=new_id(),
                project_id=pid,
                name=f"Agent {a}",
                config=AgentConfig(
                    name=f"Agent {a}",
                    description=text(300, "agent"),
                    type=AgentType.AGENT_TOOL,
                    system_prompt=text(3000, "prompt"),
                    tools=[tool.name for tool in tools[: quotas.TOOLS_PER_AGENT]],
                    builtin_tools=builtin_names,
                    model=ModelSettings(region="us-east-1", model_id="anthropic.claude-3"),
                ),
                created_at=now,
                updated_at=now,
            )
            for a in range(n_agents)
        ]
        used_by: dict[str, list[str]] = defaultdict(list)
        for agent in agents:
            for name in agent.config.tools:
                used_by[name].append(agent.agent_id)
        tools = [t.model_copy(update={"used_by": used_by[t.name]}) for t in tools]
        first_agent = first_agent or (agents[0].agent_id if agents else "")
        variables = [
            EnvVar(
                user_id=USER,
                env_id=f"project-{pid}-KEY_{e}",
                project_id=pid,
                key=f"KEY_{e}",
                value=text(100, "value"),
                secret=e % 5 == 0,
                created_at=now,
                updated_at=now,
            )
            for e in range(n_env)
        ]
        snapshot_size = 300_000 if index == 0 else 20_000
        deployments = [
            Deployment(
                user_id=USER,
                deployment_id=new_id(),
                project_id=pid,
                status=DeploymentStatus.SUCCESS,
                config=snapshot(pid, n, snapshot_size),
                logs=[
                    f"{now} step {line} " + "x" * 50 for line in range(1000 if index == 0 else 20)
                ],
                created_at=now,
                updated_at=now,
            )
            for n in range(n_dep)
        ]
        main = MainConfig(
            user_id=USER,
            config_id=main_config_id(pid),
            project_id=pid,
            config=OrchestratorConfig(
                name="Main",
                description="",
                system_prompt=text(3000, "route"),
                model=ModelSettings(region="us-east-1", model_id="m"),
            ),
            created_at=now,
            updated_at=now,
        )
        project = Project(
            user_id=USER,
            project_id=pid,
            name=f"Project {index}",
            description=text(200, "project"),
            agent_ids=[a.agent_id for a in agents],
            tool_ids=[t.tool_id for t in tools],
            env_ids=[v.env_id for v in variables],
            deployment_ids=[d.deployment_id for d in deployments],
            main_agent_config=main.config_id,
            created_at=now,
            updated_at=now,
        )
        rows[store.tables.projects].append(project.to_item())
        rows[store.tables.agents] += [a.to_item() for a in agents]
        rows[store.tables.tools] += [
            {**t.to_item(), "usedBy": set(t.used_by)} if t.used_by else t.to_item() for t in tools
        ]
        rows[store.tables.environment] += [v.to_item() for v in variables]
        rows[store.tables.deployments] += [d.to_item() for d in deployments]
        rows[store.tables.main_config].append(main.to_item())
    for table, items in rows.items():
        for start in range(0, len(items), 25):
            await store.dynamo.batch_write(table, puts=items[start : start + 25])
    return first_project, first_agent


def snapshot(project_id: str, serial: int, size: int) -> dict[str, Any]:
    """A deployment snapshot of about `size` bytes, each a little different from the last."""
    tools = [
        SnapshotTool(name=f"tool_{t}", type=ToolType.CODE, code=text(4000, f"v{serial % 3}"))
        for t in range(size // 4100)
    ]
    project = SnapshotProject(id=project_id, name="P")
    return Snapshot(project=project, tools=tools, agents=[], env=[]).stored()


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    estimate: int
    actual: int | None
    refused: str | None
    cpu_ms: float
    wall_ms: float
    response_kb: float


async def run_document(
    http: httpx.AsyncClient,
    pid: int,
    name: str,
    document: str,
    variables: dict[str, Any],
    runs: int,
) -> Row:
    cpu: list[float] = []
    wall: list[float] = []
    body: dict[str, Any] = {}
    size = 0
    for _ in range(runs):
        before_cpu, before_wall = process_cpu_seconds(pid), time.perf_counter()
        response = await http.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"X-Dev-User": USER},
        )
        wall.append(time.perf_counter() - before_wall)
        cpu.append(process_cpu_seconds(pid) - before_cpu)
        size = len(response.content)
        body = response.json()
    errors = body.get("errors") or []
    cost = (errors[0].get("extensions", {}).get("cost") if errors else None) or body.get(
        "extensions", {}
    ).get("cost", {})
    refused = errors[0]["extensions"]["code"] if errors else None
    return Row(
        name=name,
        estimate=cost.get("requestedQueryCost", -1),
        actual=cost.get("actualQueryCost"),
        refused=refused,
        cpu_ms=1000 * statistics.median(cpu),
        wall_ms=1000 * statistics.median(wall),
        response_kb=size / 1024,
    )


def format_row(row: Row) -> str:
    actual = "" if row.actual is None else f"{row.actual:,}"
    outcome = row.refused or "served"
    return (
        f"| {row.name} | {row.estimate:,} | {actual} | {outcome} | {row.cpu_ms:.0f}"
        f" | {row.wall_ms:.0f} | {row.response_kb:,.0f} |"
    )


HEADER = (
    "| document | estimate | actual fields | outcome | server CPU ms (median) | wall ms"
    " | response KB |\n| --- | --- | --- | --- | --- | --- | --- |"
)


async def bench(args: argparse.Namespace) -> list[Row]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    if args.limit is not None:
        os.environ["MAX_QUERY_COST"] = str(args.limit)
    rows: list[Row] = []
    with EmbeddedDynamoDB() as endpoint:
        settings = Settings(
            store="dynamodb",
            dynamodb_endpoint_url=endpoint,
            table_prefix=PREFIX,
            dynamodb_read_timeout=300,
        )
        async with open_store(store_options(settings)) as store:
            await store.create_tables()
            project_id, agent_id = await seed(store)
        with api_server(endpoint, naive=False) as (base, pid):
            async with httpx.AsyncClient(base_url=base, timeout=900) as http:
                print(HEADER, flush=True)  # noqa: T201
                ids = {"$p": project_id, "$a": agent_id}
                for name, (document, variables) in DOCUMENTS.items():
                    if args.skip and args.skip in name:
                        continue
                    values = {key: ids.get(value, value) for key, value in variables.items()}
                    await run_document(http, pid, name, document, values, 1)  # warm-up
                    rows.append(await run_document(http, pid, name, document, values, args.runs))
                    print(format_row(rows[-1]), flush=True)  # noqa: T201
    return rows


def write(path: Path, args: argparse.Namespace, rows: list[Row]) -> None:
    limit = args.limit if args.limit is not None else Settings().max_query_cost
    account = (
        f"{quotas.PROJECTS_PER_USER} projects, {quotas.AGENTS_PER_USER} agents"
        f" ({FULL_PROJECTS} projects of {quotas.AGENTS_PER_PROJECT} agents and"
        f" {quotas.TOOLS_PER_PROJECT} tools), {quotas.TOOLS_PER_USER} tools,"
        f" {quotas.ENV_VARS_PER_USER} env vars, {DEPLOYMENTS:,} deployments"
        f" ({quotas.DEPLOYMENTS_PER_PROJECT} in the first project, ~300 KB snapshots and 1,000"
        f" log lines each), {quotas.BUILTIN_TOOLS} built-in tools; every agent uses"
        f" {quotas.TOOLS_PER_AGENT} tools and {quotas.BUILTIN_TOOLS_PER_AGENT} built-in tools"
    )
    section = [
        "",
        f"## Query cost on an account at its quotas, {time.strftime('%Y-%m-%d')}",
        "",
        f"Command: `python bench/cost.py --runs {args.runs}"
        + (f" --limit {args.limit}" if args.limit is not None else "")
        + f" --write BENCHMARKS.md` ({platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}); `MAX_QUERY_COST` = {limit:,}."
        f" The account: {account}.",
        "",
        HEADER,
        *(format_row(row) for row in rows),
        "",
    ]
    with path.open("a") as out:
        out.write("\n".join(section))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--write", type=Path)
    parser.add_argument(
        "--skip", default="", help="leave out the documents whose name contains this text"
    )
    args = parser.parse_args()
    rows = asyncio.run(bench(args))
    if args.write:
        write(args.write, args, rows)


if __name__ == "__main__":
    main()
