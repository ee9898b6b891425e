"""Every request has an id: the caller's `X-Request-Id` when sane, else a fresh one; echoed in
the response and carried by every log line the request writes."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from server.logs import JsonLines
from server.settings import Settings
from server.store import Store
from tests.test_abuse_limits import app_with

FRESH = re.compile(r"[0-9a-f]{32}")
QUERY = {"query": "query Who { viewer { userId } }"}


class Lines:
    """The JSON lines the server's loggers write while it is open, as the process writes them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def all(self) -> list[dict[str, Any]]:
        """The server's own lines (the test's HTTP client logs too)."""
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [line for line in lines if line["logger"].startswith("server.")]

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line["logger"] == logger]


@pytest.fixture
def lines() -> Iterator[Lines]:
    lines = Lines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(JsonLines())
    server = logging.getLogger("server")
    level = server.level
    server.setLevel(logging.DEBUG)
    logging.root.addHandler(handler)
    try:
        yield lines
    finally:
        logging.root.removeHandler(handler)
        server.setLevel(level)


@pytest.fixture
async def http(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://localhost", headers={"X-Dev-User": "ided"}
    ) as http:
        yield http


async def test_a_sane_request_id_is_echoed_and_carried_by_the_operation_line(
    http: httpx.AsyncClient, lines: Lines
) -> None:
    request_id = f"lb-{uuid.uuid4()}.1:2_3"

    response = await http.post("/graphql", json=QUERY, headers={"X-Request-Id": request_id})

    assert response.headers["x-request-id"] == request_id
    [line] = lines.of("server.operations")
    assert line["request_id"] == request_id
    assert line["operation_name"] == "Who"


@pytest.mark.parametrize(
    "given",
    [None, "", "x" * 129, "has space", 'quote"d', "caf\u00e9", "a,b", "<script>"],
)
async def test_an_insane_or_missing_request_id_is_replaced_by_a_fresh_one(
    http: httpx.AsyncClient, lines: Lines, given: str | None
) -> None:
    value = given.encode() if isinstance(given, str) else given
    headers = {} if value is None else {b"X-Request-Id": value}

    first = await http.post("/graphql", json=QUERY, headers=headers)
    second = await http.post("/graphql", json=QUERY, headers=headers)

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(FRESH.fullmatch(request_id) for request_id in ids)
    assert ids[0] != ids[1]
    assert [line["request_id"] for line in lines.of("server.operations")] == ids
    if given:
        logged = lines.stream.getvalue()
        assert given not in logged


async def test_every_line_of_a_request_carries_its_id(
    settings: Settings, store: Store, lines: Lines
) -> None:
    prefix = f"absent-{uuid.uuid4().hex[:8]}-"
    async with app_with(settings, table_prefix=prefix) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            response = await http.get("/readyz", headers={"X-Request-Id": "probe-1"})

    assert response.status_code == 503
    request_lines = [line for line in lines.all() if "request_id" in line]
    assert len(request_lines) == 8  # a warning for each of the seven tables, the access line
    assert {line["request_id"] for line in request_lines} == {"probe-1"}


async def test_a_request_without_an_operation_leaves_one_access_line_without_its_query(
    http: httpx.AsyncClient, lines: Lines
) -> None:
    response = await http.get("/nowhere?token=sk-live-123", headers={"X-Request-Id": "r-404"})

    assert response.status_code == 404
    [line] = lines.of("server.access")
    assert {key: line[key] for key in ("level", "method", "path", "status", "request_id")} == {
        "level": "INFO",
        "method": "GET",
        "path": "/nowhere",
        "status": 404,
        "request_id": "r-404",
    }
    assert "sk-live-123" not in json.dumps(lines.all())


async def test_a_graphql_request_leaves_its_operation_line_only(
    http: httpx.AsyncClient, lines: Lines
) -> None:
    await http.post("/graphql", json=QUERY)

    assert [line["logger"] for line in lines.all()] == ["server.operations"]


async def test_probes_are_logged_at_debug_only(http: httpx.AsyncClient, lines: Lines) -> None:
    await http.get("/healthz")

    assert [(line["level"], line["path"]) for line in lines.of("server.access")] == [
        ("DEBUG", "/healthz")
    ]
