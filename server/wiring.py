"""What the app and the command line build from the settings, in one place: the store's
options (the store itself takes plain values, never `Settings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.settings import Settings
from server.store import ClientOptions, StoreOptions

if TYPE_CHECKING:
    from server.otel import Tracing

__all__ = ["store_options"]


def store_options(settings: Settings, tracing: Tracing | None = None) -> StoreOptions:
    """The DynamoDB `settings` name (`STORE`, `DYNAMODB_*`, `AWS_REGION`, `TABLE_PREFIX`),
    traced by `tracing` if given."""
    return StoreOptions(
        client=ClientOptions(
            region=settings.aws_region,
            endpoint_url=settings.dynamodb_endpoint_url,
            connect_timeout=settings.dynamodb_connect_timeout,
            read_timeout=settings.dynamodb_read_timeout,
            max_attempts=settings.dynamodb_max_attempts,
        ),
        table_prefix=settings.table_prefix,
        embedded=settings.store == "embedded",
        tracing=tracing,
    )
