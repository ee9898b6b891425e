"""The seven tables of the seed design, and their idempotent creation.

`TABLES` and `TABLE_OPTIONS` are the one definition of the tables: `create_tables` creates
them through the API, and `server.store.cloudformation` writes them as a template.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "DEPLOYMENTS",
    "TABLES",
    "TABLE_OPTIONS",
    "TableNames",
    "TableOptions",
    "TableReport",
    "TableSpec",
    "create_tables",
]

logger = logging.getLogger(__name__)

# The error code of an endpoint without continuous backups (DynamoDB Local, LocalStack).
UNSUPPORTED_OPERATION = "UnknownOperationException"
# DynamoDB's answer while it is still turning continuous backups on for a new table.
BACKUPS_NOT_READY = "ContinuousBackupsUnavailableException"


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    suffix: str
    partition_key: str
    sort_key: str | None = None
    # The view of the table's DynamoDB stream, if it has one (`server/store/streams.py`).
    stream_view_type: str | None = None

    def stream_specification(self) -> dict[str, Any] | None:
        if self.stream_view_type is None:
            return None
        return {"StreamEnabled": True, "StreamViewType": self.stream_view_type}

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        if self.sort_key is not None:
            schema.append({"AttributeName": self.sort_key, "KeyType": "RANGE"})
        return schema

    def attribute_definitions(self) -> list[dict[str, str]]:
        return [
            {"AttributeName": key["AttributeName"], "AttributeType": "S"}
            for key in self.key_schema()
        ]


@dataclass(frozen=True, kw_only=True)
class TableOptions:
    """What all seven tables have besides their keys."""

    billing_mode: str = "PAY_PER_REQUEST"
    # Encrypted at rest under the account's AWS managed KMS key (`aws/dynamodb`).
    encrypted: bool = True
    point_in_time_recovery: bool = True


PROJECTS = TableSpec(suffix="projects", partition_key="userId", sort_key="projectId")
AGENTS = TableSpec(suffix="agents", partition_key="userId", sort_key="agentId")
TOOLS = TableSpec(suffix="tools", partition_key="userId", sort_key="toolId")
MAIN_CONFIG = TableSpec(suffix="main-config", partition_key="userId", sort_key="configId")
ENVIRONMENT = TableSpec(suffix="environment", partition_key="userId", sort_key="envId")
# Its stream is the change feed of the deployments' subscriptions (`server/deployments/feed.py`).
DEPLOYMENTS = TableSpec(
    suffix="deployments",
    partition_key="userId",
    sort_key="deploymentId",
    stream_view_type="NEW_IMAGE",
)
BUILTIN_TOOLS = TableSpec(suffix="builtin-tools", partition_key="toolName")

TABLES = (PROJECTS, AGENTS, TOOLS, MAIN_CONFIG, ENVIRONMENT, DEPLOYMENTS, BUILTIN_TOOLS)
TABLE_OPTIONS = TableOptions()


@dataclass(frozen=True, kw_only=True)
class TableNames:
    """The physical name of each table: `{TABLE_PREFIX}{suffix}`."""

    projects: str
    agents: str
    tools: str
    main_config: str
    environment: str
    deployments: str
    builtin_tools: str

    @classmethod
    def with_prefix(cls, prefix: str) -> TableNames:
        return cls(**{spec.suffix.replace("-", "_"): f"{prefix}{spec.suffix}" for spec in TABLES})

    def of(self, spec: TableSpec) -> str:
        name: str = getattr(self, spec.suffix.replace("-", "_"))
        return name


@dataclass(frozen=True, kw_only=True)
class TableReport:
    """What `create_tables` did to one table."""

    name: str
    created: bool  # False: it was already there
    # None: point-in-time recovery is on; else the endpoint's error code for not supporting it.
    recovery_unsupported: str | None = None
    # The table's stream: None (it has none by design), "on" (it was there already),
    # "turned on" (UpdateTable added it now) or "<view type>, not <wanted>" (left as it is).
    stream: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecoveryRetries:
    """How long to wait for DynamoDB to accept point-in-time recovery on a new table."""

    attempts: int = 30
    delay_seconds: float = 2.0


async def create_tables(
    client: Any, names: TableNames, *, retries: RecoveryRetries | None = None
) -> list[TableReport]:
    """Create whichever of the seven tables are missing and turn on point-in-time recovery
    on each, where the endpoint supports it; report what was done, table by table."""
    reports = []
    for spec in TABLES:
        name = names.of(spec)
        created = await _create_if_missing(client, spec, name)
        await client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        unsupported = await _enable_point_in_time_recovery(
            client, name, retries or RecoveryRetries()
        )
        stream = await _enable_stream(client, spec, name)
        reports.append(
            TableReport(name=name, created=created, recovery_unsupported=unsupported, stream=stream)
        )
    return reports


async def _create_if_missing(client: Any, spec: TableSpec, name: str) -> bool:
    if await _exists(client, name):
        return False
    stream = spec.stream_specification()
    try:
        await client.create_table(
            TableName=name,
            KeySchema=spec.key_schema(),
            AttributeDefinitions=spec.attribute_definitions(),
            BillingMode=TABLE_OPTIONS.billing_mode,
            SSESpecification={"Enabled": TABLE_OPTIONS.encrypted},
            **({"StreamSpecification": stream} if stream else {}),
        )
    except ClientError as error:
        # Another process created it between our check and our create.
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return False
    return True


async def _exists(client: Any, name: str) -> bool:
    try:
        await client.describe_table(TableName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


async def _enable_stream(client: Any, spec: TableSpec, name: str) -> str | None:
    """Give a table made without its stream (by hand, or before streams) the stream it
    should have, with UpdateTable; say how the stream is. A stream of another view type is
    left alone: turning it off would break its other readers, so the report says so."""
    if spec.stream_view_type is None:
        return None
    table = (await client.describe_table(TableName=name))["Table"]
    current = table.get("StreamSpecification") or {}
    if current.get("StreamEnabled"):
        view = current.get("StreamViewType")
        # NEW_AND_OLD_IMAGES carries the new image too.
        if view in (spec.stream_view_type, "NEW_AND_OLD_IMAGES"):
            return "on"
        logger.warning("the stream of %s is %s, not %s", name, view, spec.stream_view_type)
        return f"{view}, not {spec.stream_view_type}"
    await client.update_table(TableName=name, StreamSpecification=spec.stream_specification())
    await client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return "turned on"


async def _enable_point_in_time_recovery(
    client: Any, name: str, retries: RecoveryRetries
) -> str | None:
    """Turn point-in-time recovery on (a no-op where it is on already); None when it is on,
    else the error code of an endpoint that does not support it."""
    for _ in range(retries.attempts - 1):
        try:
            return await _update_continuous_backups(client, name)
        except ClientError as error:
            # Right after CreateTable, DynamoDB is still turning backups on for a while.
            if error.response["Error"]["Code"] != BACKUPS_NOT_READY:
                raise
        await asyncio.sleep(retries.delay_seconds)
    return await _update_continuous_backups(client, name)


async def _update_continuous_backups(client: Any, name: str) -> str | None:
    try:
        await client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": TABLE_OPTIONS.point_in_time_recovery
            },
        )
    except ClientError as error:
        code: str = error.response["Error"]["Code"]
        if code != UNSUPPORTED_OPERATION:
            raise
        logger.info("point-in-time recovery not supported on %s: %s", name, error)
        return code
    return None
