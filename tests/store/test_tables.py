"""The seven tables exist exactly as the seed defines them, created idempotently, with
point-in-time recovery where the endpoint supports it, and a report of what was done."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from server.store import Store
from server.store.client import ClientOptions, open_client
from server.store.tables import (
    DEPLOYMENTS,
    TABLES,
    RecoveryRetries,
    TableNames,
    TableReport,
    TableSpec,
    create_tables,
)
from tests.store.intercept import intercepting
from tests.store.seed_tables import SEED_KEYS

UNSUPPORTED = "UnknownOperationException"
NOT_READY = "ContinuousBackupsUnavailableException"
# Retries of a test answer at once: nothing here waits on a clock.
AT_ONCE = RecoveryRetries(attempts=3, delay_seconds=0)


def stream_of(spec: TableSpec) -> str | None:
    """What a report says of a table's stream when create-tables made it (or found it made)."""
    return "on" if spec is DEPLOYMENTS else None


def fresh_names(label: str) -> TableNames:
    return TableNames.with_prefix(f"{label}-{uuid.uuid4().hex[:8]}-")


@asynccontextmanager
async def client_of(endpoint: str) -> AsyncIterator[Any]:
    async with open_client(ClientOptions(region="us-east-1", endpoint_url=endpoint)) as client:
        yield client


async def recovery_status(client: Any, name: str) -> str:
    backups = await client.describe_continuous_backups(TableName=name)
    status: str = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"
    ]
    return status


async def test_create_tables_makes_the_seeds_seven_tables(store: Store) -> None:
    names = fresh_names("fresh")

    reports = await create_tables(store.client, names)

    assert reports == [
        TableReport(
            name=names.of(spec), created=True, recovery_unsupported=None, stream=stream_of(spec)
        )
        for spec in TABLES
    ]
    prefix = names.of(TABLES[0]).removesuffix(TABLES[0].suffix)
    assert [report.name for report in reports] == [f"{prefix}{suffix}" for suffix in SEED_KEYS]
    for suffix, (partition, sort) in SEED_KEYS.items():
        table = (await store.client.describe_table(TableName=f"{prefix}{suffix}"))["Table"]
        keys = {key["KeyType"]: key["AttributeName"] for key in table["KeySchema"]}
        assert keys.get("HASH") == partition, suffix
        assert keys.get("RANGE") == sort, suffix
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert await recovery_status(store.client, f"{prefix}{suffix}") == "ENABLED"
        streams = table.get("StreamSpecification")
        if suffix == "deployments":
            assert streams == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            assert table["LatestStreamArn"].startswith(table["TableArn"] + "/stream/")
        else:
            assert streams is None, suffix


async def test_create_tables_again_reports_every_table_already_there(store: Store) -> None:
    names = fresh_names("again")
    await create_tables(store.client, names)

    reports = await create_tables(store.client, names)

    assert [(report.created, report.recovery_unsupported) for report in reports] == [
        (False, None)
    ] * len(TABLES)
    assert [report.stream for report in reports] == [stream_of(spec) for spec in TABLES]


async def test_create_tables_turns_the_stream_on_for_a_deployments_table_made_without_it(
    store: Store,
) -> None:
    # Given the deployments table made before the change feed, without a stream
    names = fresh_names("streamless")
    await store.client.create_table(
        TableName=names.deployments,
        KeySchema=DEPLOYMENTS.key_schema(),
        AttributeDefinitions=DEPLOYMENTS.attribute_definitions(),
        BillingMode="PAY_PER_REQUEST",
    )

    # When create-tables runs
    reports = await create_tables(store.client, names)

    # Then it turned the NEW_IMAGE stream on with UpdateTable, and says so
    report = next(report for report in reports if report.name == names.deployments)
    assert (report.created, report.stream) == (False, "turned on")
    table = (await store.client.describe_table(TableName=names.deployments))["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert "LatestStreamArn" in table


async def test_a_stream_of_another_view_type_is_left_alone_and_reported(store: Store) -> None:
    # Given a deployments table whose stream another reader set to KEYS_ONLY
    names = fresh_names("keysonly")
    await store.client.create_table(
        TableName=names.deployments,
        KeySchema=DEPLOYMENTS.key_schema(),
        AttributeDefinitions=DEPLOYMENTS.attribute_definitions(),
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )

    # When create-tables runs
    reports = await create_tables(store.client, names)

    # Then the stream stays as it is, and the report says it is not what the feed needs
    report = next(report for report in reports if report.name == names.deployments)
    assert report.stream == "KEYS_ONLY, not NEW_IMAGE"
    table = (await store.client.describe_table(TableName=names.deployments))["Table"]
    assert table["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"


async def test_create_tables_turns_recovery_on_for_a_table_made_without_it(store: Store) -> None:
    # Given the projects table made earlier, by hand or by an older version, without recovery
    names = fresh_names("older")
    projects = TABLES[0]
    await store.client.create_table(
        TableName=names.of(projects),
        KeySchema=projects.key_schema(),
        AttributeDefinitions=projects.attribute_definitions(),
        BillingMode="PAY_PER_REQUEST",
    )
    assert await recovery_status(store.client, names.of(projects)) == "DISABLED"

    # When create-tables runs
    reports = await create_tables(store.client, names)

    # Then it leaves the table, and turns recovery on
    assert reports[0] == TableReport(name=names.of(projects), created=False, stream=None)
    assert await recovery_status(store.client, names.of(projects)) == "ENABLED"


async def test_an_endpoint_without_continuous_backups_gets_its_tables_and_a_report(
    dynamodb_endpoint: str,
) -> None:
    # Given an endpoint that answers UpdateContinuousBackups as DynamoDB Local does
    names = fresh_names("local")
    async with (
        intercepting(
            dynamodb_endpoint, "UpdateContinuousBackups", itertools.repeat(UNSUPPORTED)
        ) as endpoint,
        client_of(endpoint.url) as client,
    ):
        # When create-tables runs
        reports = await create_tables(client, names)

        # Then all seven tables are made, each reported without recovery, asked once
        assert reports == [
            TableReport(
                name=names.of(spec),
                created=True,
                recovery_unsupported=UNSUPPORTED,
                stream=stream_of(spec),
            )
            for spec in TABLES
        ]
        assert endpoint.calls == len(TABLES)
        table = (await client.describe_table(TableName=names.projects))["Table"]
        assert table["TableStatus"] == "ACTIVE"


async def test_recovery_is_asked_again_while_dynamodb_is_still_enabling_backups(
    dynamodb_endpoint: str,
) -> None:
    # Given DynamoDB refusing recovery twice, as it does right after CreateTable
    names = fresh_names("settling")
    async with (
        intercepting(
            dynamodb_endpoint, "UpdateContinuousBackups", iter([NOT_READY, NOT_READY])
        ) as endpoint,
        client_of(endpoint.url) as client,
    ):
        # When create-tables runs
        reports = await create_tables(client, names, retries=AT_ONCE)

        # Then the first table got recovery at the third call, and every table has it
        assert endpoint.answered == [NOT_READY, NOT_READY]
        assert endpoint.calls == len(TABLES) + 2
        assert all(report.recovery_unsupported is None for report in reports)
        assert await recovery_status(client, names.projects) == "ENABLED"


async def test_recovery_that_never_becomes_available_fails_after_the_last_attempt(
    dynamodb_endpoint: str,
) -> None:
    names = fresh_names("stuck")
    async with (
        intercepting(
            dynamodb_endpoint, "UpdateContinuousBackups", itertools.repeat(NOT_READY)
        ) as endpoint,
        client_of(endpoint.url) as client,
    ):
        with pytest.raises(ClientError) as refused:
            await create_tables(client, names, retries=AT_ONCE)

        assert refused.value.response["Error"]["Code"] == NOT_READY
        assert endpoint.calls == AT_ONCE.attempts


def test_table_names_follow_the_prefix() -> None:
    names = TableNames.with_prefix("acme-")

    assert [names.of(spec) for spec in TABLES] == [
        "acme-projects",
        "acme-agents",
        "acme-tools",
        "acme-main-config",
        "acme-environment",
        "acme-deployments",
        "acme-builtin-tools",
    ]
