"""OpenTelemetry: a span per GraphQL operation and one per DynamoDB call below it, never one
per field; nothing of OpenTelemetry without `OTEL_EXPORTER_OTLP_ENDPOINT`."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp

from server.app import create_app
from server.otel import Tracing
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import DASHBOARD
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[1]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced_app(
    settings: Settings, store: Store, exporter: InMemorySpanExporter
) -> AsyncIterator[ASGIApp]:
    tracing = Tracing.exporting(SimpleSpanProcessor(exporter))
    debugged = settings.model_copy(update={"debug_extensions": True})
    async with LifespanManager(create_app(debugged, tracing=tracing)) as manager:
        yield manager.app


@pytest.fixture
async def traced(
    traced_app: ASGIApp, exporter: InMemorySpanExporter, user_id: str
) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(traced_app, user_id) as client:
        await client.data('mutation { createProject(input: {name: "Traced"}) { id } }')
        exporter.clear()
        yield client


def operations(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.SERVER]


async def test_an_operation_is_one_span_with_a_child_span_per_dynamodb_call(
    traced: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    body = await traced.execute(DASHBOARD)

    spans = exporter.get_finished_spans()
    [operation] = operations(spans)
    calls = [span for span in spans if span is not operation]
    assert operation.name == "query Dashboard"
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "query"
    assert len(calls) == body["extensions"]["dynamodb"]["requests"]  # and none per field
    assert {span.name for span in calls} <= {"DynamoDB.Query", "DynamoDB.Scan"}
    assert all(span.kind is SpanKind.CLIENT for span in calls)
    assert operation.context is not None
    assert all(
        span.parent is not None and span.parent.span_id == operation.context.span_id
        for span in calls
    )
    first = calls[0].attributes
    assert first is not None
    assert first["rpc.service"] == "DynamoDB"
    assert str(first["aws.dynamodb.table_names"][0]).startswith("test-")  # type: ignore[index]


async def test_an_operation_continues_the_trace_its_request_names(
    traced: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    await traced.http.post(
        "/graphql", json={"query": "{ viewer { userId } }"}, headers={"traceparent": TRACEPARENT}
    )

    [operation] = operations(exporter.get_finished_spans())
    assert operation.context is not None
    assert operation.parent is not None
    assert f"{operation.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{operation.parent.span_id:016x}" == TRACEPARENT.split("-")[2]


async def test_a_failed_operation_says_so_with_its_codes(
    traced: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    await traced.error('mutation Blank { createProject(input: {name: " "}) { id } }')

    [operation] = operations(exporter.get_finished_spans())
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.attributes is not None
    assert list(operation.attributes["graphql.error_codes"]) == ["BAD_USER_INPUT"]  # type: ignore[arg-type]


async def test_dynamodb_calls_outside_operations_are_not_traced(
    traced_app: ASGIApp, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    transport = httpx.ASGITransport(app=traced_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        ready = await http.get("/readyz")

    assert ready.status_code == 200
    assert exporter.get_finished_spans() == ()


def python(script: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


UNTRACED = """
import asyncio, sys
import httpx
from asgi_lifespan import LifespanManager
from server.app import create_app
from server.settings import Settings

async def main():
    settings = Settings(allowed_hosts=("localhost",))
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            answer = await http.post("/graphql", json={"query": "{ projects { id } }"})
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))

asyncio.run(main())
"""


def test_without_the_setting_nothing_of_opentelemetry_is_imported(
    dynamodb_endpoint: str, settings: Settings, store: Store
) -> None:
    ran = python(
        UNTRACED,
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def test_the_setting_without_the_extra_stops_the_server_with_one_line() -> None:
    # As if the `otel` extra were not installed.
    script = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from server.cli import main\n"
        "sys.exit(main(['serve', '--port', '1']))"
    )

    refused = python(script, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")

    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: OTEL_EXPORTER_OTLP_ENDPOINT is set")
    assert "pip install 'multi-agent-api[otel]'" in refused.stderr


class Collector:
    """An OTLP/HTTP receiver on the loopback: the trace requests it was sent."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.requests.append(request)
                collector.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def span_names(self) -> list[str]:
        return [
            span.name
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    collector.thread.start()
    try:
        yield collector
    finally:
        collector.server.shutdown()
        collector.server.server_close()


def test_spans_are_exported_over_otlp_http_to_the_endpoint(
    dynamodb_endpoint: str, settings: Settings, store: Store, collector: Collector
) -> None:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
    ) as (base, process):
        answer = httpx.post(f"{base}/graphql", json={"query": "query Exported { projects { id } }"})
        process.send_signal(signal.SIGTERM)  # a clean stop sends what is left
        process.wait(timeout=15)

    assert answer.status_code == 200
    assert set(collector.paths) == {"/v1/traces"}
    assert sorted(collector.span_names()) == ["DynamoDB.Query", "query Exported"]
