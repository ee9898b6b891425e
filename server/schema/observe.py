"""One record of every GraphQL operation: a log line, its metrics, and a span when tracing is
on; and, with `DEBUG_EXTENSIONS`, the DynamoDB requests and rounds it took in its response.

It hooks the operation as a whole (parse to answer; a subscription's whole life) and never a
field. The log line (logger `server.operations`, INFO) names the operation, its type, its
outcome, the caller's user id, its duration, its DynamoDB requests and rounds, and the
`extensions.code` of its errors; JSON lines carry the request id besides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from server.context import Context
from server.metrics import (
    GRAPHQL_ERRORS,
    GRAPHQL_OPERATIONS,
    GRAPHQL_SECONDS,
    GRAPHQL_SUBSCRIPTIONS,
    OperationNames,
    bounded_label,
)
from server.request_id import current_request
from server.schema.errors import REQUEST_REFUSALS
from server.store import instrument

__all__ = ["ObserveOperations", "OperationRecord"]

logger = logging.getLogger("server.operations")

# The names the metrics know, for the whole process (bounded: see `server/metrics.py`).
OPERATION_NAMES = OperationNames()
# No query, no operation of the name given, or one the request cannot run (a subscription
# over HTTP, a mutation over GET): the view answers those with HTTP 400.
REFUSED_BY_THE_VIEW = REQUEST_REFUSALS


@dataclass(frozen=True)
class OperationRecord:
    name: str | None  # as the request names it, if it reads as a GraphQL name
    kind: str  # query, mutation, subscription; unknown when the document says none
    outcome: str  # ok, error, cancelled
    codes: list[str]  # the `extensions.code` of each error, in order
    seconds: float
    tally: instrument.Tally

    def log(self, user_id: str | None) -> None:
        distinct = list(dict.fromkeys(self.codes))
        logger.info(
            "%s %s: %s in %.1f ms, %d DynamoDB requests in %d rounds%s",
            self.kind,
            self.name or "(anonymous)",
            self.outcome,
            1000 * self.seconds,
            self.tally.requests,
            self.tally.rounds,
            f", errors: {', '.join(distinct)}" if distinct else "",
            extra={
                "fields": {
                    "user_id": user_id,
                    "operation_name": self.name,
                    "operation_type": self.kind,
                    "outcome": self.outcome,
                    "duration_ms": round(1000 * self.seconds, 3),
                    "dynamodb_requests": self.tally.requests,
                    "dynamodb_rounds": self.tally.rounds,
                    "error_codes": distinct,
                }
            },
        )

    def count(self, *, ran: bool, provided_name: str | None) -> None:
        label = OPERATION_NAMES.label(provided_name, ran=ran)
        GRAPHQL_OPERATIONS.labels(label, self.kind, self.outcome).inc()
        if self.kind in ("query", "mutation"):
            GRAPHQL_SECONDS.labels(label, self.kind).observe(self.seconds)
        for code in self.codes:
            GRAPHQL_ERRORS.labels(code).inc()


class ObserveOperations(SchemaExtension):
    """List it first: it sees the errors after every other extension coded or masked them."""

    def __init__(self) -> None:
        self._tally: instrument.Tally | None = None
        self._ran = False
        self._subscribed = False
        # The errors of a streamed operation's results (WebSocket), as they went out.
        self._streamed: list[str] | None = None

    def on_operation(self) -> Iterator[None]:
        context: Context = self.execution_context.context
        started = time.perf_counter()
        request = current_request()
        span = None
        if context.tracing is not None:
            span = context.tracing.start_operation(
                context.request.headers, request.id if request is not None else None
            )
        ended_by: BaseException | None = None
        with instrument.track() as tally:
            self._tally = tally
            try:
                yield
            except BaseException as error:
                ended_by = error
                raise
            finally:
                if self._subscribed:
                    GRAPHQL_SUBSCRIPTIONS.dec()
                record = self._record(context, ended_by, time.perf_counter() - started, tally)
                record.count(ran=self._ran, provided_name=self.execution_context.operation_name)
                if span is not None:
                    span.finish(
                        name=record.name,
                        kind=record.kind,
                        outcome=record.outcome,
                        codes=list(dict.fromkeys(record.codes)),
                    )
                record.log(context.identity.user_id if context.identity else None)
                if request is not None:
                    request.operations_logged += 1

    def on_execute(self) -> Iterator[None]:
        # Reached only by an operation that passed validation with an identity.
        self._ran = True
        if _kind(self.execution_context) == "subscription" and not self._subscribed:
            self._subscribed = True
            GRAPHQL_SUBSCRIPTIONS.inc()
        yield

    def on_stream_result(self, result: object) -> Iterator[None]:
        if self._streamed is None:
            self._streamed = []
        try:
            yield
        finally:
            self._streamed.extend(_codes(getattr(result, "errors", None)))

    def get_results(self) -> dict[str, object]:
        context: Context = self.execution_context.context
        if self._tally is None or not context.settings.shows_debug_extensions:
            return {}
        return {"dynamodb": self._tally.as_extension()}

    def _record(
        self,
        context: Context,
        ended_by: BaseException | None,
        seconds: float,
        tally: instrument.Tally,
    ) -> OperationRecord:
        kind = _kind(self.execution_context)
        outcome, codes = self._outcome(context, kind, ended_by)
        name = self.execution_context.operation_name
        shown = None if name is None else bounded_label(name, otherwise="(invalid)")
        return OperationRecord(shown, kind, outcome, codes, seconds, tally)

    def _outcome(
        self, context: Context, kind: str, ended_by: BaseException | None
    ) -> tuple[str, list[str]]:
        if isinstance(ended_by, asyncio.CancelledError | GeneratorExit):
            if context.time_budget is not None and context.time_budget.expired():
                return "error", ["SERVICE_UNAVAILABLE"]  # as the view answers it
            # A subscription ends so when its client completes it or leaves.
            return ("ok" if kind == "subscription" else "cancelled"), []
        if isinstance(ended_by, GraphQLError):
            return "error", _codes([ended_by])  # a syntax error, as the parser raises it
        if isinstance(ended_by, REFUSED_BY_THE_VIEW):
            return "error", ["BAD_REQUEST"]
        if ended_by is not None:
            return "error", ["INTERNAL_SERVER_ERROR"]
        if self._streamed is not None:
            codes = self._streamed
        else:
            codes = _codes(getattr(self.execution_context.result, "errors", None))
        return ("error" if codes else "ok"), codes


def _kind(execution_context: ExecutionContext) -> str:
    try:
        kind: OperationType = execution_context.operation_type
    # Not parsed, no operation of the name the request gives, or several and no name.
    except (RuntimeError, CannotGetOperationTypeError):
        return "unknown"
    return kind.value


def _codes(errors: list[GraphQLError] | None) -> list[str]:
    return [
        bounded_label(str((error.extensions or {}).get("code", "")), otherwise="UNKNOWN")
        for error in errors or ()
    ]
