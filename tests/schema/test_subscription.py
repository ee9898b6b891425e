"""`deploymentUpdated` over a real WebSocket (graphql-transport-ws) against uvicorn."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.settings import Settings
from server.store import Store
from server.store.tables import TableNames
from tests.conftest import GraphQLClient
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    UPDATE_DEPLOYMENT_STATUS,
    UPDATE_PROJECT,
)
from tests.servers import GRAPHQL_TRANSPORT_WS, LEGACY_GRAPHQL_WS, serving

SUBSCRIBE = """
subscription Watch($id: ID!) { deploymentUpdated(id: $id) { id status error logs } }
"""
LIVE = {"input": {"name": "Live"}}
WAIT = 10  # seconds for any one message: a bound, not a pause


@pytest.fixture(scope="module")
def base(dynamodb_endpoint: str, settings: Settings, store: Store) -> Iterator[str]:
    """A uvicorn server on the tests' DynamoDB, so HTTP and WebSocket share its data."""
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
    ) as (url, _):
        yield url


async def graphql(base: str, query: str, variables: dict[str, Any], **headers: str) -> Any:
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def new_deployment(base: str, user: str) -> str:
    project = (await graphql(base, CREATE_PROJECT, LIVE, **{"X-Dev-User": user}))["createProject"]
    created = await graphql(
        base, CREATE_DEPLOYMENT, {"projectId": project["id"]}, **{"X-Dev-User": user}
    )
    deployment_id: str = created["createDeployment"]["id"]
    return deployment_id


async def move(base: str, user: str, deployment_id: str, status: str, logs: list[str]) -> None:
    variables = {"userId": user, "id": deployment_id, "status": status, "appendLogs": logs}
    admin = {"X-Dev-User": "release-bot", "X-Dev-Groups": "admin"}
    await graphql(base, UPDATE_DEPLOYMENT_STATUS, variables, **admin)


@pytest.fixture
async def socket(base: str) -> AsyncIterator[ClientConnection]:
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as websocket:
        yield websocket


async def init(socket: ClientConnection, user: str) -> dict[str, Any]:
    await socket.send(json.dumps({"type": "connection_init", "payload": {"X-Dev-User": user}}))
    return await receive(socket)


async def subscribe(socket: ClientConnection, deployment_id: str) -> None:
    payload = {"query": SUBSCRIBE, "variables": {"id": deployment_id}}
    await socket.send(json.dumps({"id": "watch", "type": "subscribe", "payload": payload}))


async def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return message


async def test_a_deployment_is_followed_to_completion(base: str, socket: ClientConnection) -> None:
    user = f"watcher-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    assert (await init(socket, user))["type"] == "connection_ack"

    await subscribe(socket, deployment_id)
    first = await receive(socket)
    await move(base, user, deployment_id, "DEPLOYING", ["building agents"])
    second = await receive(socket)
    await move(base, user, deployment_id, "SUCCESS", ["all agents live"])
    third = await receive(socket)
    done = await receive(socket)

    statuses = [m["payload"]["data"]["deploymentUpdated"]["status"] for m in (first, second, third)]
    assert statuses == ["PENDING", "DEPLOYING", "SUCCESS"]
    logs = third["payload"]["data"]["deploymentUpdated"]["logs"]
    texts = [line.split(" ", 1)[1] for line in logs]  # each line starts with its timestamp
    assert texts.index("building agents") < texts.index("all agents live")
    assert done == {"id": "watch", "type": "complete"}


async def test_a_cancelled_deployment_ends_the_subscription_with_failed(
    base: str, socket: ClientConnection
) -> None:
    user = f"canceller-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    await init(socket, user)
    await subscribe(socket, deployment_id)
    await receive(socket)

    await graphql(base, CANCEL_DEPLOYMENT, {"id": deployment_id}, **{"X-Dev-User": user})
    last = await receive(socket)
    done = await receive(socket)

    assert last["payload"]["data"]["deploymentUpdated"]["status"] == "FAILED"
    assert last["payload"]["data"]["deploymentUpdated"]["error"] == "cancelled"
    assert done["type"] == "complete"


async def test_another_users_deployment_is_not_found(base: str, socket: ClientConnection) -> None:
    deployment_id = await new_deployment(base, f"owner-{uuid.uuid4().hex[:8]}")
    await init(socket, f"snoop-{uuid.uuid4().hex[:8]}")

    await subscribe(socket, deployment_id)
    answer = await receive(socket)

    assert answer["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["NOT_FOUND"]
    assert (await receive(socket))["type"] == "complete"


async def test_a_malformed_identity_is_refused_at_connection(socket: ClientConnection) -> None:
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"X-Dev-User": "not a valid id!"}})
    )

    await asyncio.wait_for(socket.wait_closed(), WAIT)

    assert socket.close_code == 4403


@pytest.fixture(scope="module")
async def worker_tables(settings: Settings, store: Store) -> str:
    """Tables of their own: the worker recovers every PENDING deployment it finds at start,
    and the shared tables hold many that other tests left PENDING on purpose."""
    prefix = f"{settings.table_prefix}worker-"
    own = Store.on(store.client, TableNames.with_prefix(prefix))
    await own.create_tables()
    await own.seed_builtin_tools()
    return prefix


@pytest.fixture(scope="module")
def deploying_base(dynamodb_endpoint: str, worker_tables: str) -> Iterator[str]:
    """A server whose own worker deploys every new deployment (DEPLOYER=validate)."""
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=worker_tables,
        DEPLOYER="validate",
    ) as (url, _):
        yield url


DEPLOYABLE = """
mutation($p: ID!) {
  setMainConfig(projectId: $p, input: {name: "Main", systemPrompt: "Route.",
    model: {region: "us-east-1", modelId: "m"}}) { id }
  createAgent(projectId: $p, input: {name: "Helper", systemPrompt: "Help.",
    model: {region: "us-east-1", modelId: "m"}}) { id }
}
"""


async def deployable(base: str, user: str) -> str:
    headers = {"X-Dev-User": user}
    project = (await graphql(base, CREATE_PROJECT, LIVE, **headers))["createProject"]["id"]
    await graphql(base, DEPLOYABLE, {"p": project}, **headers)
    return str(project)


def follow(messages: list[dict[str, Any]], next_type: str) -> list[str]:
    return [
        m["payload"]["data"]["deploymentUpdated"]["status"]
        for m in messages
        if m["type"] == next_type
    ]


async def test_the_worker_is_followed_to_success_over_graphql_transport_ws(
    deploying_base: str,
) -> None:
    user = f"auto-{uuid.uuid4().hex[:8]}"
    project_id = await deployable(deploying_base, user)
    url = deploying_base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as websocket:
        await init(websocket, user)
        created = await graphql(
            deploying_base, CREATE_DEPLOYMENT, {"projectId": project_id}, **{"X-Dev-User": user}
        )
        await subscribe(websocket, created["createDeployment"]["id"])
        messages = [await receive(websocket)]
        while messages[-1]["type"] != "complete":
            messages.append(await receive(websocket))

    statuses = follow(messages, "next")
    assert statuses[-1] == "SUCCESS"
    assert set(statuses) <= {"PENDING", "DEPLOYING", "SUCCESS"}
    last = messages[-2]["payload"]["data"]["deploymentUpdated"]
    assert any("every agent's tools" in line for line in last["logs"])


async def test_the_worker_is_followed_to_success_over_legacy_graphql_ws(
    deploying_base: str,
) -> None:
    user = f"legacy-{uuid.uuid4().hex[:8]}"
    project_id = await deployable(deploying_base, user)
    url = deploying_base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=LEGACY_GRAPHQL_WS) as websocket:
        await websocket.send(
            json.dumps({"type": "connection_init", "payload": {"X-Dev-User": user}})
        )
        ack = await receive(websocket)
        created = await graphql(
            deploying_base, CREATE_DEPLOYMENT, {"projectId": project_id}, **{"X-Dev-User": user}
        )
        payload = {"query": SUBSCRIBE, "variables": {"id": created["createDeployment"]["id"]}}
        await websocket.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
        messages = [await receive(websocket)]
        while messages[-1]["type"] != "complete":
            messages.append(await receive(websocket))

    assert ack["type"] == "connection_ack"
    statuses = follow(messages, "data")
    assert statuses[-1] == "SUCCESS"


async def test_a_legacy_connection_without_connection_init_gets_nothing(base: str) -> None:
    user = f"rude-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=LEGACY_GRAPHQL_WS) as websocket:
        payload = {"query": SUBSCRIBE, "variables": {"id": deployment_id}}
        await websocket.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
        await asyncio.wait_for(websocket.wait_closed(), WAIT)

    assert websocket.close_code == 4401


async def test_a_change_made_by_another_instance_reaches_the_subscription(
    base: str, socket: ClientConnection, client: GraphQLClient, user_id: str
) -> None:
    deployment_id = await new_deployment(base, user_id)
    await init(socket, user_id)
    await subscribe(socket, deployment_id)
    await receive(socket)

    # `client` talks to this test process's own app: another instance on the same tables.
    await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})
    seen = await receive(socket)

    assert seen["payload"]["data"]["deploymentUpdated"]["status"] == "FAILED"
    assert (await receive(socket))["type"] == "complete"


async def test_each_query_over_a_websocket_reads_afresh(
    base: str, socket: ClientConnection
) -> None:
    user = f"reader-{uuid.uuid4().hex[:8]}"
    headers = {"X-Dev-User": user}
    project_id = (await graphql(base, CREATE_PROJECT, LIVE, **headers))["createProject"]["id"]
    read = {
        "query": "query($id: ID!) { project(id: $id) { name } }",
        "variables": {"id": project_id},
    }
    rename = {"id": project_id, "input": {"name": "Renamed"}}
    await init(socket, user)

    await socket.send(json.dumps({"id": "a", "type": "subscribe", "payload": read}))
    before = await receive(socket)
    await receive(socket)  # complete
    await graphql(base, UPDATE_PROJECT, rename, **headers)
    await socket.send(json.dumps({"id": "b", "type": "subscribe", "payload": read}))
    after = await receive(socket)

    assert before["payload"]["data"]["project"]["name"] == "Live"
    assert after["payload"]["data"]["project"]["name"] == "Renamed"


async def test_a_subscription_over_the_cost_limit_is_refused_before_it_runs(
    base: str, socket: ClientConnection
) -> None:
    user = f"watcher-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    await init(socket, user)
    query = (
        "subscription($id: ID!) { deploymentUpdated(id: $id)"
        " { project { agents { tools { usedBy { tools { id } } } } } } }"
    )
    payload = {"query": query, "variables": {"id": deployment_id}}

    await socket.send(json.dumps({"id": "costly", "type": "subscribe", "payload": payload}))
    message = await receive(socket)

    assert message["type"] == "error"
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["message"].startswith("this operation may resolve up to 2,6")


async def test_a_subscription_deeper_than_10_levels_is_refused(
    base: str, socket: ClientConnection
) -> None:
    await init(socket, f"watcher-{uuid.uuid4().hex[:8]}")
    chain = "project { latestDeployment { " * 4 + "project { id }" + " } }" * 4
    payload = {"query": f'subscription {{ deploymentUpdated(id: "d") {{ {chain} }} }}'}

    await socket.send(json.dumps({"id": "deep", "type": "subscribe", "payload": payload}))
    message = await receive(socket)

    assert message["type"] == "error"
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "(it has 11)" in error["message"]
