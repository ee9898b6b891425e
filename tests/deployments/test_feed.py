"""The change feed: writes made through another app instance reach the watchers from the
Deployments table's stream (moto's, over HTTP), in order and none missed, across an expired
iterator and an outage of the stream, with a re-read whenever records may have been missed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from starlette.types import ASGIApp

from server.deployments.feed import ChangeFeed, FeedTiming
from server.models import Deployment, DeploymentStatus
from server.store import Store
from server.store.client import ClientOptions
from server.store.streams import open_streams_client
from tests.conftest import GraphQLClient
from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT, UPDATE_DEPLOYMENT_STATUS
from tests.store.intercept import intercepting

WAIT = 10.0  # the most any wait below may take before the test fails
# No waiting between polls beyond a blink, nor before retrying: nothing here waits on a clock.
QUICK = FeedTiming(idle_seconds=0.02, retry_first_seconds=0.02, retry_most_seconds=0.05)
EXPIRED = "ExpiredIteratorException"
UNAVAILABLE = "InternalServerError"
# Recorded shards' ids (DynamoDB's are 28 characters at least).
OLD, OPEN, CHILD = (f"shardId-00000001700000000000-{name}" for name in ("0ld0", "0pen", "ch1d"))


class Watched:
    """A stand-in for `Watchers`: records what the feed tells, and lets a test wait on it."""

    def __init__(self) -> None:
        self.images: list[Deployment] = []
        self.resyncs = 0
        self._told = asyncio.Condition()

    def changed(self, deployment: Deployment) -> None:
        self.images.append(deployment)
        self._tell()

    def resync(self) -> None:
        self.resyncs += 1
        self._tell()

    def of(self, deployment_id: str) -> list[Deployment]:
        return [image for image in self.images if image.deployment_id == deployment_id]

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT), self._told:
            await self._told.wait_for(condition)

    def _tell(self) -> None:
        async def notify() -> None:
            async with self._told:
                self._told.notify_all()

        asyncio.get_running_loop().create_task(notify())


class Faults:
    """The error codes an intercepted operation answers: the next queued one, or every call
    while `down`; None (forwarded) otherwise."""

    def __init__(self) -> None:
        self.queued: list[str] = []
        self.down = False
        self._answered = asyncio.Event()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.queued:
            self._answered.set()
            return self.queued.pop(0)
        if self.down:
            self._answered.set()
            return UNAVAILABLE
        raise StopIteration

    def fail_next(self, code: str) -> None:
        self._answered.clear()
        self.queued.append(code)

    async def answered(self) -> None:
        """Until a call was answered with an error (since `fail_next`, or this was called)."""
        async with asyncio.timeout(WAIT):
            await self._answered.wait()
        self._answered.clear()


@asynccontextmanager
async def following(store: Store, watched: Watched) -> AsyncIterator[None]:
    """The feed running on `store` until the block ends, its iterators placed (it told the
    watchers to re-read once, at start)."""
    task = asyncio.create_task(ChangeFeed(store, watched, timing=QUICK).run())
    try:
        await watched.until(lambda: watched.resyncs >= 1 or task.done())
        assert not task.done(), task
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def through(endpoint: str, store: Store, faults: Faults) -> AsyncIterator[Store]:
    """`store`, its DynamoDB Streams calls going through an endpoint that answers GetRecords
    with `faults`' errors (one attempt a call: the feed's own retries are under test)."""
    async with (
        intercepting(endpoint, "GetRecords", faults) as interception,
        open_streams_client(
            ClientOptions(region="us-east-1", endpoint_url=interception.url, max_attempts=1)
        ) as streams,
    ):
        yield Store.on(store.client, store.tables, streams_client=streams)


@pytest.fixture
async def owner(app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, user_id) as client:
        yield client


@pytest.fixture
async def pipeline(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, f"pipeline-{uuid.uuid4().hex[:8]}", "admin") as c:
        yield c


async def new_deployment(owner: GraphQLClient) -> str:
    created = await owner.data(CREATE_PROJECT, {"input": {"name": "Fed"}})
    deployment = await owner.data(CREATE_DEPLOYMENT, {"projectId": created["createProject"]["id"]})
    deployment_id: str = deployment["createDeployment"]["id"]
    return deployment_id


async def move(
    pipeline: GraphQLClient, user_id: str, deployment_id: str, status: str, line: str
) -> None:
    await pipeline.data(
        UPDATE_DEPLOYMENT_STATUS,
        {"userId": user_id, "id": deployment_id, "status": status, "appendLogs": [line]},
    )


def versions(images: list[Deployment]) -> list[int]:
    return [image.version for image in images]


async def test_every_change_written_through_another_instance_reaches_the_watchers_in_order(
    store: Store, owner: GraphQLClient, pipeline: GraphQLClient, user_id: str
) -> None:
    watched = Watched()
    async with following(store, watched):
        # Given a deployment made through the app (another instance than the feed's)
        deployment_id = await new_deployment(owner)

        # When a pipeline moves it in several changes in a row
        await move(pipeline, user_id, deployment_id, "DEPLOYING", "building")
        for step in range(5):
            await move(pipeline, user_id, deployment_id, "DEPLOYING", f"step {step}")
        await move(pipeline, user_id, deployment_id, "SUCCESS", "live")

        # Then each new image arrives, in the order written, none missed nor repeated
        await watched.until(lambda: DeploymentStatus.SUCCESS in statuses(watched, deployment_id))
    images = watched.of(deployment_id)
    assert versions(images) == list(range(1, 9))
    assert [image.status for image in images] == [
        DeploymentStatus.PENDING,
        *[DeploymentStatus.DEPLOYING] * 6,
        DeploymentStatus.SUCCESS,
    ]
    assert any(line.endswith("live") for line in images[-1].logs or [])
    assert all(image.user_id == user_id for image in images)
    assert watched.resyncs == 1  # at start only: no gap since


def statuses(watched: Watched, deployment_id: str) -> list[DeploymentStatus]:
    return [image.status for image in watched.of(deployment_id)]


async def test_the_feed_starts_after_what_was_written_before_and_has_the_watchers_re_read(
    store: Store, owner: GraphQLClient, pipeline: GraphQLClient, user_id: str
) -> None:
    # Given a deployment written before the feed starts
    earlier = await new_deployment(owner)
    watched = Watched()

    async with following(store, watched):
        # When it changes once the feed runs
        await move(pipeline, user_id, earlier, "DEPLOYING", "later")
        await watched.until(lambda: bool(watched.of(earlier)))

    # Then the feed began at the stream's latest record (what came before, the re-read covers)
    assert versions(watched.of(earlier)) == [2]
    assert watched.resyncs == 1


async def test_an_expired_iterator_is_resumed_right_after_the_last_record_read(
    dynamodb_endpoint: str,
    store: Store,
    owner: GraphQLClient,
    pipeline: GraphQLClient,
    user_id: str,
) -> None:
    faults = Faults()
    watched = Watched()
    async with through(dynamodb_endpoint, store, faults) as fed, following(fed, watched):
        deployment_id = await new_deployment(owner)
        await watched.until(lambda: bool(watched.of(deployment_id)))

        # Given the shard's iterator expiring (as after 15 minutes) once a record was read
        faults.fail_next(EXPIRED)
        await faults.answered()

        # When more changes come
        await move(pipeline, user_id, deployment_id, "DEPLOYING", "one")
        await move(pipeline, user_id, deployment_id, "DEPLOYING", "two")
        await watched.until(lambda: versions(watched.of(deployment_id))[-1:] == [3])

    # Then the feed read on after the last record: nothing missed, nothing twice, no re-read
    assert versions(watched.of(deployment_id)) == [1, 2, 3]
    assert watched.resyncs == 1


async def test_an_iterator_expiring_before_any_record_was_read_makes_the_watchers_re_read(
    dynamodb_endpoint: str, store: Store
) -> None:
    # Given a feed whose shard iterator, from the latest record, expires before any record
    faults = Faults()
    watched = Watched()
    async with through(dynamodb_endpoint, store, faults) as fed, following(fed, watched):
        faults.fail_next(EXPIRED)

        # Then it cannot resume at an exact record: it starts again from the latest, and
        # the watchers re-read what may have come meanwhile
        await watched.until(lambda: watched.resyncs == 2)
    assert not faults.queued


async def test_a_stream_briefly_unreachable_loses_no_change_and_the_watchers_re_read(
    dynamodb_endpoint: str,
    store: Store,
    owner: GraphQLClient,
    pipeline: GraphQLClient,
    user_id: str,
) -> None:
    faults = Faults()
    watched = Watched()
    async with through(dynamodb_endpoint, store, faults) as fed, following(fed, watched):
        deployment_id = await new_deployment(owner)
        await watched.until(lambda: bool(watched.of(deployment_id)))

        # Given the stream failing every read for a while, and changes made meanwhile
        faults.down = True
        await faults.answered()
        await move(pipeline, user_id, deployment_id, "DEPLOYING", "during")
        await move(pipeline, user_id, deployment_id, "SUCCESS", "done")
        await faults.answered()  # a read after the changes failed too: none arrived
        assert versions(watched.of(deployment_id)) == [1]

        # When it answers again
        faults.down = False

        # Then the changes made during the outage all arrive, in order, and the watchers
        # were told to re-read when the feed resumed
        await watched.until(lambda: versions(watched.of(deployment_id))[-1:] == [3])
    assert versions(watched.of(deployment_id)) == [1, 2, 3]
    assert watched.resyncs == 2


class RecordedStream:
    """A DynamoDB Streams endpoint answering from recorded shards, as DynamoDB does across a
    resharding (moto's streams have one shard that never closes): DescribeStream a shard a
    page, iterators naming a shard and a position, records after it, a closed shard's end."""

    def __init__(self) -> None:
        self.shards: list[dict[str, Any]] = []
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.asked: list[tuple[str, str]] = []  # GetShardIterator's (shard, type), in order

    def add_shard(self, shard_id: str, parent_id: str | None = None) -> None:
        shard: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {}}
        if parent_id is not None:
            shard["ParentShardId"] = parent_id
        self.shards.append(shard)
        self.records[shard_id] = []

    def close(self, shard_id: str) -> None:
        shard = next(shard for shard in self.shards if shard["ShardId"] == shard_id)
        shard["SequenceNumberRange"]["EndingSequenceNumber"] = "999"

    def write(self, shard_id: str, image: dict[str, Any], sequence_number: int) -> None:
        change = {"SequenceNumber": str(sequence_number), "NewImage": image}
        self.records[shard_id].append({"eventName": "MODIFY", "dynamodb": change})

    def answer(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        if operation == "DescribeStream":
            ids = [shard["ShardId"] for shard in self.shards]
            start = body.get("ExclusiveStartShardId")
            at = ids.index(start) + 1 if start else 0
            page = self.shards[at : at + 1]
            last = {"LastEvaluatedShardId": ids[at]} if at + 1 < len(ids) else {}
            return {"StreamDescription": {"Shards": page, **last}}
        if operation == "GetShardIterator":
            shard_id, kind = body["ShardId"], body["ShardIteratorType"]
            self.asked.append((shard_id, kind))
            after = {
                "TRIM_HORIZON": 0,
                "LATEST": max(
                    (int(r["dynamodb"]["SequenceNumber"]) for r in self.records[shard_id]),
                    default=0,
                ),
                "AFTER_SEQUENCE_NUMBER": int(body.get("SequenceNumber", 0)),
            }[kind]
            return {"ShardIterator": f"{shard_id}|{after}"}
        shard_id, after = body["ShardIterator"].split("|")
        records = [
            record
            for record in self.records[shard_id]
            if int(record["dynamodb"]["SequenceNumber"]) > int(after)
        ]
        last_read = int(records[-1]["dynamodb"]["SequenceNumber"]) if records else int(after)
        shard = next(shard for shard in self.shards if shard["ShardId"] == shard_id)
        ended = "EndingSequenceNumber" in shard["SequenceNumberRange"] and not records
        return {
            "Records": records,
            **({} if ended else {"NextShardIterator": f"{shard_id}|{last_read}"}),
        }


@asynccontextmanager
async def recorded(store: Store, stream: RecordedStream) -> AsyncIterator[Store]:
    async def handle(request: web.Request) -> web.Response:
        operation = request.headers["X-Amz-Target"].rpartition(".")[2]
        answer = stream.answer(operation, json.loads(await request.read()))
        return web.Response(body=json.dumps(answer), content_type="application/x-amz-json-1.0")

    application = web.Application()
    application.router.add_post("/", handle)
    runner = web.AppRunner(application)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        options = ClientOptions(region="us-east-1", endpoint_url=f"http://{host}:{port}")
        async with open_streams_client(options) as streams:
            yield Store.on(store.client, store.tables, streams_client=streams)
    finally:
        await runner.cleanup()


async def test_after_a_resharding_the_child_shard_is_read_from_its_start_once_its_parent_ends(
    store: Store, owner: GraphQLClient, user_id: str
) -> None:
    deployment_id = await new_deployment(owner)
    key = {"userId": {"S": user_id}, "deploymentId": {"S": deployment_id}}
    image = (await store.client.get_item(TableName=store.tables.deployments, Key=key))["Item"]
    stream = RecordedStream()
    stream.add_shard(OLD)
    stream.add_shard(OPEN)
    stream.close(OLD)
    watched = Watched()
    async with recorded(store, stream) as fed, following(fed, watched):
        # Given the feed reading the one open shard (the closed one is history)
        assert (OLD, "LATEST") not in stream.asked

        # When that shard takes a record, closes, and its child takes the next one
        stream.write(OPEN, {**image, "version": {"N": "2"}}, 10)
        stream.add_shard(CHILD, parent_id=OPEN)
        stream.write(CHILD, {**image, "version": {"N": "3"}}, 20)
        stream.close(OPEN)

        # Then both arrive in order: the child read from its first record, after its parent
        await watched.until(lambda: versions(watched.of(deployment_id)) == [2, 3])
    assert stream.asked[:1] == [(OPEN, "LATEST")]
    assert (CHILD, "TRIM_HORIZON") in stream.asked
    assert all(shard != OLD for shard, _ in stream.asked)
