"""The seven tables exist exactly as the seed defines them, created idempotently."""

from __future__ import annotations

import uuid

from server.store import Store
from server.store.tables import TABLES, TableNames, create_tables

SEED_KEYS = {
    "projects": ("userId", "projectId"),
    "agents": ("userId", "agentId"),
    "tools": ("userId", "toolId"),
    "main-config": ("userId", "configId"),
    "environment": ("userId", "envId"),
    "deployments": ("userId", "deploymentId"),
    "builtin-tools": ("toolName", None),
}


async def test_create_tables_makes_the_seeds_seven_tables(store: Store) -> None:
    prefix = f"fresh-{uuid.uuid4().hex[:8]}-"
    names = TableNames.with_prefix(prefix)

    created = await create_tables(store.client, names)

    assert sorted(created) == sorted(f"{prefix}{suffix}" for suffix in SEED_KEYS)
    for suffix, (partition, sort) in SEED_KEYS.items():
        table = (await store.client.describe_table(TableName=f"{prefix}{suffix}"))["Table"]
        keys = {key["KeyType"]: key["AttributeName"] for key in table["KeySchema"]}
        assert keys.get("HASH") == partition, suffix
        assert keys.get("RANGE") == sort, suffix
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        backups = await store.client.describe_continuous_backups(TableName=f"{prefix}{suffix}")
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


async def test_create_tables_is_idempotent(store: Store) -> None:
    names = TableNames.with_prefix(f"again-{uuid.uuid4().hex[:8]}-")
    await create_tables(store.client, names)

    assert await create_tables(store.client, names) == []


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
