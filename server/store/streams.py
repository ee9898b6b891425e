"""The Deployments table's DynamoDB stream: the only code that talks to DynamoDB Streams.

The stream is the table's change log, one record per write, each holding the item as written
(`NEW_IMAGE`). It is split into shards: a shard is open while it takes records, closed
(`EndingSequenceNumber` set) once DynamoDB rolls it over or reshards, and its children take
its items' later records; records are kept 24 hours. This module answers what a reader needs,
in the reader's terms: the stream's shards, an iterator at a position in one, and a page of
records from an iterator, each record's image decoded into a `Deployment`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from server.models import Deployment
from server.store.client import ClientOptions, open_client
from server.store.codec import from_item

__all__ = [
    "LATEST",
    "TRIM_HORIZON",
    "DeploymentStream",
    "IteratorExpired",
    "Page",
    "Position",
    "Record",
    "Shard",
    "StreamGone",
    "StreamUnavailable",
    "TrimmedAway",
    "open_streams_client",
]

logger = logging.getLogger(__name__)

# The most records one GetRecords answers (DynamoDB's own limit).
RECORDS_PER_PAGE = 1000
# DescribeStream's page of shards (its limit is 100).
SHARDS_PER_PAGE = 100


class StreamUnavailable(Exception):
    """The stream could not be reached or answered an error (after the client's retries)."""


class StreamGone(StreamUnavailable):
    """The table has no stream, or the stream or shard asked for no longer exists."""


class IteratorExpired(Exception):
    """The shard iterator is older than 15 minutes; get a new one."""


class TrimmedAway(Exception):
    """The position asked for is past the 24 hours of records the stream keeps."""


@dataclass(frozen=True, kw_only=True)
class Shard:
    shard_id: str
    parent_id: str | None
    closed: bool  # it takes no more records; read to its end, its children follow on


@dataclass(frozen=True, kw_only=True)
class Position:
    """Where to start reading a shard: `kind` is a GetShardIterator type (`LATEST`,
    `TRIM_HORIZON`, `AFTER_SEQUENCE_NUMBER`), the latter after `sequence_number`."""

    kind: str
    sequence_number: str | None = None

    @classmethod
    def after(cls, sequence_number: str) -> Position:
        return cls(kind="AFTER_SEQUENCE_NUMBER", sequence_number=sequence_number)


LATEST = Position(kind="LATEST")
TRIM_HORIZON = Position(kind="TRIM_HORIZON")


@dataclass(frozen=True, kw_only=True)
class Record:
    sequence_number: str
    # The item as written; None for a removal or an image that is not a deployment.
    deployment: Deployment | None


@dataclass(frozen=True, kw_only=True)
class Page:
    records: list[Record]
    # None: the shard is closed and read to its end.
    next_iterator: str | None


def open_streams_client(options: ClientOptions) -> AbstractAsyncContextManager[Any]:
    """A `dynamodbstreams` client with the store's endpoint, credentials, timeouts and
    retries."""
    return open_client(options, service="dynamodbstreams")


class DeploymentStream:
    """The stream of the Deployments table `table`, read through `streams`; `dynamodb`
    (the store's client) finds the stream's ARN."""

    def __init__(self, dynamodb: Any, streams: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._client = streams
        self._table = table

    async def latest_arn(self) -> str:
        """The ARN of the table's current stream; `StreamGone` when it has none enabled."""
        with _unavailable_on_error():
            table = (await self._dynamodb.describe_table(TableName=self._table))["Table"]
        enabled = (table.get("StreamSpecification") or {}).get("StreamEnabled")
        arn: str | None = table.get("LatestStreamArn")
        if not enabled or arn is None:
            raise StreamGone(f"{self._table} has no stream: run create-tables to turn it on")
        return arn

    async def shards(self, arn: str) -> list[Shard]:
        """Every shard the stream keeps, parents before their children."""
        shards: list[Shard] = []
        start: dict[str, str] = {}
        while True:
            with _unavailable_on_error():
                answer = await self._client.describe_stream(
                    StreamArn=arn, Limit=SHARDS_PER_PAGE, **start
                )
            description = answer["StreamDescription"]
            shards.extend(_shard(shard) for shard in description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            start = {"ExclusiveStartShardId": last}

    async def iterator(self, arn: str, shard_id: str, position: Position) -> str:
        """An iterator at `position` of the shard; `TrimmedAway` if that is gone."""
        after = (
            {} if position.sequence_number is None else {"SequenceNumber": position.sequence_number}
        )
        with _unavailable_on_error():
            answer = await self._client.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType=position.kind, **after
            )
        iterator: str = answer["ShardIterator"]
        return iterator

    async def records(self, iterator: str) -> Page:
        """The next records from `iterator` (none, while the shard is quiet) and the
        iterator to read on from."""
        with _unavailable_on_error():
            answer = await self._client.get_records(ShardIterator=iterator, Limit=RECORDS_PER_PAGE)
        return Page(
            records=[_record(record) for record in answer.get("Records", [])],
            next_iterator=answer.get("NextShardIterator"),
        )


def _shard(shard: dict[str, Any]) -> Shard:
    return Shard(
        shard_id=shard["ShardId"],
        parent_id=shard.get("ParentShardId"),
        closed="EndingSequenceNumber" in shard.get("SequenceNumberRange", {}),
    )


def _record(record: dict[str, Any]) -> Record:
    change = record["dynamodb"]
    image = change.get("NewImage")
    deployment = None
    if image is not None:
        try:
            deployment = Deployment.model_validate(from_item(image))
        except (ValidationError, ValueError, TypeError) as error:
            logger.warning("a deployment stream record that is not a deployment: %s", error)
    return Record(sequence_number=change["SequenceNumber"], deployment=deployment)


@contextmanager
def _unavailable_on_error() -> Iterator[None]:
    """Turn the client's errors into this module's: an expired iterator, trimmed records,
    a stream or shard that is gone, or else the stream being unavailable."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ExpiredIteratorException":
            raise IteratorExpired(str(error)) from error
        if code == "TrimmedDataAccessException":
            raise TrimmedAway(str(error)) from error
        if code == "ResourceNotFoundException":
            raise StreamGone(str(error)) from error
        raise StreamUnavailable(str(error)) from error
    except (BotoCoreError, OSError, TimeoutError) as error:
        raise StreamUnavailable(str(error)) from error
