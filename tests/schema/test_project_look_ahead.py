"""The look-ahead of `projects`: each field of Project, and the fields selected below it, say
which child tables they read (`looks_ahead`), and those are read in the projects' round."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient

FURNISH = """
mutation($p: ID!) {
  createTool(projectId: $p, input: {name: "lookup", type: FRONTEND_ACTION,
    inputSchema: {type: "object"}}) { id }
  createAgent(projectId: $p, input: {name: "Helper", systemPrompt: "Help.",
    toolNames: ["lookup"], builtinToolNames: ["calculator"],
    model: {region: "us-east-1", modelId: "m"}}) { id }
  setMainConfig(projectId: $p, input: {name: "Main", systemPrompt: "Route.",
    model: {region: "us-east-1", modelId: "m"}}) { id }
  setEnvVar(projectId: $p, input: {key: "K", value: "v"}) { id }
}
"""


@pytest.fixture(scope="module")
async def counting_app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """The app with DEBUG_EXTENSIONS on; the catalog uncached, so each read of it shows."""
    counted = settings.model_copy(update={"debug_extensions": True})
    async with LifespanManager(create_app(counted)) as manager:
        yield manager.app


@pytest.fixture
async def furnished(counting_app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    """A client whose one project has a tool, an agent using it and a built-in tool, a main
    config and an env var."""
    async with GraphQLClient.for_app(counting_app, user_id) as client:
        created = await client.data('mutation { createProject(input: {name: "P"}) { id } }')
        await client.data(FURNISH, {"p": created["createProject"]["id"]})
        yield client


@pytest.mark.parametrize(
    ("selection", "tables"),
    [
        ("id name", set()),
        ("agents { name }", {"agents"}),
        ("tools { name }", {"tools"}),
        ("tools { usedBy { name } }", {"tools", "agents"}),
        ("agents { tools { name } }", {"agents", "tools"}),
        ("agents { builtinTools { name } }", {"agents", "builtin_tools"}),
        ("mainConfig { name }", {"main_config"}),
        ("envVars { key }", {"environment"}),
        ("deployments { id } latestDeployment { id }", set()),
        ("... on Project { tools { usedBy { name } } }", {"tools", "agents"}),
    ],
)
async def test_projects_reads_the_child_tables_its_selection_reaches_in_one_round(
    furnished: GraphQLClient, store: Store, selection: str, tables: set[str]
) -> None:
    # Given a project with one child of every kind, each table's part of the partition small
    # When the projects are asked for with the selection
    body = await furnished.execute(f"{{ projects {{ {selection} }} }}")
    # Then the tables it reaches are read with the projects, in their one round
    assert "errors" not in body, body["errors"]
    tally = body["extensions"]["dynamodb"]
    read = {call.split(" ", 1)[1] for call in tally["calls"] if call.startswith(("Query", "Scan"))}
    assert read == {store.tables.projects, *(getattr(store.tables, table) for table in tables)}
    assert tally["rounds"] == 1
