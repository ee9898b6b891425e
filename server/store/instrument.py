"""Counting the DynamoDB requests of one GraphQL operation, with a botocore event hook.

`track()` opens a tally for the current task (and the tasks it starts, such as dataloader
batches); every request the one client makes while it is open is counted in it, with the
number of sequential rounds: a round begins whenever a request starts with none in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tally", "install", "track"]


@dataclass
class Tally:
    requests: int = 0
    rounds: int = 0
    in_flight: int = 0
    calls: list[str] = field(default_factory=list)
    # What each call read, for estimating the bytes DynamoDB bills (bench/reads.py).
    reads: list[dict[str, object]] = field(default_factory=list)

    def as_extension(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "rounds": self.rounds,
            "calls": self.calls,
            "reads": self.reads,
        }


_tally: ContextVar[Tally | None] = ContextVar("dynamodb_tally", default=None)


@contextmanager
def track() -> Iterator[Tally]:
    tally = Tally()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


def install(client: Any) -> None:
    """Count every request of `client` into the tally open at the time, if any."""
    # before-parameter-build sees the API parameters (before-call sees the HTTP request);
    # one logical request, whatever botocore retries inside it, ends in after-call(-error).
    client.meta.events.register("before-parameter-build.dynamodb", _before_call)
    client.meta.events.register("after-call.dynamodb", _after_call)
    client.meta.events.register("after-call-error.dynamodb", _after_call)


def _before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
    tally = _tally.get()
    if tally is None:
        return
    if tally.in_flight == 0:
        tally.rounds += 1
    tally.in_flight += 1
    tally.requests += 1
    tally.calls.append(_describe(model.name, params))
    tally.reads.append(_reads(model.name, params))


def _after_call(**_: Any) -> None:
    tally = _tally.get()
    if tally is not None:
        tally.in_flight -= 1


def _describe(operation: str, params: dict[str, Any]) -> str:
    """e.g. `Query deployments projecting 8`, `BatchGetItem agents`."""
    tables = params.get("TableName") or ",".join(params.get("RequestItems", {})) or "-"
    described = f"{operation} {tables}"
    if projection := params.get("ProjectionExpression"):
        described += f" projecting {projection.count(',') + 1}"
    return described


def _reads(operation: str, params: dict[str, Any]) -> dict[str, object]:
    """The keys a read names: a Query's key condition values and start key, a get's keys."""
    read: dict[str, object] = {"operation": operation}
    if operation == "Query":
        condition = params.get("KeyConditionExpression", "")
        values = params.get("ExpressionAttributeValues", {})
        read["table"] = params.get("TableName")
        read["key"] = {name: _plain(v) for name, v in values.items() if name in condition}
        read["start"] = _plain_key(params.get("ExclusiveStartKey"))
        read["consistent"] = bool(params.get("ConsistentRead"))
    elif operation == "GetItem":
        read["table"] = params.get("TableName")
        read["keys"] = [_plain_key(params.get("Key"))]
        read["consistent"] = bool(params.get("ConsistentRead"))
    elif operation == "BatchGetItem":
        # The store's batch_get names one table a request.
        for table, request in params.get("RequestItems", {}).items():
            read["table"] = table
            read["keys"] = [_plain_key(key) for key in request.get("Keys", ())]
            read["consistent"] = bool(request.get("ConsistentRead"))
    return read


def _plain_key(key: dict[str, Any] | None) -> dict[str, object] | None:
    return None if key is None else {name: _plain(value) for name, value in key.items()}


def _plain(value: dict[str, Any]) -> object:
    """A key attribute's value without its wire type (`{"S": "x"}` -> `"x"`)."""
    return next(iter(value.values()))
