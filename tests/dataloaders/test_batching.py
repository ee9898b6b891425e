"""Loaders batch by DynamoDB key and look ahead: request counts and rounds, not times."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import (
    CREATE_AGENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    DASHBOARD,
    SET_BUILTIN_TOOL_ACTIVE,
    UPSERT_BUILTIN_TOOL,
)

PROJECT = """
query Project($id: ID!) {
  project(id: $id) {
    name
    agents { name tools { name } builtinTools { name } }
    tools { name usedBy { name } }
    mainConfig { name }
    envVars { key }
    deployments { id status project { name } }
  }
}
"""
MISC = """
mutation($p: ID!) {
  setMainConfig(projectId: $p, input: {name: "Main", systemPrompt: "Route.",
    model: {region: "us-east-1", modelId: "m"}}) { id }
  setEnvVar(projectId: $p, input: {key: "TOKEN", value: "t", secret: true}) { id }
  createDeployment(projectId: $p) { id }
}
"""


@pytest.fixture(scope="module")
async def counting_app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """The app with DEBUG_EXTENSIONS on and the built-in catalog cached, as in production."""
    counted = settings.model_copy(update={"debug_extensions": True, "builtin_cache_seconds": 30.0})
    async with LifespanManager(create_app(counted)) as manager:
        yield manager.app


@pytest.fixture
async def counting(counting_app: ASGIApp) -> AsyncIterator[Callable[[str], GraphQLClient]]:
    clients: list[GraphQLClient] = []

    def client_for(user: str) -> GraphQLClient:
        client = GraphQLClient.for_app(counting_app, user)
        clients.append(client)
        return client

    yield client_for
    for client in clients:
        await client.http.aclose()


async def furnished_projects(client: GraphQLClient, count: int) -> list[str]:
    """`count` projects, each with two tools, an agent using them, a main config, a secret
    env var and a deployment."""

    async def one(index: int) -> str:
        created = await client.data(CREATE_PROJECT, {"input": {"name": "Counted"}})
        project_id: str = created["createProject"]["id"]
        names = [f"t{index}a-{uuid.uuid4().hex[:6]}", f"t{index}b-{uuid.uuid4().hex[:6]}"]
        for name in names:
            tool = {"name": name, "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}
            await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
        agent = {
            "name": "Helper",
            "systemPrompt": "Help.",
            "toolNames": names,
            "builtinToolNames": ["calculator"],
            "model": {"region": "us-east-1", "modelId": "m"},
        }
        await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent})
        await client.data(MISC, {"p": project_id})
        return project_id

    return list(await asyncio.gather(*(one(index) for index in range(count))))


def tally(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    dynamodb: dict[str, Any] = body["extensions"]["dynamodb"]
    return dynamodb


async def test_the_dashboard_costs_the_same_for_1_and_20_projects_in_one_round(
    counting: Callable[[str], GraphQLClient],
) -> None:
    one, twenty = counting(f"one-{uuid.uuid4().hex}"), counting(f"twenty-{uuid.uuid4().hex}")
    await furnished_projects(one, 1)
    await furnished_projects(twenty, 20)
    await one.execute(DASHBOARD)  # warms the process-wide built-in catalog

    small = tally(await one.execute(DASHBOARD))
    large_body = await twenty.execute(DASHBOARD)
    large = tally(large_body)

    assert small["requests"] == large["requests"] <= 7
    assert small["rounds"] == large["rounds"] == 1
    projects = large_body["data"]["projects"]
    assert len(projects) == 20
    assert all(len(p["agents"][0]["tools"]) == 2 for p in projects)
    assert all(
        p["agents"][0]["builtinTools"] == [{"name": "calculator", "category": "math"}]
        for p in projects
    )
    assert all(p["envVars"] == [{"key": "TOKEN", "value": None, "secret": True}] for p in projects)


async def test_the_dashboards_nested_fields_add_no_tasks_for_more_projects(
    counting: Callable[[str], GraphQLClient],
) -> None:
    """Primed nested fields answer at once: no coroutine to gather, no task, per project."""
    one, twenty = counting(f"one-{uuid.uuid4().hex}"), counting(f"twenty-{uuid.uuid4().hex}")
    await furnished_projects(one, 1)
    await furnished_projects(twenty, 20)
    for client in (one, twenty):  # warm the catalog cache and the connections
        tally(await client.execute(DASHBOARD))

    with tasks_created() as small:
        tally(await one.execute(DASHBOARD))
    with tasks_created() as large:
        tally(await twenty.execute(DASHBOARD))

    assert small[0] > 0
    assert large[0] == small[0]


@contextmanager
def tasks_created() -> Iterator[list[int]]:
    """Counts the tasks the event loop creates inside the block."""
    loop = asyncio.get_running_loop()
    created = [0]
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created[0] += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield created
    finally:
        loop.set_task_factory(previous)


async def test_one_project_with_every_child_takes_two_rounds_the_project_then_its_children(
    counting: Callable[[str], GraphQLClient],
) -> None:
    client = counting(f"single-{uuid.uuid4().hex}")
    (project_id,) = await furnished_projects(client, 1)

    body = await client.execute(PROJECT, {"id": project_id})

    assert tally(body)["rounds"] == 2
    assert not [call for call in tally(body)["calls"] if call.startswith("Query")]
    project = body["data"]["project"]
    assert project["deployments"][0]["project"] == {"name": "Counted"}
    assert project["agents"][0]["tools"][0]["name"] == project["tools"][0]["name"]
    assert project["tools"][0]["usedBy"] == [{"name": "Helper"}]


async def test_ten_aliases_of_one_agent_make_one_request(
    counting: Callable[[str], GraphQLClient],
) -> None:
    client = counting(f"aliases-{uuid.uuid4().hex}")
    (project_id,) = await furnished_projects(client, 1)
    agent_query = "query($id: ID!) { project(id: $id) { agentIds } }"
    (agent_id,) = (await client.data(agent_query, {"id": project_id}))["project"]["agentIds"]
    aliases = " ".join(f'a{i}: agent(id: "{agent_id}") {{ name }}' for i in range(10))

    body = await client.execute(f"{{ {aliases} }}")

    assert tally(body)["requests"] == 1
    assert all(body["data"][f"a{i}"] == {"name": "Helper"} for i in range(10))


async def test_an_admin_change_of_a_built_in_tool_is_seen_at_once_by_this_process(
    counting: Callable[[str], GraphQLClient], counting_app: ASGIApp
) -> None:
    client = counting(f"catalog-{uuid.uuid4().hex}")
    name = f"cache-{uuid.uuid4().hex[:8]}"
    admin = GraphQLClient.for_app(counting_app, "ops", groups="admin")
    listing = 'query { builtinTools(category: "cache") { name } }'
    await client.execute(listing)

    async with admin:
        tool = {"name": name, "description": "d", "type": "t", "category": "cache"}
        await admin.data(
            UPSERT_BUILTIN_TOOL, {"input": {**tool, "inputSchema": {"type": "object"}}}
        )
        await admin.data(SET_BUILTIN_TOOL_ACTIVE, {"name": name, "isActive": False})
        hidden = await client.data(listing)
        await admin.data(SET_BUILTIN_TOOL_ACTIVE, {"name": name, "isActive": True})
    shown = await client.data(listing)

    assert {"name": name} not in hidden["builtinTools"]
    assert {"name": name} in shown["builtinTools"]
