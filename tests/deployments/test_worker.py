"""The deployment worker: claim, validate step by step, finish (its lease and the sweep that
recovers after a stopped instance: `test_sweeper.py`)."""

from __future__ import annotations

import asyncio
import uuid

from starlette.types import ASGIApp

from server.builtin_catalog import BuiltinCatalog
from server.deployments.notices import DeploymentNotices
from server.deployments.worker import DeploymentWorker, ValidatingDeployer
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_AGENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    SET_BUILTIN_TOOL_ACTIVE,
    SET_MAIN_CONFIG,
    UPSERT_BUILTIN_TOOL,
)
from tests.samples import sample

GET = "query($id: ID!) { deployment(id: $id) { status error logs } }"


def worker_for(store: Store) -> DeploymentWorker:
    catalog = BuiltinCatalog(store.builtin_tools, ttl_seconds=0)
    return DeploymentWorker(store, DeploymentNotices(), ValidatingDeployer(catalog))


async def project(
    client: GraphQLClient, *, main: bool = True, builtins: list[str] | None = None
) -> str:
    created = await client.data(CREATE_PROJECT, {"input": {"name": "Deployed"}})
    project_id: str = created["createProject"]["id"]
    tool = {
        "name": f"lookup_{uuid.uuid4().hex[:8]}",
        "type": "CODE",
        "inputSchema": {"type": "object"},
        "code": "def run(): pass",
    }
    await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
    agent = {
        "name": "Triage",
        "systemPrompt": "Sort tickets.",
        "toolNames": [tool["name"]],
        "builtinToolNames": builtins or ["calculator"],
        "model": {"region": "us-east-1", "modelId": "anthropic.claude-3-haiku"},
    }
    await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent})
    if main:
        model = {"region": "us-east-1", "modelId": "m"}
        main_config = {"name": "Main", "systemPrompt": "Route.", "model": model}
        await client.data(SET_MAIN_CONFIG, {"projectId": project_id, "input": main_config})
    return project_id


async def deploy(client: GraphQLClient, project_id: str) -> str:
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id: str = created["createDeployment"]["id"]
    return deployment_id


async def test_a_valid_project_deploys_to_success_with_a_log_line_per_step(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    deployment_id = await deploy(client, await project(client))

    await worker_for(store).process(user_id, deployment_id)

    deployment = (await client.data(GET, {"id": deployment_id}))["deployment"]
    assert deployment["status"] == "SUCCESS"
    assert deployment["error"] is None
    steps = [line.split(" ", 1)[1] for line in deployment["logs"]]
    assert steps[1:] == [
        "claimed by the deployment worker",
        "deploying",
        "main config present",
        "1 agents, names distinct",
        "1 tools: input schemas valid, code present where needed",
        "every agent's tools and built-in tools resolve",
        "success",
    ]


async def test_a_project_without_a_main_config_fails_saying_so(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    deployment_id = await deploy(client, await project(client, main=False))

    await worker_for(store).process(user_id, deployment_id)

    deployment = (await client.data(GET, {"id": deployment_id}))["deployment"]
    assert deployment["status"] == "FAILED"
    assert deployment["error"] == "the project has no main config"


async def test_a_built_in_tool_deactivated_since_fails_the_deployment(
    client: GraphQLClient, store: Store, user_id: str, app: ASGIApp
) -> None:
    name = f"soon-gone-{uuid.uuid4().hex[:8]}"
    async with GraphQLClient.for_app(app, "ops", groups="admin") as admin:
        tool = {"name": name, "description": "d", "type": "t", "category": "c"}
        await admin.data(
            UPSERT_BUILTIN_TOOL, {"input": {**tool, "inputSchema": {"type": "object"}}}
        )
        deployment_id = await deploy(client, await project(client, builtins=[name]))
        await admin.data(SET_BUILTIN_TOOL_ACTIVE, {"name": name, "isActive": False})

    await worker_for(store).process(user_id, deployment_id)

    deployment = (await client.data(GET, {"id": deployment_id}))["deployment"]
    assert deployment["status"] == "FAILED"
    assert name in deployment["error"]
    assert "inactive built-in tools" in deployment["error"]


async def test_two_workers_racing_for_one_deployment_claim_it_once(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    deployment_id = await deploy(client, await project(client))

    await asyncio.gather(
        worker_for(store).process(user_id, deployment_id),
        worker_for(store).process(user_id, deployment_id),
    )

    deployment = (await client.data(GET, {"id": deployment_id}))["deployment"]
    assert deployment["status"] == "SUCCESS"
    claims = [line for line in deployment["logs"] if "claimed" in line]
    assert len(claims) == 1


async def test_a_cancelled_deployment_is_left_alone(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    deployment_id = await deploy(client, await project(client))
    await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})

    await worker_for(store).process(user_id, deployment_id)

    deployment = (await client.data(GET, {"id": deployment_id}))["deployment"]
    assert deployment["status"] == "FAILED"
    assert deployment["error"] == "cancelled"


async def test_claims_and_outcomes_are_counted(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    succeeding = await deploy(client, await project(client))
    failing = await deploy(client, await project(client, main=False))
    before = {
        "claimed": sample("deployment_worker_claims_total", result="claimed"),
        "skipped": sample("deployment_worker_claims_total", result="skipped"),
        "success": sample("deployment_worker_outcomes_total", outcome="success"),
        "failed": sample("deployment_worker_outcomes_total", outcome="failed"),
    }

    worker = worker_for(store)
    await worker.process(user_id, succeeding)
    await worker.process(user_id, failing)
    await worker.process(user_id, succeeding)  # finished already: nothing to claim

    assert {
        "claimed": sample("deployment_worker_claims_total", result="claimed"),
        "skipped": sample("deployment_worker_claims_total", result="skipped"),
        "success": sample("deployment_worker_outcomes_total", outcome="success"),
        "failed": sample("deployment_worker_outcomes_total", outcome="failed"),
    } == {
        "claimed": before["claimed"] + 2,
        "skipped": before["skipped"] + 1,
        "success": before["success"] + 1,
        "failed": before["failed"] + 1,
    }
