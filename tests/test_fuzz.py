"""Fuzzing the GraphQL endpoint with schemathesis: generated operations over real HTTP.

No answer is a 5xx, every error carries an `extensions.code`, and the server still answers
afterwards. The run is bounded (`max_examples` per root field) and derandomized.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Result
from schemathesis.graphql import nodes
from schemathesis.schemas import APIOperation

from server.schema import schema as server_schema
from server.settings import Settings
from server.store import Store
from tests.servers import serving

HEADERS = {"X-Dev-User": "fuzzer"}
graphql_schema = server_schema._schema  # graphql-core's schema: every root field is fuzzed
OBJECT_SCHEMA = graphql.ObjectValueNode(
    fields=(
        graphql.ObjectFieldNode(
            name=graphql.NameNode(value="type"), value=graphql.StringValueNode(value="object")
        ),
    )
)
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.just(OBJECT_SCHEMA),
        st.text(max_size=20).map(nodes.String),
        st.integers().map(nodes.Int),
    ),
)
schemathesis.graphql.scalar("DateTime", st.text(max_size=30).map(nodes.String))
EXAMPLES_PER_FIELD = 8


@pytest.fixture(scope="module")
def fuzzed(dynamodb_endpoint: str, settings: Settings, store: Store) -> Iterator[str]:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
    ) as (base, _):
        yield base


def read(
    result: Result[APIOperation[Any, Any, Any, Any], InvalidSchema],
) -> APIOperation[Any, Any, Any, Any]:
    """The operation schemathesis read from the schema; the error it met there, raised."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def test_no_generated_operation_breaks_the_server(fuzzed: str) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9 yet: hypothesis directly.
    schema = schemathesis.graphql.from_url(f"{fuzzed}/graphql", headers=HEADERS)
    operations = [read(result) for result in schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_FIELD,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def survives(case: Any) -> None:
            response = case.call(headers=HEADERS, timeout=30)
            assert response.status_code < 500, response.text
            for error in response.json().get("errors") or []:
                assert "code" in (error.get("extensions") or {}), error

        survives()

    root_fields = [graphql_schema.query_type, graphql_schema.mutation_type]
    assert len(operations) == sum(len(root.fields) for root in root_fields if root)


def test_the_server_still_answers_after_the_fuzzing(fuzzed: str) -> None:
    response = httpx.post(
        f"{fuzzed}/graphql", json={"query": "{ viewer { userId } }"}, headers=HEADERS
    )

    assert response.json() == {"data": {"viewer": {"userId": "fuzzer"}}}
