"""The seven tables of the seed design, and their idempotent creation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["TABLES", "TableNames", "TableSpec", "create_tables"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    suffix: str
    partition_key: str
    sort_key: str | None = None

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


PROJECTS = TableSpec(suffix="projects", partition_key="userId", sort_key="projectId")
AGENTS = TableSpec(suffix="agents", partition_key="userId", sort_key="agentId")
TOOLS = TableSpec(suffix="tools", partition_key="userId", sort_key="toolId")
MAIN_CONFIG = TableSpec(suffix="main-config", partition_key="userId", sort_key="configId")
ENVIRONMENT = TableSpec(suffix="environment", partition_key="userId", sort_key="envId")
DEPLOYMENTS = TableSpec(suffix="deployments", partition_key="userId", sort_key="deploymentId")
BUILTIN_TOOLS = TableSpec(suffix="builtin-tools", partition_key="toolName")

TABLES = (PROJECTS, AGENTS, TOOLS, MAIN_CONFIG, ENVIRONMENT, DEPLOYMENTS, BUILTIN_TOOLS)


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


async def create_tables(client: Any, names: TableNames) -> list[str]:
    """Create whichever of the seven tables are missing; return the names created."""
    created = []
    for spec in TABLES:
        name = names.of(spec)
        if await _exists(client, name):
            continue
        try:
            await client.create_table(
                TableName=name,
                KeySchema=spec.key_schema(),
                AttributeDefinitions=spec.attribute_definitions(),
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
            )
        except ClientError as error:
            # Another process created it between our check and our create.
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
            continue
        await client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        await _enable_point_in_time_recovery(client, name)
        created.append(name)
    return created


async def _exists(client: Any, name: str) -> bool:
    try:
        await client.describe_table(TableName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


async def _enable_point_in_time_recovery(client: Any, name: str) -> None:
    try:
        await client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    except ClientError as error:
        # DynamoDB Local and some emulators do not implement continuous backups.
        logger.info("point-in-time recovery not enabled on %s: %s", name, error)
