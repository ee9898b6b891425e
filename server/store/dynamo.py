"""A thin async layer over the one aioboto3 DynamoDB client.

Every DynamoDB call of the server goes through `Dynamo`: values are converted with `codec`,
queries paginate themselves, batch calls are chunked at DynamoDB's limits with their
unprocessed parts retried, and botocore's errors are mapped here, at the boundary, into the
domain's `ServiceUnavailable`, the store's `ConditionFailed`, or the error that the failed item
of a transaction declares (`server.store.transactions`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from server.errors import ServiceUnavailable
from server.store.codec import Item, from_item, to_item
from server.store.expressions import (
    ConditionLike,
    Expression,
    Projection,
    UpdateLike,
    expression_params,
)
from server.store.transactions import TransactItem, refusal

# `Expression` (written by hand) is exported with the methods that take it, for one-off
# reads and writes; the store itself builds its expressions (`server.store.expressions`).
__all__ = ["ConditionFailed", "Dynamo", "Expression"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_RETRIES = 10
TRANSACTION_CONFLICT = "TransactionConflictException"
UNPROCESSED_RETRIES = 8
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalServerError",
        "LimitExceededException",
    }
)
UNREACHABLE = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class ConditionFailed(Exception):
    """A conditional write did not happen; `item` is the item as it was, or None if absent."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("condition failed")
        self.item = item


def _conditional(
    operation: dict[str, Any],
    condition: ConditionLike | None,
    update: UpdateLike | None = None,
) -> dict[str, Any]:
    operation.update(expression_params(ConditionExpression=condition, UpdateExpression=update))
    return operation


def _query_params(
    table: str,
    key_condition: ConditionLike,
    where: ConditionLike | None,
    attributes: Sequence[str] | None,
    consistent: bool,
    descending: bool,
) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": table}
    params.update(
        expression_params(
            KeyConditionExpression=key_condition,
            FilterExpression=where,
            ProjectionExpression=_projection(attributes),
        )
    )
    if consistent:
        params["ConsistentRead"] = True
    if descending:
        params["ScanIndexForward"] = False
    return params


def _projection(attributes: Sequence[str] | None) -> Projection | None:
    return Projection(tuple(attributes)) if attributes else None


class Dynamo:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def get_item(
        self,
        table: str,
        key: Mapping[str, object],
        *,
        consistent: bool = False,
        attributes: Sequence[str] | None = None,
    ) -> Item | None:
        params: dict[str, Any] = {"TableName": table, "Key": to_item(key)}
        if consistent:
            params["ConsistentRead"] = True
        params.update(expression_params(ProjectionExpression=_projection(attributes)))
        response = await self._call(self._client.get_item, params)
        item = response.get("Item")
        return from_item(item) if item is not None else None

    async def put_item(
        self, table: str, item: Mapping[str, object], *, condition: ConditionLike | None = None
    ) -> None:
        params = _conditional({"TableName": table, "Item": to_item(item)}, condition)
        await self._call(self._client.put_item, params)

    async def update_item(
        self,
        table: str,
        key: Mapping[str, object],
        update: UpdateLike,
        *,
        condition: ConditionLike | None = None,
    ) -> Item:
        """Apply `update` under `condition` and return the item as it is afterwards."""
        params = _conditional(
            {"TableName": table, "Key": to_item(key), "ReturnValues": "ALL_NEW"}, condition, update
        )
        response = await self._call(self._client.update_item, params)
        return from_item(response["Attributes"])

    async def delete_item(
        self,
        table: str,
        key: Mapping[str, object],
        *,
        condition: ConditionLike | None = None,
    ) -> Item | None:
        """Delete the item and return it as it was (None if there was none)."""
        params = _conditional(
            {"TableName": table, "Key": to_item(key), "ReturnValues": "ALL_OLD"}, condition
        )
        response = await self._call(self._client.delete_item, params)
        old = response.get("Attributes")
        return from_item(old) if old else None

    async def query(
        self,
        table: str,
        key_condition: ConditionLike,
        *,
        where: ConditionLike | None = None,
        attributes: Sequence[str] | None = None,
        consistent: bool = False,
        descending: bool = False,
    ) -> AsyncIterator[Item]:
        """Yield every matching item, following `LastEvaluatedKey` to the end."""
        params = _query_params(table, key_condition, where, attributes, consistent, descending)
        async for item in self._paginate(self._client.query, params):
            yield item

    async def query_first_page(
        self,
        table: str,
        key_condition: ConditionLike,
        *,
        where: ConditionLike | None = None,
        attributes: Sequence[str] | None = None,
    ) -> tuple[list[Item], bool]:
        """The matching items of the first page (one request, at most 1 MB read) and whether
        the query goes on past it."""
        params = _query_params(table, key_condition, where, attributes, False, False)
        response = await self._call(self._client.query, params)
        items = [from_item(item) for item in response.get("Items", ())]
        return items, bool(response.get("LastEvaluatedKey"))

    async def scan(
        self,
        table: str,
        *,
        where: ConditionLike | None = None,
        attributes: Sequence[str] | None = None,
        consistent: bool = False,
    ) -> AsyncIterator[Item]:
        params: dict[str, Any] = {"TableName": table}
        params.update(
            expression_params(FilterExpression=where, ProjectionExpression=_projection(attributes))
        )
        if consistent:
            params["ConsistentRead"] = True
        async for item in self._paginate(self._client.scan, params):
            yield item

    async def batch_get(
        self,
        table: str,
        keys: Sequence[Mapping[str, object]],
        *,
        consistent: bool = False,
        attributes: Sequence[str] | None = None,
    ) -> list[Item]:
        """Every item found for `keys`, in no particular order; absent keys are left out.

        Chunks of 100 keys (DynamoDB's limit) are requested in parallel, so any number of
        keys costs one round; repeated keys are asked for once (DynamoDB refuses repeats)."""
        distinct = list({_key_of(key): key for key in keys}.values())
        read = _projection(attributes)
        chunks = [
            distinct[start : start + BATCH_GET_LIMIT]
            for start in range(0, len(distinct), BATCH_GET_LIMIT)
        ]
        pages = await asyncio.gather(
            *(self._batch_get_chunk(table, chunk, consistent, read) for chunk in chunks)
        )
        return [item for page in pages for item in page]

    async def _batch_get_chunk(
        self,
        table: str,
        keys: Sequence[Mapping[str, object]],
        consistent: bool,
        read: Projection | None,
    ) -> list[Item]:
        found: list[Item] = []
        request: dict[str, Any] = {
            table: {"Keys": [to_item(key) for key in keys], "ConsistentRead": consistent}
        }
        request[table].update(expression_params(ProjectionExpression=read))
        for attempt in range(UNPROCESSED_RETRIES):
            response = await self._call(self._client.batch_get_item, {"RequestItems": request})
            found.extend(from_item(item) for item in response["Responses"].get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            await _backoff(attempt)
        raise ServiceUnavailable("DynamoDB left keys unprocessed; retry shortly")

    async def batch_write(
        self,
        table: str,
        *,
        puts: Sequence[Mapping[str, object]] = (),
        deletes: Sequence[Mapping[str, object]] = (),
    ) -> None:
        """Put and delete items in chunks of 25, retrying what DynamoDB leaves unprocessed."""
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in puts]
        requests += [{"DeleteRequest": {"Key": to_item(key)}} for key in deletes]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {table: requests[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(UNPROCESSED_RETRIES):
                response = await self._call(
                    self._client.batch_write_item, {"RequestItems": pending}
                )
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                await _backoff(attempt)
            else:
                raise ServiceUnavailable("DynamoDB left writes unprocessed; retry shortly")

    async def transact(self, items: Sequence[TransactItem]) -> None:
        """Write `items` all or none.

        Transactions that collide with others on an item are retried; when conditions fail,
        the error of the first failed item is raised (`server.store.transactions`).
        """
        for attempt in range(TRANSACTION_RETRIES):
            try:
                await self._call(
                    self._client.transact_write_items,
                    # The token makes botocore's own retries of this attempt idempotent.
                    {
                        "TransactItems": [item.request for item in items],
                        "ClientRequestToken": uuid.uuid4().hex,
                    },
                )
                return
            except ClientError as error:
                reasons = error.response.get("CancellationReasons") or []
                codes = {reason.get("Code") for reason in reasons}
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                if "ConditionalCheckFailed" in codes:
                    raise refusal(items, reasons) from None
                if not codes & {
                    "TransactionConflict",
                    "ThrottlingError",
                    "ProvisionedThroughputExceeded",
                }:
                    raise
            await _backoff(attempt)
        raise ServiceUnavailable("DynamoDB kept refusing a transaction under contention; retry")

    async def _paginate(
        self, operation: Callable[..., Awaitable[dict[str, Any]]], params: dict[str, Any]
    ) -> AsyncIterator[Item]:
        while True:
            response = await self._call(operation, params)
            for item in response.get("Items", ()):
                yield from_item(item)
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            params = {**params, "ExclusiveStartKey": last_key}

    @staticmethod
    async def _call(
        operation: Callable[..., Awaitable[dict[str, Any]]], params: dict[str, Any]
    ) -> dict[str, Any]:
        for attempt in range(TRANSACTION_RETRIES):
            try:
                return await operation(**params)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == "ConditionalCheckFailedException":
                    old = error.response.get("Item")
                    raise ConditionFailed(from_item(old) if old else None) from None
                if code in THROTTLING_CODES:
                    logger.warning("DynamoDB still refused %s after retries: %s", code, error)
                    raise ServiceUnavailable("DynamoDB is busy; retry shortly") from error
                if code != TRANSACTION_CONFLICT:
                    raise
            except UNREACHABLE as error:
                logger.warning("DynamoDB unreachable: %s", error)
                raise ServiceUnavailable("DynamoDB is unreachable; retry shortly") from error
            # A single write to an item that a transaction in flight holds (a project item,
            # which every status change of its deployments writes) is refused and did nothing:
            # botocore does not retry it, so it is retried here.
            await _backoff(attempt)
        raise ServiceUnavailable("DynamoDB kept refusing a write under contention; retry")


def _key_of(key: Mapping[str, object]) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(key.items()))


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
