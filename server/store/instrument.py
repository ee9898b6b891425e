"""Watching every DynamoDB request, with botocore event hooks on the one client.

`track()` opens a tally for the current task (and the tasks it starts, such as dataloader
batches); every request the client makes while it is open is counted in it, with the number
of sequential rounds: a round begins whenever a request starts with none in flight.

Every request, in a tally or not, is also counted in the metrics (by API operation, table
and outcome, with its time and botocore's retries: `server/metrics.py`) and, with tracing
on, is a span of its own (`server/otel.py`). One logical request, whatever botocore retries
inside it, starts at before-parameter-build and ends at after-call (an answer, an error one
included) or after-call-error (no answer); what happens between is kept in botocore's
request context, which both see.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.metrics import DYNAMODB_REQUESTS, DYNAMODB_RETRIES, DYNAMODB_SECONDS, bounded_label

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from server.otel import Tracing

__all__ = ["Tally", "install", "track"]

# Where a request's own record is kept in botocore's request context.
CALL = "server.call"


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


@dataclass
class Call:
    """One request in flight: what it is, since when, in which tally and span."""

    operation: str
    tables: tuple[str, ...]
    started: float
    tally: Tally | None
    span: Span | None


def install(client: Any, tracing: Tracing | None = None) -> None:
    """Watch every request of `client`: tallied, measured, and traced if `tracing`."""
    watch = Watch(tracing)
    # before-parameter-build sees the API parameters (before-call sees the HTTP request).
    client.meta.events.register("before-parameter-build.dynamodb", watch.before_call)
    client.meta.events.register("after-call.dynamodb", watch.after_call)
    client.meta.events.register("after-call-error.dynamodb", watch.after_call_error)


class Watch:
    def __init__(self, tracing: Tracing | None) -> None:
        self.tracing = tracing

    def before_call(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        tables = _tables(params)
        tally = _tally.get()
        if tally is not None:
            if tally.in_flight == 0:
                tally.rounds += 1
            tally.in_flight += 1
            tally.requests += 1
            tally.calls.append(_describe(model.name, params))
            tally.reads.append(_reads(model.name, params))
        span = None if self.tracing is None else self.tracing.start_call(model.name, tables)
        context[CALL] = Call(model.name, tables, time.perf_counter(), tally, span)

    def after_call(
        self, context: dict[str, Any], http_response: Any, parsed: dict[str, Any], **_: Any
    ) -> None:
        if http_response.status_code < 300:
            outcome = "ok"
        else:
            outcome = bounded_label(str(parsed.get("Error", {}).get("Code", "")))
        self._end(context, outcome, parsed.get("ResponseMetadata", {}).get("RequestId"))

    def after_call_error(self, context: dict[str, Any], exception: Exception, **_: Any) -> None:
        self._end(context, bounded_label(type(exception).__name__), None)

    def _end(self, context: dict[str, Any], outcome: str, aws_request_id: object) -> None:
        call: Call | None = context.pop(CALL, None)
        if call is None:
            return
        if call.tally is not None:
            call.tally.in_flight -= 1
        retries = context.get("retries", {}).get("attempt", 1) - 1
        table = ",".join(call.tables) or "-"
        DYNAMODB_REQUESTS.labels(call.operation, table, outcome).inc()
        DYNAMODB_SECONDS.labels(call.operation, table).observe(time.perf_counter() - call.started)
        if retries:
            DYNAMODB_RETRIES.labels(call.operation, table).inc(retries)
        if call.span is not None and self.tracing is not None:
            self.tracing.finish_call(
                call.span, outcome=outcome, retries=retries, aws_request_id=aws_request_id
            )


def _tables(params: dict[str, Any]) -> tuple[str, ...]:
    """The tables a request names, sorted: one, or those of a batch or transaction."""
    if name := params.get("TableName"):
        return (name,)
    if items := params.get("RequestItems"):
        return tuple(sorted(items))
    if transact := params.get("TransactItems"):
        return tuple(sorted({part["TableName"] for item in transact for part in item.values()}))
    return ()


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
