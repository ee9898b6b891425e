"""DEBUG_EXTENSIONS: responses tell which DynamoDB requests they took, and listings of
deployments read `config` and `logs` only when the query selects them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient

CREATE = """
mutation { createProject(input: {name: "Debugged"}) { id } }
"""
DEPLOY = "mutation($p: ID!) { createDeployment(projectId: $p) { id } }"
SUMMARIES = "query($p: ID!) { project(id: $p) { deployments { id status } } }"
FULL = "query($p: ID!) { project(id: $p) { deployments { id config logs } } }"


@pytest.fixture
async def debug_client(settings: Settings, store: Store) -> AsyncIterator[GraphQLClient]:
    debugged = settings.model_copy(update={"debug_extensions": True})
    async with LifespanManager(create_app(debugged)) as manager:
        async with GraphQLClient.for_app(manager.app, "debug-user") as client:
            yield client


async def test_each_response_counts_its_dynamodb_requests(debug_client: GraphQLClient) -> None:
    first = await debug_client.execute(CREATE)
    body = await debug_client.execute(CREATE)

    # The account's first create also counts it into a usage item (server/store/usage.py).
    calls = [call.split(" ")[:2] for call in first["extensions"]["dynamodb"]["calls"]]
    assert [operation for operation, _ in calls] == [
        "TransactWriteItems",
        "Query",
        "PutItem",
        "TransactWriteItems",
    ]
    assert calls[1][1].endswith("projects")
    assert calls[2][1].endswith("tools")
    tally = body["extensions"]["dynamodb"]
    assert (tally["requests"], tally["rounds"]) == (1, 1)
    assert tally["calls"] == ["TransactWriteItems -"]


async def test_listing_deployments_reads_config_and_logs_only_when_selected(
    debug_client: GraphQLClient,
) -> None:
    project_id = (await debug_client.data(CREATE))["createProject"]["id"]
    await debug_client.data(DEPLOY, {"p": project_id})

    summaries = await debug_client.execute(SUMMARIES, {"p": project_id})
    full = await debug_client.execute(FULL, {"p": project_id})

    (summary_query,) = [c for c in summaries["extensions"]["dynamodb"]["calls"] if "deploy" in c]
    (full_query,) = [c for c in full["extensions"]["dynamodb"]["calls"] if "deploy" in c]
    assert "projecting" in summary_query
    assert "projecting" not in full_query
    assert full["data"]["project"]["deployments"][0]["config"]["project"]["name"] == "Debugged"


async def test_debug_extensions_are_off_unless_asked_for_outside_the_embedded_store(
    client: GraphQLClient,
) -> None:
    body = await client.execute(CREATE)

    assert "extensions" not in body or "dynamodb" not in body["extensions"]
