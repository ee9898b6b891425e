"""Isolation between users: another user's ids behave as if they did not exist.

User A builds a complete project; user B (a plain user, or an admin) then names A's ids in every
query and mutation that takes one. Each query must answer null, each mutation NOT_FOUND, and A's
whole project must read back byte for byte as before, with nothing written under B's userId.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.settings import Settings
from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import (
    AGENT_FIELDS,
    CANCEL_DEPLOYMENT,
    CREATE_AGENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    DELETE_AGENT,
    DELETE_ENV_VAR,
    DELETE_PROJECT,
    DELETE_TOOL,
    DEPLOYMENT_FIELDS,
    ENV_VAR_FIELDS,
    MAIN_CONFIG_FIELDS,
    PROJECT_FIELDS,
    SET_ENV_VAR,
    SET_MAIN_CONFIG,
    TOOL_FIELDS,
    UPDATE_AGENT,
    UPDATE_PROJECT,
    UPDATE_TOOL,
)

MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
INPUT_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to look up"}},
    "required": ["query"],
}

GET_PROJECT = f"query GetProject($id: ID!) {{ project(id: $id) {{ {PROJECT_FIELDS} }} }}"
GET_AGENT = f"query GetAgent($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"
GET_TOOL = f"query GetTool($id: ID!) {{ tool(id: $id) {{ {TOOL_FIELDS} }} }}"
GET_DEPLOYMENT = (
    f"query GetDeployment($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}"
)
LIST_PROJECTS = f"query ListProjects {{ projects {{ {PROJECT_FIELDS} }} }}"

EVERYTHING = f"""
query Everything($id: ID!, $agentId: ID!, $toolId: ID!, $deploymentId: ID!) {{
  project(id: $id) {{
    {PROJECT_FIELDS}
    agents {{
      {AGENT_FIELDS}
      project {{ id name version }}
      tools {{ {TOOL_FIELDS} }}
      builtinTools {{ name description type inputSchema category isActive }}
    }}
    tools {{ {TOOL_FIELDS} project {{ id }} usedBy {{ id name }} }}
    mainConfig {{ {MAIN_CONFIG_FIELDS} }}
    envVars {{ {ENV_VAR_FIELDS} }}
    deployments {{ {DEPLOYMENT_FIELDS} project {{ id }} }}
    latestDeployment {{ {DEPLOYMENT_FIELDS} }}
  }}
  agent(id: $agentId) {{ {AGENT_FIELDS} }}
  tool(id: $toolId) {{ {TOOL_FIELDS} }}
  deployment(id: $deploymentId) {{ {DEPLOYMENT_FIELDS} }}
  projects {{ {PROJECT_FIELDS} }}
}}
"""


@dataclass(frozen=True)
class World:
    """The ids of user A's complete project."""

    project_id: str
    agent_id: str
    tool_id: str
    deployment_id: str
    env_key: str

    def everything(self) -> dict[str, str]:
        return {
            "id": self.project_id,
            "agentId": self.agent_id,
            "toolId": self.tool_id,
            "deploymentId": self.deployment_id,
        }


Variables = Callable[[World], dict[str, Any]]


def agent_input(name: str = "Researcher", tool_name: str = "lookup") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Finds things",
        "systemPrompt": "You research.",
        "toolNames": [tool_name],
        "builtinToolNames": ["calculator"],
        "model": MODEL,
    }


def tool_input(name: str = "lookup") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Looks things up",
        "type": "CODE",
        "inputSchema": INPUT_SCHEMA,
        "code": "def handler(event):\n    return event['query']\n",
    }


def main_config_input(name: str = "Main Orchestrator") -> dict[str, Any]:
    return {"name": name, "description": "Routes", "systemPrompt": "You route.", "model": MODEL}


# Queries for one entity: B must get null.
QUERIES: list[tuple[str, str, Variables]] = [
    ("project", GET_PROJECT, lambda w: {"id": w.project_id}),
    ("agent", GET_AGENT, lambda w: {"id": w.agent_id}),
    ("tool", GET_TOOL, lambda w: {"id": w.tool_id}),
    ("deployment", GET_DEPLOYMENT, lambda w: {"id": w.deployment_id}),
]

# Mutations naming A's ids with otherwise valid input: B must get NOT_FOUND.
MUTATIONS: list[tuple[str, str, Variables]] = [
    (
        "updateProject",
        UPDATE_PROJECT,
        lambda w: {"id": w.project_id, "input": {"name": "Taken over"}},
    ),
    ("deleteProject", DELETE_PROJECT, lambda w: {"id": w.project_id}),
    (
        "createAgent",
        CREATE_AGENT,
        lambda w: {"projectId": w.project_id, "input": agent_input("Planted", tool_name="lookup")},
    ),
    (
        "updateAgent",
        UPDATE_AGENT,
        lambda w: {"id": w.agent_id, "input": {"name": "Hijacked", "toolNames": []}},
    ),
    ("deleteAgent", DELETE_AGENT, lambda w: {"id": w.agent_id}),
    (
        "createTool",
        CREATE_TOOL,
        lambda w: {"projectId": w.project_id, "input": tool_input("planted")},
    ),
    (
        "updateTool",
        UPDATE_TOOL,
        lambda w: {"id": w.tool_id, "input": {"description": "Hijacked"}},
    ),
    ("deleteTool", DELETE_TOOL, lambda w: {"id": w.tool_id}),
    (
        "setMainConfig",
        SET_MAIN_CONFIG,
        lambda w: {"projectId": w.project_id, "input": main_config_input("Hijacked")},
    ),
    (
        "setEnvVar existing key",
        SET_ENV_VAR,
        lambda w: {"projectId": w.project_id, "input": {"key": w.env_key, "value": "stolen"}},
    ),
    (
        "setEnvVar new key",
        SET_ENV_VAR,
        lambda w: {"projectId": w.project_id, "input": {"key": "PLANTED", "value": "x"}},
    ),
    ("deleteEnvVar", DELETE_ENV_VAR, lambda w: {"projectId": w.project_id, "key": w.env_key}),
    ("createDeployment", CREATE_DEPLOYMENT, lambda w: {"projectId": w.project_id}),
    ("cancelDeployment", CANCEL_DEPLOYMENT, lambda w: {"id": w.deployment_id}),
]

INTRUDERS = {"plain user": "", "admin": "admin"}

CASES = [
    pytest.param(groups, document, variables, expects_null, id=f"{who}: {name}")
    for who, groups in INTRUDERS.items()
    for cases, expects_null in ((QUERIES, True), (MUTATIONS, False))
    for name, document, variables in cases
]


@pytest.fixture(scope="module")
async def quiet_app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """The app with DEPLOYER=none: A's deployment stays PENDING, so B could still cancel it.

    EVERYTHING selects every field of every type in one document, which at the quotas may
    resolve ~280,000 fields: over the default cost limit, so this app allows more."""
    quiet = settings.model_copy(update={"deployer": "none", "max_query_cost": 1_000_000})
    async with LifespanManager(create_app(quiet)) as manager:
        yield manager.app


@pytest.fixture
async def owner(quiet_app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(quiet_app, user_id) as client:
        yield client


async def build_world(owner: GraphQLClient) -> World:
    """A project with a tool, an agent using it, a main config, env vars and a deployment."""
    project = (await owner.data(CREATE_PROJECT, {"input": {"name": "A's project"}}))[
        "createProject"
    ]
    project_id = project["id"]
    tool = (await owner.data(CREATE_TOOL, {"projectId": project_id, "input": tool_input()}))[
        "createTool"
    ]
    agent = (await owner.data(CREATE_AGENT, {"projectId": project_id, "input": agent_input()}))[
        "createAgent"
    ]
    await owner.data(SET_MAIN_CONFIG, {"projectId": project_id, "input": main_config_input()})
    await owner.data(
        SET_ENV_VAR, {"projectId": project_id, "input": {"key": "REGION", "value": "eu-west-1"}}
    )
    await owner.data(
        SET_ENV_VAR,
        {"projectId": project_id, "input": {"key": "TOKEN", "value": "hidden", "secret": True}},
    )
    deployment = (await owner.data(CREATE_DEPLOYMENT, {"projectId": project_id}))[
        "createDeployment"
    ]
    return World(
        project_id=project_id,
        agent_id=agent["id"],
        tool_id=tool["id"],
        deployment_id=deployment["id"],
        env_key="REGION",
    )


async def everything_text(owner: GraphQLClient, world: World) -> str:
    """A's whole project, every field, as the exact response text."""
    response = await owner.http.post(
        "/graphql", json={"query": EVERYTHING, "variables": world.everything()}
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.text


async def partition(store: Store, table: str, user_id: str) -> list[dict[str, Any]]:
    items = store.dynamo.query(
        table, Expression("userId = :user", values={":user": user_id}), consistent=True
    )
    return [item async for item in items]


async def test_a_complete_world_reads_back_fully(owner: GraphQLClient) -> None:
    world = await build_world(owner)

    data = json.loads(await everything_text(owner, world))["data"]

    project = data["project"]
    assert project["agentIds"] == [world.agent_id]
    assert project["toolIds"] == [world.tool_id]
    assert project["deploymentIds"] == [world.deployment_id]
    assert len(project["envIds"]) == 2
    assert project["agents"][0]["tools"][0]["id"] == world.tool_id
    assert project["tools"][0]["usedBy"] == [{"id": world.agent_id, "name": "Researcher"}]
    assert project["mainConfig"]["id"] == f"project-{world.project_id}"
    assert project["deployments"][0]["status"] == "PENDING"
    assert (data["agent"]["id"], data["tool"]["id"]) == (world.agent_id, world.tool_id)
    assert data["deployment"]["id"] == world.deployment_id


@pytest.mark.parametrize(("groups", "document", "variables", "expects_null"), CASES)
async def test_another_user_naming_a_users_ids_finds_nothing_and_changes_nothing(
    owner: GraphQLClient,
    quiet_app: ASGIApp,
    store: Store,
    user_id: str,
    groups: str,
    document: str,
    variables: Variables,
    expects_null: bool,
) -> None:
    world = await build_world(owner)
    before = await everything_text(owner, world)
    intruder_id = f"{user_id}-intruder"

    async with GraphQLClient.for_app(quiet_app, intruder_id, groups=groups) as intruder:
        body = await intruder.execute(document, variables(world))

    if expects_null:
        assert "errors" not in body, body
        assert list(body["data"].values()) == [None]
    else:
        assert [error["extensions"]["code"] for error in body.get("errors") or []] == [
            "NOT_FOUND"
        ], body
        assert body["data"] is None
    assert await everything_text(owner, world) == before
    for table in (
        store.tables.projects,
        store.tables.agents,
        store.tables.tools,
        store.tables.main_config,
        store.tables.environment,
        store.tables.deployments,
    ):
        assert await partition(store, table, intruder_id) == [], table


async def test_another_users_project_list_is_empty(
    owner: GraphQLClient, quiet_app: ASGIApp, user_id: str
) -> None:
    await build_world(owner)

    async with GraphQLClient.for_app(quiet_app, f"{user_id}-intruder") as intruder:
        data = await intruder.data(LIST_PROJECTS)

    assert data["projects"] == []


async def test_another_user_may_reuse_a_tool_name_in_their_own_project(
    owner: GraphQLClient, quiet_app: ASGIApp, user_id: str
) -> None:
    world = await build_world(owner)
    before = await everything_text(owner, world)

    async with GraphQLClient.for_app(quiet_app, f"{user_id}-other") as other:
        project = (await other.data(CREATE_PROJECT, {"input": {"name": "B's"}}))["createProject"]
        tool = await other.data(CREATE_TOOL, {"projectId": project["id"], "input": tool_input()})

    assert tool["createTool"]["name"] == "lookup"
    assert tool["createTool"]["id"] != world.tool_id
    assert await everything_text(owner, world) == before
