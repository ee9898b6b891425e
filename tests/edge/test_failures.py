"""Unexpected errors: a JSON 500, and a log entry of bounded size whatever the error."""

from __future__ import annotations

import logging

import httpx
import pytest
from graphql import GraphQLError
from starlette.types import Receive, Scope, Send

from server.edge.failures import ContainFailures
from server.logs import MAX_TRACEBACK_CHARS, brief_traceback
from server.schema import schema


def ping(depth: int) -> int:
    return pong(depth + 1)


def pong(depth: int) -> int:
    # Two functions, so Python cannot fold the traceback into "previous line repeated".
    return ping(depth + 1) + 1


def recursion_error() -> RecursionError:
    try:
        ping(0)
    except RecursionError as error:
        return error
    raise AssertionError("no RecursionError")


def test_a_recursion_error_is_told_in_a_few_thousand_characters() -> None:
    error = recursion_error()

    told = brief_traceback(error)

    assert len(told) <= MAX_TRACEBACK_CHARS + 100
    assert told.rstrip().endswith("RecursionError: maximum recursion depth exceeded")
    assert "in pong" in told


def test_an_unexpected_resolver_error_is_logged_bounded(caplog: pytest.LogCaptureFixture) -> None:
    error = GraphQLError("boom", path=["createTool"], original_error=recursion_error())

    with caplog.at_level(logging.ERROR):
        schema.process_errors([error])

    assert len(caplog.records) == 1
    assert "unexpected error at ['createTool']" in caplog.text
    assert "RecursionError" in caplog.text
    assert len(caplog.text) < MAX_TRACEBACK_CHARS + 500


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise recursion_error()


async def test_an_error_outside_graphql_is_a_json_500_logged_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=ContainFailures(failing_app))
    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            response = await http.get("/anything")

    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
    assert len(caplog.records) == 1
    assert len(caplog.text) < MAX_TRACEBACK_CHARS + 500
