"""The wire parser gives the same items as botocore's own parsing, errors included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from server.settings import Settings
from server.store import Store
from server.store.client import ClientOptions, open_client
from server.store.dynamo import ConditionFailed, Dynamo, Expression

ITEM = {
    "name": "every type",
    "count": 42,
    "ratio": 0.25,
    "on": True,
    "nothing": None,
    "list": [1, "two", [3], {"four": 4.5}],
    "map": {"nested": {"deeper": ["x"]}, "empty": {}},
    "empty": "",
}


@pytest.fixture
async def both(settings: Settings, store: Store) -> AsyncIterator[tuple[Dynamo, Dynamo]]:
    options = ClientOptions(region="us-east-1", endpoint_url=settings.dynamodb_endpoint_url)
    async with (
        open_client(options) as wire,
        open_client(
            ClientOptions(
                region="us-east-1", endpoint_url=settings.dynamodb_endpoint_url, wire_parser=False
            )
        ) as botocore,
    ):
        yield Dynamo(wire), Dynamo(botocore)


async def test_reads_give_the_same_items_either_way(
    both: tuple[Dynamo, Dynamo], store: Store
) -> None:
    wire, botocore = both
    user = f"wire-{uuid.uuid4().hex}"
    keys = [{"userId": user, "agentId": f"a{i}"} for i in range(3)]
    for key in keys:
        await wire.put_item(store.tables.agents, {**key, **ITEM})
    by_user = Expression("userId = :u", values={":u": user})

    for dynamo in (wire, botocore):
        got = await dynamo.get_item(store.tables.agents, keys[0], consistent=True)
        queried = [item async for item in dynamo.query(store.tables.agents, by_user)]
        batch = await dynamo.batch_get(store.tables.agents, keys)
        assert got == {**keys[0], **ITEM}
        assert queried == [{**key, **ITEM} for key in keys]
        assert sorted(batch, key=lambda item: item["agentId"]) == queried


async def test_failed_conditions_are_still_reported_with_the_item(
    both: tuple[Dynamo, Dynamo], store: Store
) -> None:
    wire, _ = both
    key = {"userId": f"wire-{uuid.uuid4().hex}", "projectId": "p"}
    await wire.put_item(store.tables.projects, {**key, "version": 2})

    with pytest.raises(ConditionFailed) as failure:
        await wire.put_item(
            store.tables.projects, key, condition=Expression("attribute_not_exists(projectId)")
        )

    assert failure.value.item == {**key, "version": 2}
