"""The DynamoDB layer paginates, chunks batches and maps conditional failures."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from server.errors import ServiceUnavailable
from server.store import Store, dynamo
from server.store.dynamo import ConditionFailed, Dynamo, Expression
from server.store.instrument import track

BIG = "x" * 100_000  # ~100 KB per item: a query page stops at 1 MB


async def test_query_follows_pages_to_the_end(store: Store) -> None:
    user = f"pager-{uuid.uuid4().hex}"
    for start in range(0, 25, 5):  # small requests: aiohttp warns on bodies over 1 MiB
        await store.dynamo.batch_write(
            store.tables.agents,
            puts=[
                {"userId": user, "agentId": f"a{i:03d}", "blob": BIG}
                for i in range(start, start + 5)
            ],
        )

    items = [
        item
        async for item in store.dynamo.query(
            store.tables.agents,
            Expression("userId = :u", values={":u": user}),
            attributes=["agentId"],
        )
    ]

    assert [item["agentId"] for item in items] == [f"a{i:03d}" for i in range(25)]
    assert all(set(item) == {"agentId"} for item in items)


async def test_query_first_page_reads_one_page_and_tells_whether_there_is_more(
    store: Store,
) -> None:
    # Given a partition of 25 items of ~100 KB (more than 1 MB) and one of a single item
    big, small = f"pager-{uuid.uuid4().hex}", f"pager-{uuid.uuid4().hex}"
    for start in range(0, 25, 5):
        await store.dynamo.batch_write(
            store.tables.agents,
            puts=[
                {"userId": big, "agentId": f"a{i:03d}", "blob": BIG}
                for i in range(start, start + 5)
            ],
        )
    await store.dynamo.put_item(store.tables.agents, {"userId": small, "agentId": "a"})

    def of(user: str) -> Expression:
        return Expression("userId = :u", values={":u": user})

    # When the first page of each is read
    page, more = await store.dynamo.query_first_page(
        store.tables.agents, of(big), attributes=["agentId"]
    )
    whole, more_of_small = await store.dynamo.query_first_page(store.tables.agents, of(small))

    # Then the big one's page is its oldest items only, with more to come; the small one whole
    assert more
    assert 0 < len(page) < 25
    assert [item["agentId"] for item in page] == [f"a{i:03d}" for i in range(len(page))]
    assert whole == [{"userId": small, "agentId": "a"}]
    assert not more_of_small


async def test_batch_get_spans_more_than_100_keys_and_leaves_out_absent_ones(store: Store) -> None:
    user = f"batch-{uuid.uuid4().hex}"
    await store.dynamo.batch_write(
        store.tables.tools,
        puts=[{"userId": user, "toolId": f"t{i:03d}"} for i in range(130)],
    )
    keys = [{"userId": user, "toolId": f"t{i:03d}"} for i in range(140)]

    found = await store.dynamo.batch_get(store.tables.tools, keys)

    assert sorted(item["toolId"] for item in found) == [f"t{i:03d}" for i in range(130)]


async def test_batch_get_reads_its_chunks_in_one_round_and_asks_for_repeats_once(
    store: Store,
) -> None:
    user = f"parallel-{uuid.uuid4().hex}"
    await store.dynamo.batch_write(
        store.tables.tools, puts=[{"userId": user, "toolId": f"t{i:03d}"} for i in range(250)]
    )
    keys = [{"userId": user, "toolId": f"t{i:03d}"} for i in range(250)]

    with track() as tally:
        found = await store.dynamo.batch_get(store.tables.tools, keys + keys[:50])

    assert sorted(item["toolId"] for item in found) == [f"t{i:03d}" for i in range(250)]
    assert (tally.requests, tally.rounds) == (3, 1)


async def test_batch_get_reads_only_the_attributes_asked_for_across_chunks(store: Store) -> None:
    user = f"projected-{uuid.uuid4().hex}"
    await store.dynamo.batch_write(
        store.tables.tools,
        puts=[{"userId": user, "toolId": f"t{i:03d}", "config": BIG[:100]} for i in range(120)],
    )
    keys = [{"userId": user, "toolId": f"t{i:03d}"} for i in range(120)]

    found = await store.dynamo.batch_get(store.tables.tools, keys, attributes=["toolId"])

    assert sorted(item["toolId"] for item in found) == [f"t{i:03d}" for i in range(120)]
    assert all(set(item) == {"toolId"} for item in found)


async def test_batch_write_deletes_in_chunks(store: Store) -> None:
    user = f"wipe-{uuid.uuid4().hex}"
    keys = [{"userId": user, "envId": f"e{i:03d}"} for i in range(60)]
    await store.dynamo.batch_write(store.tables.environment, puts=keys)

    await store.dynamo.batch_write(store.tables.environment, deletes=keys)

    assert await store.dynamo.batch_get(store.tables.environment, keys) == []


async def test_a_failed_condition_reports_the_item_as_it_was(store: Store) -> None:
    key = {"userId": f"cond-{uuid.uuid4().hex}", "projectId": "p1"}
    await store.dynamo.put_item(store.tables.projects, {**key, "version": 3})

    with pytest.raises(ConditionFailed) as failure:
        await store.dynamo.update_item(
            store.tables.projects,
            key,
            Expression("SET #v = :next", {"#v": "version"}, {":next": 4}),
            condition=Expression("#v = :expected", {"#v": "version"}, {":expected": 2}),
        )

    assert failure.value.item == {**key, "version": 3}


async def test_a_failed_condition_on_a_missing_item_reports_none(store: Store) -> None:
    key = {"userId": f"gone-{uuid.uuid4().hex}", "projectId": "p1"}

    with pytest.raises(ConditionFailed) as failure:
        await store.dynamo.delete_item(
            store.tables.projects, key, condition=Expression("attribute_exists(projectId)")
        )

    assert failure.value.item is None


class HoldsBackKeys:
    """The real client, except that its first BatchGetItem leaves half its keys unprocessed,
    as DynamoDB does under load or past 16 MB."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.batch_calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    async def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.batch_calls += 1
        if self.batch_calls > 1:
            whole: dict[str, Any] = await self._client.batch_get_item(RequestItems=RequestItems)
            return whole
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        half = {table: {**request, "Keys": keys[: len(keys) // 2]}}
        response: dict[str, Any] = await self._client.batch_get_item(RequestItems=half)
        response["UnprocessedKeys"] = {table: {**request, "Keys": keys[len(keys) // 2 :]}}
        return response


async def test_unprocessed_keys_are_asked_for_again(store: Store) -> None:
    user = f"unprocessed-{uuid.uuid4().hex}"
    keys = [{"userId": user, "toolId": f"t{i}"} for i in range(10)]
    await store.dynamo.batch_write(store.tables.tools, puts=keys)
    client = HoldsBackKeys(store.client)

    found = await Dynamo(client).batch_get(store.tables.tools, keys)

    assert client.batch_calls == 2
    assert sorted(item["toolId"] for item in found) == sorted(key["toolId"] for key in keys)


async def test_unprocessed_keys_asked_for_again_keep_their_projection(store: Store) -> None:
    user = f"unprocessed-{uuid.uuid4().hex}"
    keys = [{"userId": user, "toolId": f"t{i}"} for i in range(10)]
    await store.dynamo.batch_write(store.tables.tools, puts=[{**k, "blob": "x"} for k in keys])
    client = HoldsBackKeys(store.client)

    found = await Dynamo(client).batch_get(store.tables.tools, keys, attributes=["toolId"])

    assert client.batch_calls == 2
    assert sorted(item["toolId"] for item in found) == sorted(key["toolId"] for key in keys)
    assert all(set(item) == {"toolId"} for item in found)


class ConflictingWrites:
    """The real client, except that its first `conflicts` UpdateItem calls are refused with
    `TransactionConflictException`, as DynamoDB refuses a single write to an item that a
    transaction in flight holds (which moto never does)."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self._conflicts = conflicts
        self.calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    async def update_item(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self._conflicts:
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}},
                "UpdateItem",
            )
        updated: dict[str, Any] = await self._client.update_item(**params)
        return updated


RENAME = Expression("SET #n = :n", {"#n": "name"}, {":n": "renamed"})


async def test_a_single_write_refused_for_a_transaction_in_flight_is_retried(store: Store) -> None:
    key = {"userId": f"busy-{uuid.uuid4().hex}", "projectId": "p1"}
    await store.dynamo.put_item(store.tables.projects, {**key, "name": "before"})
    client = ConflictingWrites(store.client, conflicts=2)

    updated = await Dynamo(client).update_item(store.tables.projects, key, RENAME)

    assert client.calls == 3
    assert updated == {**key, "name": "renamed"}


async def test_a_single_write_that_keeps_conflicting_is_service_unavailable(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo, "TRANSACTION_RETRIES", 3)
    key = {"userId": f"busy-{uuid.uuid4().hex}", "projectId": "p1"}
    await store.dynamo.put_item(store.tables.projects, {**key, "name": "before"})
    client = ConflictingWrites(store.client, conflicts=1_000)

    with pytest.raises(ServiceUnavailable):
        await Dynamo(client).update_item(store.tables.projects, key, RENAME)

    assert client.calls == 3
    assert await store.dynamo.get_item(store.tables.projects, key) == {**key, "name": "before"}
