"""What the app and the command line build from the settings, in one place: the store's
options (the store itself takes plain values, never `Settings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.settings import Settings, SettingsError
from server.store import ClientOptions, StoreOptions
from server.store.embedded import INSTALL_EMBEDDED, EmbeddedDynamoDB, missing_embedded_modules

if TYPE_CHECKING:
    from server.otel import Tracing

__all__ = ["embedded_dynamodb", "store_options"]


def store_options(
    settings: Settings,
    tracing: Tracing | None = None,
    *,
    embedded: EmbeddedDynamoDB | None = None,
) -> StoreOptions:
    """The DynamoDB `settings` name (`STORE`, `DYNAMODB_*`, `AWS_REGION`, `TABLE_PREFIX`,
    `EMBEDDED_DATA_DIR`), traced by `tracing` if given; with `STORE=embedded`, `embedded` if
    given (`serve` starts it before the app), else one the store starts.

    Refuses `STORE=embedded` where the `embedded` extra is not installed, in one line that
    says how to install it: the app builds these options before it starts serving.
    """
    if embedded is None:
        embedded = embedded_dynamodb(settings)
    return StoreOptions(
        client=ClientOptions(
            region=settings.aws_region,
            endpoint_url=settings.dynamodb_endpoint_url,
            connect_timeout=settings.dynamodb_connect_timeout,
            read_timeout=settings.dynamodb_read_timeout,
            max_attempts=settings.dynamodb_max_attempts,
        ),
        table_prefix=settings.table_prefix,
        embedded=embedded if settings.store == "embedded" else None,
        tracing=tracing,
    )


def embedded_dynamodb(settings: Settings) -> EmbeddedDynamoDB | None:
    """The embedded DynamoDB `STORE=embedded` asks for, not started; None for `dynamodb`."""
    if settings.store != "embedded":
        return None
    _require_embedded_extra(settings)
    return EmbeddedDynamoDB(settings.embedded_data_dir, region=settings.aws_region)


def _require_embedded_extra(settings: Settings) -> None:
    missing = missing_embedded_modules()
    if missing:
        default = "" if "store" in settings.model_fields_set else " (the default)"
        raise SettingsError(
            f"STORE=embedded{default} needs the embedded extra, which this install lacks"
            f" ({', '.join(missing)}): {INSTALL_EMBEDDED}, or set STORE=dynamodb for DynamoDB"
        )
