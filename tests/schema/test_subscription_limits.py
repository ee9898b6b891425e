"""Bounded subscribers over real WebSockets against uvicorn: the per-connection cap, counted
per socket, and a slow consumer (a client that stops reading) dropped with its socket closed
while the other subscribers of the deployment get every event."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.protocol import State
from websockets.uri import parse_uri

from server.settings import Settings
from server.store import Store
from tests.schema.test_subscription import SUBSCRIBE, WAIT, init, move, new_deployment, receive
from tests.servers import GRAPHQL_TRANSPORT_WS, serving

BUFFER = 16
# Each event carries the deployment's whole log: about 190 lines of 1,900 characters (near
# the 400 KB a deployment item holds), so a client that stops reading fills the socket's
# buffers (a few MB on loopback) within a few dozen events; the moves are more than that and
# the buffer, yet fewer than BURST_FACTOR times the buffer, so that the feed handing them all
# over at once drops only the client that stopped reading.
LINE = "x" * 1900
MOVES = 60


@pytest.fixture(scope="module")
def base(dynamodb_endpoint: str, settings: Settings, store: Store) -> Iterator[str]:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        SUBSCRIPTIONS_PER_CONNECTION="2",
        SUBSCRIPTION_BUFFER=str(BUFFER),
        SLOW_CONSUMER_SECONDS="1",
    ) as (url, _):
        yield url


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def subscribe(websocket: ClientConnection, operation_id: str, deployment_id: str) -> None:
    payload = {"query": SUBSCRIBE, "variables": {"id": deployment_id}}
    message = {"id": operation_id, "type": "subscribe", "payload": payload}
    await websocket.send(json.dumps(message))


async def complete(websocket: ClientConnection, operation_id: str) -> None:
    await websocket.send(json.dumps({"id": operation_id, "type": "complete"}))


def codes(message: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in message["payload"].get("errors", [])]


async def test_past_the_connection_cap_a_subscription_is_refused_and_a_freed_slot_is_reused(
    base: str,
) -> None:
    user = f"tabs-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    async with (
        connect(ws_url(base), subprotocols=GRAPHQL_TRANSPORT_WS) as first,
        connect(ws_url(base), subprotocols=GRAPHQL_TRANSPORT_WS) as second,
    ):
        await init(first, user)
        await init(second, user)
        for operation_id in ("a", "b"):
            await subscribe(first, operation_id, deployment_id)
            assert (await receive(first))["payload"]["data"]["deploymentUpdated"]
        await subscribe(first, "c", deployment_id)
        refused = await receive(first)
        refused_end = await receive(first)
        await subscribe(second, "a", deployment_id)  # another socket has slots of its own
        elsewhere = await receive(second)
        await complete(first, "a")
        await subscribe(first, "d", deployment_id)
        again = await receive(first)

    assert refused["id"] == "c"
    assert codes(refused) == ["QUOTA_EXCEEDED"]
    (error,) = refused["payload"]["errors"]
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "SUBSCRIPTIONS_PER_CONNECTION",
        "limit": 2,
    }
    assert "at most 2 subscriptions" in error["message"]
    assert refused_end == {"id": "c", "type": "complete"}
    assert elsewhere["payload"]["data"]["deploymentUpdated"]["id"] == deployment_id
    assert again["id"] == "d"
    assert again["payload"]["data"]["deploymentUpdated"]["id"] == deployment_id


def unread_subscriber(base: str, user: str, deployment_id: str) -> socket.socket:
    """A raw WebSocket client (websockets' sans-I/O protocol over a blocking socket) that
    subscribes, reads the first event, then never reads again."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    protocol = ClientProtocol(parse_uri(ws_url(base)), subprotocols=GRAPHQL_TRANSPORT_WS)
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    while protocol.state is not State.OPEN:
        protocol.receive_data(sock.recv(65536))
        protocol.events_received()
    payload = {"query": SUBSCRIBE, "variables": {"id": deployment_id}}
    for message in (
        {"type": "connection_init", "payload": {"X-Dev-User": user}},
        {"id": "watch", "type": "subscribe", "payload": payload},
    ):
        protocol.send_text(json.dumps(message).encode())
        sock.sendall(b"".join(protocol.data_to_send()))
    frames: list[Frame] = []
    while len(frames) < 2:  # the ack and the first event
        protocol.receive_data(sock.recv(65536))
        frames += [event for event in protocol.events_received() if isinstance(event, Frame)]
    return sock


def read_to_the_end(sock: socket.socket) -> int:
    """The bytes left, until the server ends the connection (EOF or a reset); a connection
    still open after `WAIT` s of silence fails the read with a timeout."""
    total = 0
    with suppress(ConnectionResetError):
        while data := sock.recv(1 << 20):
            total += len(data)
    return total


async def test_a_subscriber_that_stops_reading_is_dropped_and_the_others_get_every_event(
    base: str,
) -> None:
    user = f"slow-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(base, user)
    slow = await asyncio.to_thread(unread_subscriber, base, user, deployment_id)
    async with connect(ws_url(base), subprotocols=GRAPHQL_TRANSPORT_WS, max_size=2**24) as reader:
        await init(reader, user)
        await subscribe(reader, "watch", deployment_id)
        await receive(reader)
        await move(base, user, deployment_id, "DEPLOYING", [f"{n} {LINE}" for n in range(190)])
        for n in range(MOVES):
            await move(base, user, deployment_id, "DEPLOYING", [f"step {n}"])
        await move(base, user, deployment_id, "SUCCESS", ["done"])
        seen = [await receive(reader)]
        while seen[-1]["type"] != "complete":
            seen.append(await receive(reader))
    with slow:
        left = await asyncio.to_thread(read_to_the_end, slow)

    logs = [m["payload"]["data"]["deploymentUpdated"]["logs"] for m in seen[:-1]]
    assert len(logs) == MOVES + 2  # every change, once each, in order
    assert [log[-1].split(" ", 1)[1] for log in logs[1:-1]] == [f"step {n}" for n in range(MOVES)]
    # It was cut off: less than the events' bytes reached it.
    assert left < sum(len(json.dumps(m)) for m in seen)
