"""The process's one aioboto3 DynamoDB client.

A session or client per request costs tens of milliseconds, so one client is opened in the
app's lifespan and shared; its connection pool is sized for many concurrent loader requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aioboto3
from botocore.config import Config

from server.store.wire import use_wire_parser

__all__ = ["ClientOptions", "open_client"]

MAX_POOL_CONNECTIONS = 64


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    region: str
    endpoint_url: str | None = None
    # Explicit credentials, for the embedded store; None uses the standard AWS chain.
    access_key_id: str | None = None
    secret_access_key: str | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    max_attempts: int = 4
    # Parse successful responses as plain JSON (see `server.store.wire`).
    wire_parser: bool = True


@asynccontextmanager
async def open_client(options: ClientOptions, service: str = "dynamodb") -> AsyncIterator[Any]:
    """A client of `service`: `dynamodb`, or `dynamodbstreams` for the change feed (the
    embedded store serves both on its one endpoint), with the same endpoint, credentials,
    timeouts and retries."""
    config = Config(
        region_name=options.region,
        # Standard mode retries throttling and transient errors with jittered backoff;
        # adaptive mode's client-side rate limiter suits single-tenant clients, not a server.
        # `total_max_attempts` counts the first attempt too (botocore's `max_attempts` would
        # count only the retries after it): DYNAMODB_MAX_ATTEMPTS=4 is 4 attempts in all.
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        tcp_keepalive=True,
    )
    session = aioboto3.Session(
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        region_name=options.region,
    )
    async with session.client(service, endpoint_url=options.endpoint_url, config=config) as client:
        if options.wire_parser:
            use_wire_parser(client)
        yield client
