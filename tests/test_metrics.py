"""`/metrics`: Prometheus text on a port of its own, off unless `METRICS_PORT` is set; summed
over the processes that share `PROMETHEUS_MULTIPROC_DIR` (what is counted:
tests/schema/test_observe.py, tests/deployments/test_worker.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from server.metrics import serve_metrics
from server.settings import Settings
from server.store import Store
from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT
from tests.servers import GRAPHQL_TRANSPORT_WS, free_port, serving

WAIT = 10  # seconds: a bound, not a pause


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample the endpoint shows, by name and labels."""
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def post(
    base: str, query: str, variables: dict[str, Any] | None = None, *, user: str = "dev-user"
) -> Any:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"X-Dev-User": user},
    )
    return response.json()


@pytest.fixture(scope="module")
def served(dynamodb_endpoint: str, settings: Settings, store: Store) -> Iterator[tuple[str, str]]:
    """A server with metrics on, and the URL of its metrics."""
    port = free_port()
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        METRICS_PORT=str(port),
    ) as (base, _):
        yield base, f"http://127.0.0.1:{port}/metrics"


def test_the_metrics_port_shows_operations_and_their_dynamodb_requests(
    served: tuple[str, str], settings: Settings
) -> None:
    base, metrics = served

    body = post(base, "query Scraped { projects { id } }", user="scraped")

    assert "errors" not in body
    samples = scrape(metrics)
    labels = {"operation": "Scraped", "type": "query"}
    assert value(samples, "graphql_operations_total", **labels, outcome="ok") == 1
    assert value(samples, "graphql_operation_duration_seconds_count", **labels) == 1
    projects = f"{settings.table_prefix}projects"
    assert (
        value(samples, "dynamodb_requests_total", operation="Query", table=projects, outcome="ok")
        >= 1
    )
    assert value(samples, "graphql_subscriptions_active") == 0
    assert value(samples, "process_cpu_seconds_total") > 0


def test_a_metrics_endpoint_binds_the_host_it_is_given() -> None:
    port = free_port()
    endpoint = serve_metrics("127.0.0.1", port)
    assert endpoint is not None
    try:
        address = endpoint.server.server_address
        answered = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code
    finally:
        endpoint.close()

    assert (address[0], answered) == ("127.0.0.1", 200)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)


async def test_active_subscriptions_are_counted_and_a_socket_gets_its_request_id(
    served: tuple[str, str],
) -> None:
    base, metrics = served
    user = f"watcher-{uuid.uuid4().hex[:8]}"
    project = post(base, CREATE_PROJECT, {"input": {"name": "Watched"}}, user=user)
    project_id = project["data"]["createProject"]["id"]
    deployment = post(base, CREATE_DEPLOYMENT, {"projectId": project_id}, user=user)
    deployment_id = deployment["data"]["createDeployment"]["id"]
    url = base.replace("http://", "ws://") + "/graphql"

    async with connect(
        url, subprotocols=GRAPHQL_TRANSPORT_WS, additional_headers={"X-Request-Id": "socket-7"}
    ) as socket:
        assert socket.response is not None
        echoed = socket.response.headers["x-request-id"]
        init = {"type": "connection_init", "payload": {"X-Dev-User": user}}
        await socket.send(json.dumps(init))
        await asyncio.wait_for(socket.recv(), WAIT)
        query = "subscription Watch($id: ID!) { deploymentUpdated(id: $id) { status } }"
        subscribe = {"query": query, "variables": {"id": deployment_id}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        await asyncio.wait_for(socket.recv(), WAIT)  # the deployment as it is
        during = value(scrape(metrics), "graphql_subscriptions_active")
        await socket.send(json.dumps({"id": "1", "type": "complete"}))

    after = await asyncio.to_thread(gauge_settles_at, metrics, 0)
    assert (echoed, during, after) == ("socket-7", 1, 0)


def gauge_settles_at(metrics: str, expected: float) -> float:
    """The subscriptions gauge once it reads `expected` (the server ends a completed
    subscription as its own task gets to it), or as it reads after `WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        current = value(scrape(metrics), "graphql_subscriptions_active")
        if current == expected or time.monotonic() > deadline:
            return current
        time.sleep(0.02)  # between polls, as `wait_for_health` does


def test_processes_sharing_a_multiprocess_directory_are_served_summed(
    dynamodb_endpoint: str, settings: Settings, store: Store, tmp_path: Path
) -> None:
    port = free_port()
    shared = {
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": dynamodb_endpoint,
        "TABLE_PREFIX": settings.table_prefix,
        "DEPLOYER": "none",
        "METRICS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    with ExitStack() as stack:
        bases = [stack.enter_context(serving(**shared))[0] for _ in range(2)]
        for number, base in enumerate(bases, start=1):
            for _ in range(number):
                post(base, "query Summed { viewer { userId } }")
        samples = scrape(f"http://127.0.0.1:{port}/metrics")

    summed = value(
        samples, "graphql_operations_total", operation="Summed", type="query", outcome="ok"
    )
    assert summed == 3
