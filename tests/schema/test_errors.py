"""Every error carries `extensions.code`; unexpected ones are masked and logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.settings import Settings
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT


async def test_a_syntax_error_is_graphql_parse_failed(client: GraphQLClient) -> None:
    error = await client.error("{ projects { id ")

    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "Syntax Error" in error["message"]


async def test_an_unknown_field_is_graphql_validation_failed(client: GraphQLClient) -> None:
    error = await client.error("{ projects { id nmae } }")

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "nmae" in error["message"]


async def test_a_missing_variable_is_bad_user_input(client: GraphQLClient) -> None:
    error = await client.error("query($id: ID!) { project(id: $id) { id } }", {})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$id" in error["message"]


async def test_a_wrongly_typed_variable_is_bad_user_input(client: GraphQLClient) -> None:
    error = await client.error(CREATE_PROJECT, {"input": {"name": 42}})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.fixture
async def broken_client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """An app whose tables do not exist: every DynamoDB call fails unexpectedly."""
    broken = settings.model_copy(update={"table_prefix": "no-such-tables-"})
    async with LifespanManager(create_app(broken)) as manager:
        async with GraphQLClient.for_app(manager.app, "user-broken") as client:
            yield client


async def test_an_unexpected_error_is_masked_and_logged(
    broken_client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="server.errors"):
        body = await broken_client.execute("{ projects { id } }")

    (error,) = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "no-such-tables" not in str(body)
    assert any("ResourceNotFoundException" in record.getMessage() for record in caplog.records)


@pytest.fixture
async def unreachable_client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """An app whose DynamoDB endpoint refuses connections."""
    down = settings.model_copy(
        update={"dynamodb_endpoint_url": "http://127.0.0.1:9", "dynamodb_max_attempts": 2}
    )
    async with LifespanManager(create_app(down)) as manager:
        async with GraphQLClient.for_app(manager.app, "user-down") as client:
            yield client


async def test_an_unreachable_dynamodb_is_service_unavailable(
    unreachable_client: GraphQLClient,
) -> None:
    error = await unreachable_client.error("{ projects { id } }")

    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "retry" in error["message"]


async def test_expected_errors_are_not_logged_as_incidents(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        await client.error('mutation { deleteProject(id: "01ARZ3NDEKTSV4RRFFQ69G5FAV") }')

    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
