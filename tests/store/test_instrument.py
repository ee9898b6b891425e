"""Every DynamoDB request is measured: by API operation, table and outcome, with its time and
the attempts botocore retried (the per-operation tally: tests/schema/test_debug.py)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import EndpointConnectionError

from server.store import ClientOptions, StoreOptions, open_store
from tests.samples import sample


async def test_a_request_botocore_retried_counts_its_retries_and_how_it_ended() -> None:
    table = f"unreachable-{uuid.uuid4().hex[:8]}"
    options = StoreOptions(
        client=ClientOptions(
            region="us-east-1",
            endpoint_url="http://127.0.0.1:9",  # nothing listens: every attempt is refused
            connect_timeout=1,
            # DYNAMODB_MAX_ATTEMPTS: every attempt, the first included: 3 attempts, 2 retries.
            max_attempts=3,
        ),
        table_prefix="unreachable-",
    )

    async with open_store(options) as store:
        with pytest.raises(EndpointConnectionError):
            await store.client.describe_table(TableName=table)

    labels = {"operation": "DescribeTable", "table": table}
    assert sample("dynamodb_retries_total", **labels) == 2
    assert sample("dynamodb_requests_total", **labels, outcome="EndpointConnectionError") == 1
    assert sample("dynamodb_request_duration_seconds_count", **labels) == 1
