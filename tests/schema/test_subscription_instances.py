"""`deploymentUpdated` across instances: a change made through one server reaches subscribers
on another, through the Deployments table's stream (`CHANGE_FEED=streams`) or, as the
fallback, by polling (`CHANGE_FEED=poll`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from server.settings import Settings
from server.store import Store
from tests.schema.test_subscription import init, move, new_deployment, receive, subscribe
from tests.servers import GRAPHQL_TRANSPORT_WS, serving


def instance(dynamodb_endpoint: str, settings: Settings, change_feed: str) -> Iterator[str]:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        CHANGE_FEED=change_feed,
    ) as (url, _):
        yield url


@pytest.fixture(scope="module")
def writer(dynamodb_endpoint: str, settings: Settings, store: Store) -> Iterator[str]:
    """The instance the changes go through."""
    yield from instance(dynamodb_endpoint, settings, "streams")


@pytest.fixture(scope="module", params=["streams", "poll"])
def watcher(
    request: pytest.FixtureRequest, dynamodb_endpoint: str, settings: Settings, store: Store
) -> Iterator[str]:
    """Another instance, where the subscriber is, learning of changes by `params`."""
    yield from instance(dynamodb_endpoint, settings, request.param)


async def test_changes_made_through_one_instance_reach_a_subscriber_on_another_in_order(
    writer: str, watcher: str
) -> None:
    # Given a subscriber on one instance to a deployment
    user = f"across-{uuid.uuid4().hex[:8]}"
    deployment_id = await new_deployment(writer, user)
    url = watcher.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as socket:
        await init(socket, user)
        await subscribe(socket, deployment_id)
        first = await receive(socket)

        # When another instance moves it, step by step
        events = [first]
        for step in range(3):
            await move(writer, user, deployment_id, "DEPLOYING", [f"step {step}"])
            events.append(await receive(socket))
        await move(writer, user, deployment_id, "SUCCESS", ["live"])
        events.append(await receive(socket))
        done = await receive(socket)

    # Then every change arrives, once each and in order, and the subscription completes
    shown = [event["payload"]["data"]["deploymentUpdated"] for event in events]
    assert [d["status"] for d in shown] == ["PENDING"] + ["DEPLOYING"] * 3 + ["SUCCESS"]
    lines = [[line.split(" ", 1)[1] for line in d["logs"]] for d in shown]  # after the time
    for index, line in enumerate(["step 0", "step 1", "step 2", "live"], start=1):
        assert line in lines[index]
        assert line not in lines[index - 1]
    assert done == {"id": "watch", "type": "complete"}
    assert len({json.dumps(d, sort_keys=True) for d in shown}) == len(shown)
