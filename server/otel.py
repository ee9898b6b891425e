"""The spans the server makes, with OpenTelemetry's SDK (the `otel` extra); imported only
when tracing is on (`server/tracing.py`).

An operation's span continues the trace of the request's W3C `traceparent` header, if any;
each DynamoDB call an operation makes is a child span of it (calls outside operations are not
traced). Spans go over OTLP/HTTP
(protobuf) to `{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces` in batches, from a thread of their
own; the exporter's other standard variables (`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`,
`..._COMPRESSION`), `OTEL_SERVICE_NAME` (default `multi-agent-api`),
`OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER` apply as OpenTelemetry defines them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import context, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME as SERVICE_NAME_KEY
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, StatusCode

__all__ = ["SERVICE_NAME", "OperationSpan", "Tracing"]

SERVICE_NAME = "multi-agent-api"


@dataclass
class OperationSpan:
    """The span of one GraphQL operation, current while the operation runs."""

    span: Span
    token: object

    def finish(self, *, name: str | None, kind: str, outcome: str, codes: Sequence[str]) -> None:
        self.span.update_name(f"{kind} {name}" if name else kind)
        self.span.set_attribute("graphql.operation.type", kind)
        if name:
            self.span.set_attribute("graphql.operation.name", name)
        self.span.set_attribute("graphql.outcome", outcome)
        if codes:
            self.span.set_attribute("graphql.error_codes", list(codes))
            self.span.set_status(StatusCode.ERROR, ", ".join(codes))
        self.span.end()
        context.detach(self.token)  # type: ignore[arg-type]


class Tracing:
    """The process's tracer provider, and the spans the server makes with it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("server")

    @classmethod
    def to_otlp(cls, endpoint: str) -> Tracing:
        exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        return cls.exporting(BatchSpanProcessor(exporter))

    @classmethod
    def exporting(cls, processor: SpanProcessor) -> Tracing:
        """Tracing whose spans go to `processor` (batches to OTLP; in tests, to memory)."""
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME_KEY, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME_KEY: SERVICE_NAME}))
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(processor)
        return cls(provider)

    def start_operation(self, headers: Mapping[str, str], request_id: str | None) -> OperationSpan:
        """A span for a GraphQL operation, made current so that the DynamoDB calls it makes
        are its children."""
        parent = propagate.extract(headers)
        span = self.tracer.start_span("graphql", context=parent, kind=SpanKind.SERVER)
        if request_id is not None:
            span.set_attribute("http.request.header.x-request-id", [request_id])
        token = context.attach(trace.set_span_in_context(span, parent))
        return OperationSpan(span, token)

    def start_call(self, operation: str, tables: Sequence[str]) -> Span | None:
        """A span for a DynamoDB call, a child of the current operation's span; None outside
        a traced operation (the sweep, the worker and readiness checks would each start a
        trace of one span, every few seconds)."""
        if not trace.get_current_span().is_recording():
            return None
        span = self.tracer.start_span(f"DynamoDB.{operation}", kind=SpanKind.CLIENT)
        span.set_attribute("rpc.system", "aws-api")
        span.set_attribute("rpc.service", "DynamoDB")
        span.set_attribute("rpc.method", operation)
        span.set_attribute("db.system", "dynamodb")
        if tables:
            span.set_attribute("aws.dynamodb.table_names", list(tables))
        return span

    @staticmethod
    def finish_call(span: Span, *, outcome: str, retries: int, aws_request_id: object) -> None:
        span.set_attribute("aws.dynamodb.retries", retries)
        if isinstance(aws_request_id, str):
            span.set_attribute("aws.request_id", aws_request_id)
        if outcome != "ok":
            span.set_attribute("error.type", outcome)
            span.set_status(StatusCode.ERROR, outcome)
        span.end()

    def close(self) -> None:
        """Export what is left, then stop."""
        self.provider.shutdown()
