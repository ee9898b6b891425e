"""WebSockets at the edge, against a real server: messages bounded like bodies, upgrades
checked for Host and Origin (browsers apply no CORS to them), and nothing secret logged."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from socket import create_connection
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.typing import Origin

from server.limits import MAX_WEBSOCKET_MESSAGE_BYTES
from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT, SET_ENV_VAR
from tests.servers import GRAPHQL_TRANSPORT_WS, serving

WAIT = 10  # seconds for any one message: a bound, not a pause


@pytest.fixture(scope="module")
def ws_url() -> Iterator[str]:
    with serving() as (base, _):
        yield base.replace("http://", "ws://") + "/graphql"


async def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return message


async def init(socket: ClientConnection, **payload: str) -> dict[str, Any]:
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    return await receive(socket)


async def test_a_message_over_1_mib_closes_the_socket_with_1009(ws_url: str) -> None:
    async with connect(ws_url, subprotocols=GRAPHQL_TRANSPORT_WS, max_size=None) as socket:
        await init(socket)
        await socket.send("x" * (MAX_WEBSOCKET_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(socket.recv(), WAIT)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_a_message_just_under_1_mib_is_read(ws_url: str) -> None:
    ping = {"type": "ping", "payload": {"padding": "x" * (MAX_WEBSOCKET_MESSAGE_BYTES - 100)}}
    async with connect(ws_url, subprotocols=GRAPHQL_TRANSPORT_WS) as socket:
        await init(socket)
        await socket.send(json.dumps(ping))
        pong = await receive(socket)

    assert pong["type"] == "pong"


async def test_an_upgrade_from_a_foreign_origin_is_refused(ws_url: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            ws_url, subprotocols=GRAPHQL_TRANSPORT_WS, origin=Origin("https://evil.example")
        ):
            pass

    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin", [None, Origin("http://localhost:3000"), Origin("http://127.0.0.1:8000")]
)
async def test_loopback_pages_and_non_browser_clients_may_open_a_socket_in_dev_mode(
    ws_url: str, origin: Origin | None
) -> None:
    async with connect(ws_url, subprotocols=GRAPHQL_TRANSPORT_WS, origin=origin) as socket:
        acked = await init(socket, **{"X-Dev-User": "socket-user"})

    assert acked["type"] == "connection_ack"


async def test_an_upgrade_naming_a_foreign_host_is_refused(ws_url: str) -> None:
    # DNS rebinding: a page on rebound.example, whose name now resolves to the loopback
    # address, opens a socket to its own origin (so it is same-origin by Origin and Host).
    host, port = ws_url.removeprefix("ws://").split("/")[0].split(":")
    with create_connection((host, int(port))) as sock:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"ws://rebound.example:{port}/graphql",
                sock=sock,
                subprotocols=GRAPHQL_TRANSPORT_WS,
                origin=Origin(f"http://rebound.example:{port}"),
            ):
                pass

    assert refused.value.response.status_code == 403


WATCH = "subscription($id: ID!) { deploymentUpdated(id: $id) { id config } }"


async def operation(
    socket: ClientConnection, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """Runs one operation over the socket; returns its first result's data."""
    op = uuid.uuid4().hex[:6]
    payload = {"query": query, "variables": variables}
    await socket.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    message = await receive(socket)
    while message["type"] == "complete":  # of the operation before
        message = await receive(socket)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    data: dict[str, Any] = message["payload"]["data"]
    return data


async def a_session_with_secrets(url: str, token: str, secret: str, value: str) -> None:
    """Authorization on the upgrade and in `connection_init`, a secret env var set over the
    socket, a deployment whose config carries an env var value to the client."""
    async with connect(
        url,
        subprotocols=GRAPHQL_TRANSPORT_WS,
        additional_headers={"Authorization": f"Bearer {token}"},
    ) as socket:
        await init(socket, Authorization=f"Bearer {token}", **{"X-Dev-User": "logged"})
        created = await operation(socket, CREATE_PROJECT, {"input": {"name": "L"}})
        project = created["createProject"]["id"]
        for env_var in (
            {"key": "K", "value": secret, "secret": True},
            {"key": "PLAIN", "value": value, "secret": False},
        ):
            await operation(socket, SET_ENV_VAR, {"projectId": project, "input": env_var})
        deployed = await operation(socket, CREATE_DEPLOYMENT, {"projectId": project})
        deployment = deployed["createDeployment"]["id"]
        watched = await operation(socket, WATCH, {"id": deployment})
        assert value in json.dumps(watched)  # the value did travel in a frame
        await socket.send("x" * (MAX_WEBSOCKET_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(socket.recv(), WAIT)


async def test_a_websocket_session_at_debug_level_logs_no_secret_token_or_header() -> None:
    # Short, so that even a frame logged in part would show them whole.
    token, secret, value = (f"{kind}{uuid.uuid4().hex[:10]}" for kind in ("t-", "s-", "v-"))
    with serving(log_level="debug") as (base, process):
        await a_session_with_secrets(base.replace("http", "ws") + "/graphql", token, secret, value)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert process.stdout is not None
        log = process.stdout.read()

    assert "DEBUG server" in log or "DEBUG" not in log  # only the server's own DEBUG lines
    assert "DEBUG uvicorn" not in log
    assert "DEBUG websockets" not in log
    for leak in (token, secret, value, "Authorization", "authorization"):
        assert leak not in log
    assert "Traceback" not in log


async def test_the_trailing_slash_path_speaks_graphql_over_websocket_like_graphql(
    ws_url: str,
) -> None:
    query = {"query": "{ viewer { userId } }"}
    async with connect(ws_url + "/", subprotocols=GRAPHQL_TRANSPORT_WS) as socket:
        ack = await init(socket, **{"X-Dev-User": "slash-user"})
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        answer = await receive(socket)

    assert ack["type"] == "connection_ack"
    assert (answer["id"], answer["type"]) == ("1", "next")
    assert answer["payload"]["data"] == {"viewer": {"userId": "slash-user"}}


@pytest.mark.parametrize(
    ("document", "operation_name", "says"),
    [
        (
            "query A { viewer { userId } } query B { viewer { isAdmin } }",
            None,
            "2 operations (A, B)",
        ),
        ("query A { viewer { userId } }", "B", 'Unknown operation named "B"'),
    ],
)
async def test_an_operation_that_cannot_be_chosen_closes_the_websocket_with_4400_saying_why(
    ws_url: str, document: str, operation_name: str | None, says: str
) -> None:
    payload = {"query": document, "operationName": operation_name}
    async with connect(ws_url, subprotocols=GRAPHQL_TRANSPORT_WS) as socket:
        await init(socket)
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        with pytest.raises(ConnectionClosedError) as closed:
            await receive(socket)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert says in closed.value.rcvd.reason
