"""Prometheus metrics: what the server counts, and where it shows them.

The counting is always on and costs microseconds an operation or DynamoDB call (no hook per
field). Showing them is off unless `METRICS_PORT` is set: then Prometheus text is
served on that port of `METRICS_HOST` (127.0.0.1 unless set), never on the API's own port, so
nothing reached through the load balancer shows them.

Every label has a bounded set of values: operation types, outcomes and error codes are the
server's own; DynamoDB operations and tables are those the store calls; an operation's name,
which clients choose, is kept only once an operation of that name has run (passed validation
with an identity), for the first `MAX_OPERATION_NAMES` such names of the process, and is
`other` beyond them (or for a refused operation of an unknown name) and `anonymous` when
unnamed.

The numbers are per process. Under several worker processes, set `PROMETHEUS_MULTIPROC_DIR`
(an empty directory, before the processes start: prometheus-client reads it at import) and
every process writes its numbers there; whichever process binds `METRICS_PORT` serves them
all, summed.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass
from threading import Thread
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import start_http_server as _start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = [
    "CHANGE_FEED_FAILURES",
    "CHANGE_FEED_RECORDS",
    "CHANGE_FEED_RESYNCS",
    "DEPLOYMENT_CLAIMS",
    "DEPLOYMENT_OUTCOMES",
    "DYNAMODB_REQUESTS",
    "DYNAMODB_RETRIES",
    "DYNAMODB_SECONDS",
    "GRAPHQL_ERRORS",
    "GRAPHQL_OPERATIONS",
    "GRAPHQL_SECONDS",
    "GRAPHQL_SUBSCRIPTIONS",
    "MAX_OPERATION_NAMES",
    "MetricsEndpoint",
    "OperationNames",
    "bounded_label",
    "forget_this_process",
    "serve_metrics",
]

logger = logging.getLogger(__name__)

MAX_OPERATION_NAMES = 100
MAX_LABEL_LENGTH = 100
LABEL_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

GRAPHQL_OPERATIONS = Counter(
    "graphql_operations",
    "GraphQL operations, by operation name, type and outcome (ok, error, cancelled)",
    ["operation", "type", "outcome"],
)
GRAPHQL_SECONDS = Histogram(
    "graphql_operation_duration_seconds",
    "Time to answer a query or mutation (subscriptions are left out: they last)",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter("graphql_errors", "GraphQL errors, by extensions.code", ["code"])
GRAPHQL_SUBSCRIPTIONS = Gauge(
    "graphql_subscriptions_active",
    "Subscriptions running on WebSockets",
    multiprocess_mode="livesum",
)
DYNAMODB_REQUESTS = Counter(
    "dynamodb_requests",
    "DynamoDB requests, by API operation, table and outcome (ok, or the error code)",
    ["operation", "table", "outcome"],
)
DYNAMODB_SECONDS = Histogram(
    "dynamodb_request_duration_seconds",
    "Time of a DynamoDB request, its retries and their backoff included",
    ["operation", "table"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DYNAMODB_RETRIES = Counter(
    "dynamodb_retries",
    "Attempts botocore retried (throttling, transient errors), by API operation and table",
    ["operation", "table"],
)
DEPLOYMENT_CLAIMS = Counter(
    "deployment_worker_claims",
    "Deployments the worker tried to claim: claimed, or skipped (taken, cancelled, gone)",
    ["result"],
)
DEPLOYMENT_OUTCOMES = Counter(
    "deployment_worker_outcomes",
    "Deployments the worker claimed, by how they ended: success, failed (the deployer said"
    " why), deployer_error (it raised), cancelled (meanwhile)",
    ["outcome"],
)
CHANGE_FEED_RECORDS = Counter(
    "change_feed_records", "Records the change feed read from the deployments stream"
)
CHANGE_FEED_RESYNCS = Counter(
    "change_feed_resyncs",
    "Times the change feed had the watchers re-read their deployments (start, after a gap)",
)
CHANGE_FEED_FAILURES = Counter(
    "change_feed_failures", "Times the deployments stream could not be read (retried)"
)


def bounded_label(value: str, *, otherwise: str = "other") -> str:
    """`value` when it reads as a name (letters, digits, `_` and `.`, at most 100), else
    `otherwise`: a label never holds text a caller or a server chose freely."""
    if len(value) <= MAX_LABEL_LENGTH and LABEL_VALUE.fullmatch(value):
        return value
    return otherwise


class OperationNames:
    """The `operation` label of a GraphQL operation's name, from a bounded set."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None, *, ran: bool) -> str:
        """`name` once an operation of that name has run (up to `limit` names), else `other`;
        `anonymous` when there is none."""
        if name is None:
            return "anonymous"
        if name in self._known:
            return name
        if ran and len(self._known) < self.limit and bounded_label(name) == name:
            self._known.add(name)
            return name
        return "other"


@dataclass
class MetricsEndpoint:
    """The metrics server of this process: a thread of prometheus-client's own."""

    server: Any
    thread: Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def serve_metrics(host: str, port: int) -> MetricsEndpoint | None:
    """Serve the metrics on `host:port`. Under `PROMETHEUS_MULTIPROC_DIR`, every process's,
    summed; there, when another process holds the port already, None (it serves them)."""
    multiprocess = bool(os.environ.get(MULTIPROCESS_DIRECTORY))
    registry = CollectorRegistry() if multiprocess else REGISTRY
    if multiprocess:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        server, thread = _start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        if multiprocess and error.errno == errno.EADDRINUSE:
            logger.info("metrics: port %d is served by another process of this server", port)
            return None
        raise
    logger.info("metrics: http://%s:%d/metrics", host if ":" not in host else f"[{host}]", port)
    return MetricsEndpoint(server, thread)


def forget_this_process() -> None:
    """At shutdown, under `PROMETHEUS_MULTIPROC_DIR`: this process's subscriptions are over."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
