"""OpenTelemetry traces, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: one span per GraphQL
operation and one per DynamoDB call below it, never one per field (`server/otel.py`).

OpenTelemetry is the `otel` extra (`pip install 'multi-agent-api[otel]'`), imported only when
the setting is there: a server without it imports none of it and pays one `is None` per
operation and per DynamoDB call. The setting without the extra stops the server at start
with one line saying how to install it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.settings import SettingsError

if TYPE_CHECKING:
    from server.otel import Tracing

__all__ = ["MISSING_EXTRA", "open_tracing"]

MISSING_EXTRA = (
    "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed;"
    " install the otel extra: pip install 'multi-agent-api[otel]'"
)


def open_tracing(endpoint: str | None) -> Tracing | None:
    """Tracing that exports to `endpoint` over OTLP/HTTP; None (nothing imported) without it."""
    if endpoint is None:
        return None
    try:
        from server.otel import Tracing
    except ImportError as error:
        if not (error.name or "").startswith("opentelemetry"):
            raise
        raise SettingsError(MISSING_EXTRA) from None
    return Tracing.to_otlp(endpoint)
