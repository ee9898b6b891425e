"""Whether the seven tables answer: `DescribeTable` of each, at once, within a time bound."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from server.store.tables import TABLES, TableNames

__all__ = ["unready_tables"]

logger = logging.getLogger(__name__)

READY_STATUSES = ("ACTIVE", "UPDATING")


async def unready_tables(
    client: Any, names: TableNames, *, within_seconds: float
) -> dict[str, str]:
    """Each table that is not ready, by its role (`projects`, ...), with a short reason:
    `missing`, `not active`, `unreachable` or `error`; the details go to the log."""
    roles = [spec.suffix for spec in TABLES]
    problems = await asyncio.gather(
        *(_problem(client, names.of(spec), within_seconds) for spec in TABLES)
    )
    return {role: problem for role, problem in zip(roles, problems, strict=True) if problem}


async def _problem(client: Any, name: str, within_seconds: float) -> str | None:
    try:
        async with asyncio.timeout(within_seconds):
            description = await client.describe_table(TableName=name)
    except TimeoutError:
        logger.warning("readiness: DescribeTable %s took over %g s", name, within_seconds)
        return "unreachable"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        logger.warning("readiness: DescribeTable %s failed: %s", name, code)
        return "missing" if code == "ResourceNotFoundException" else "error"
    except BotoCoreError as error:
        logger.warning("readiness: DescribeTable %s failed: %s", name, type(error).__name__)
        return "unreachable"
    status = description.get("Table", {}).get("TableStatus")
    if status not in READY_STATUSES:
        logger.warning("readiness: table %s is %s", name, status)
        return "not active"
    return None
