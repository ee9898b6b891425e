"""DEBUG_EXTENSIONS: responses tell which DynamoDB requests they took, and listings of
deployments read `config` and `logs` only of the deployments they list."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import CANCEL_DEPLOYMENT, CREATE_DEPLOYMENT, CREATE_PROJECT

DEBUGGED = {"input": {"name": "Debugged"}}
SUMMARIES = "query($p: ID!) { project(id: $p) { deployments { id status } } }"
FULL = "query($p: ID!) { project(id: $p) { deployments(limit: 1) { id config logs } } }"


@pytest.fixture
async def debug_client(settings: Settings, store: Store) -> AsyncIterator[GraphQLClient]:
    debugged = settings.model_copy(update={"debug_extensions": True})
    async with LifespanManager(create_app(debugged)) as manager:
        async with GraphQLClient.for_app(manager.app, "debug-user") as client:
            yield client


async def test_each_response_counts_its_dynamodb_requests(debug_client: GraphQLClient) -> None:
    first = await debug_client.execute(CREATE_PROJECT, DEBUGGED)
    body = await debug_client.execute(CREATE_PROJECT, DEBUGGED)

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


async def test_listings_of_deployments_read_summaries_and_config_only_of_those_listed(
    debug_client: GraphQLClient,
) -> None:
    project_id = (await debug_client.data(CREATE_PROJECT, DEBUGGED))["createProject"]["id"]
    for _ in range(3):
        created = await debug_client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
        await debug_client.data(CANCEL_DEPLOYMENT, {"id": created["createDeployment"]["id"]})

    summaries = await debug_client.execute(SUMMARIES, {"p": project_id})
    full = await debug_client.execute(FULL, {"p": project_id})

    # The summaries come with the project item; `config` reads the one listed, by id.
    assert [c for c in summaries["extensions"]["dynamodb"]["calls"] if "deploy" in c] == []
    assert len(summaries["data"]["project"]["deployments"]) == 3
    (listed,) = full["data"]["project"]["deployments"]
    full_reads = [r for r in full["extensions"]["dynamodb"]["reads"] if "deploy" in r["table"]]
    assert full_reads == [
        {
            "operation": "BatchGetItem",
            "table": full_reads[0]["table"],
            "keys": [{"userId": "debug-user", "deploymentId": listed["id"]}],
            "consistent": False,
        }
    ]
    assert listed["config"]["project"]["name"] == "Debugged"
    assert full["extensions"]["dynamodb"]["rounds"] == 2


async def test_debug_extensions_are_off_unless_asked_for_outside_the_embedded_store(
    client: GraphQLClient,
) -> None:
    body = await client.execute(CREATE_PROJECT, DEBUGGED)

    assert "extensions" not in body or "dynamodb" not in body["extensions"]


async def test_aliases_of_projects_read_each_table_once(debug_client: GraphQLClient) -> None:
    project_id = (await debug_client.data(CREATE_PROJECT, DEBUGGED))["createProject"]["id"]
    aliased = " ".join(
        f"{alias}: projects {{ agents {{ id }} deployments {{ id }} }}"
        f" {alias}One: project(id: $p) {{ tools {{ id }} }}"
        for alias in ("a", "b", "c")
    )

    body = await debug_client.execute(f"query($p: ID!) {{ {aliased} }}", {"p": project_id})

    assert "errors" not in body
    calls = body["extensions"]["dynamodb"]["calls"]
    # The projects and the first page of agents for the listings, the project for project(id);
    # the project lists no agent, tool or deployment, so none is read by id.
    assert sorted(call.split(" ")[0] for call in calls) == ["BatchGetItem", "Query", "Query"]
    assert body["extensions"]["dynamodb"]["rounds"] == 1


async def test_each_call_names_the_keys_it_read(debug_client: GraphQLClient) -> None:
    """bench/reads.py bills each call by the items it names: a Query by its partition and
    start key, a get by its keys."""
    project_id = (await debug_client.data(CREATE_PROJECT, DEBUGGED))["createProject"]["id"]

    body = await debug_client.execute(
        "query($p: ID!) { project(id: $p) { name } projects { agents { id } } }", {"p": project_id}
    )

    reads = body["extensions"]["dynamodb"]["reads"]
    by_table = {read["table"].rsplit("-", 1)[-1]: read for read in reads}
    assert by_table["projects"]["operation"] in ("BatchGetItem", "Query")
    (get,) = [read for read in reads if read["operation"] == "BatchGetItem"]
    assert get["table"].endswith("projects")
    assert get["keys"] == [{"userId": "debug-user", "projectId": project_id}]
    agents = by_table["agents"]
    assert agents["operation"] == "Query"
    assert agents["key"] == {":user": "debug-user"}
    assert agents["start"] is None
    assert agents["consistent"] is False
