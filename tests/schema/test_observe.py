"""Every GraphQL operation leaves one record: a log line saying what it was and what it cost,
and its metrics (its span: tests/test_tracing.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from server.metrics import OperationNames
from server.schema import observe
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.samples import sample
from tests.test_abuse_limits import app_with

OPERATIONS = "graphql_operations_total"


@pytest.fixture(autouse=True)
def fresh_names(monkeypatch: pytest.MonkeyPatch) -> OperationNames:
    """The operation names the metrics know, empty for each test (the suite uses many)."""
    names = OperationNames()
    monkeypatch.setattr(observe, "OPERATION_NAMES", names)
    return names


@pytest.fixture
def operation_lines(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="server.operations"):
        yield caplog


def fields(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The structured fields of each operation line, without the duration."""
    lines = []
    for record in caplog.records:
        if record.name == "server.operations":
            line = dict(record.fields)  # type: ignore[attr-defined]
            assert line.pop("duration_ms") >= 0
            lines.append(line)
    return lines


async def test_an_operation_logs_one_line_with_its_name_user_and_dynamodb_requests(
    client: GraphQLClient, user_id: str, operation_lines: pytest.LogCaptureFixture
) -> None:
    await client.data("query Overview { projects { id name } }")

    assert fields(operation_lines) == [
        {
            "user_id": user_id,
            "operation_name": "Overview",
            "operation_type": "query",
            "outcome": "ok",
            "dynamodb_requests": 1,
            "dynamodb_rounds": 1,
            "error_codes": [],
        }
    ]
    [line] = [r for r in operation_lines.records if r.name == "server.operations"]
    assert line.getMessage().startswith("query Overview: ok in ")


async def test_a_refused_mutation_logs_its_error_codes(
    client: GraphQLClient, user_id: str, operation_lines: pytest.LogCaptureFixture
) -> None:
    await client.error('mutation Blank { createProject(input: {name: " "}) { id } }')

    [line] = fields(operation_lines)
    assert line["operation_type"] == "mutation"
    assert line["outcome"] == "error"
    assert line["error_codes"] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("document", "user", "kind", "codes"),
    [
        ("{ broken ", "someone", "unknown", ["GRAPHQL_PARSE_FAILED"]),
        ("query Nope { nope }", "someone", "query", ["GRAPHQL_VALIDATION_FAILED"]),
        ("query Who { viewer { userId } }", "not a user!", "query", ["UNAUTHENTICATED"]),
    ],
)
async def test_operations_refused_before_running_are_logged_with_their_code(
    app: ASGIApp,
    operation_lines: pytest.LogCaptureFixture,
    document: str,
    user: str,
    kind: str,
    codes: list[str],
) -> None:
    async with GraphQLClient.for_app(app, user) as client:
        await client.error(document)

    [line] = fields(operation_lines)
    assert (line["operation_type"], line["outcome"], line["error_codes"]) == (kind, "error", codes)
    assert line["dynamodb_requests"] == 0
    assert line["user_id"] == (None if codes == ["UNAUTHENTICATED"] else user)


async def test_an_operation_over_its_time_budget_is_logged_as_service_unavailable(
    settings: Settings, store: Store, operation_lines: pytest.LogCaptureFixture
) -> None:
    async with app_with(settings, operation_timeout_seconds=0.001) as app:
        async with GraphQLClient.for_app(app, "slowpoke") as client:
            await client.error("query Slow { projects { id agents { id } tools { id } } }")

    [line] = fields(operation_lines)
    assert (line["operation_name"], line["outcome"]) == ("Slow", "error")
    assert line["error_codes"] == ["SERVICE_UNAVAILABLE"]


async def test_a_subscription_sent_over_http_is_logged_as_a_bad_request(
    client: GraphQLClient, operation_lines: pytest.LogCaptureFixture
) -> None:
    response = await client.http.post(
        "/graphql", json={"query": 'subscription Over { deploymentUpdated(id: "x") { id } }'}
    )

    assert response.status_code == 400
    [line] = fields(operation_lines)
    assert (line["operation_type"], line["error_codes"]) == ("subscription", ["BAD_REQUEST"])


async def test_operations_are_counted_by_name_type_and_outcome_with_their_latency(
    client: GraphQLClient,
) -> None:
    labels = {"operation": "Overview", "type": "query"}
    before = (
        sample(OPERATIONS, **labels, outcome="ok"),
        sample(OPERATIONS, **labels, outcome="error"),
        sample("graphql_operation_duration_seconds_count", **labels),
        sample("graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED"),
    )

    await client.data("query Overview { projects { id } }")
    await client.error("query Overview { projects { nope } }")

    assert (
        sample(OPERATIONS, **labels, outcome="ok"),
        sample(OPERATIONS, **labels, outcome="error"),
        sample("graphql_operation_duration_seconds_count", **labels),
        sample("graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED"),
    ) == (before[0] + 1, before[1] + 1, before[2] + 2, before[3] + 1)


async def test_names_of_operations_that_never_ran_are_counted_as_other(
    client: GraphQLClient, fresh_names: OperationNames
) -> None:
    unknown = f"Junk_{uuid.uuid4().hex}"
    before = sample(OPERATIONS, operation="other", type="query", outcome="error")

    await client.error(f"query {unknown} {{ nope }}")

    assert sample(OPERATIONS, operation="other", type="query", outcome="error") == before + 1
    assert sample(OPERATIONS, operation=unknown, type="query", outcome="error") == 0


def test_the_operation_names_kept_are_bounded() -> None:
    names = OperationNames(limit=2)

    labels = [
        names.label("First", ran=True),
        names.label("Refused", ran=False),
        names.label("Second", ran=True),
        names.label("Third", ran=True),
        names.label("First", ran=False),
        names.label(None, ran=True),
        names.label("x" * 101, ran=True),
    ]

    assert labels == ["First", "other", "Second", "other", "First", "anonymous", "other"]


async def test_dynamodb_requests_are_counted_by_operation_table_and_outcome(
    client: GraphQLClient, store: Store
) -> None:
    projects = store.tables.projects
    absent = f"absent-{uuid.uuid4().hex[:8]}"
    before = sample("dynamodb_requests_total", operation="Query", table=projects, outcome="ok")
    seconds_before = sample(
        "dynamodb_request_duration_seconds_count", operation="Query", table=projects
    )

    await client.data("{ projects { id } }")
    with pytest.raises(store.client.exceptions.ResourceNotFoundException):
        await store.client.describe_table(TableName=absent)

    assert (
        sample("dynamodb_requests_total", operation="Query", table=projects, outcome="ok")
        == before + 1
    )
    assert (
        sample("dynamodb_request_duration_seconds_count", operation="Query", table=projects)
        == seconds_before + 1
    )
    assert (
        sample(
            "dynamodb_requests_total",
            operation="DescribeTable",
            table=absent,
            outcome="ResourceNotFoundException",
        )
        == 1
    )


async def test_metrics_are_not_served_on_the_api_port(app: ASGIApp) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.get("/metrics")

    assert response.status_code == 404
