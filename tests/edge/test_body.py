"""Every refusal at the HTTP level is JSON with a code; a client's bad input is never a 500."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from server.edge.body import MAX_JSON_DEPTH

QUERY = b'{"query": "{ viewer { userId } }"}'


def http(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


def refusal(response: httpx.Response) -> dict[str, Any]:
    """The one error of a JSON refusal."""
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert list(body) == ["errors"], body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


async def post(app: ASGIApp, content: bytes, content_type: str = "application/json") -> Any:
    async with http(app) as client:
        return await client.post(
            "/graphql", content=content, headers={"content-type": content_type}
        )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'"x"', "got a string"),
        (b"5", "got a number"),
        (b"null", "got null"),
        (b"true", "got a boolean"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b'{"query": "\xc3\x28"}', "not valid UTF-8 JSON"),
        (b"{", "not valid UTF-8 JSON"),
        (b"", "not valid UTF-8 JSON"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper than"),
        (b'{"query": "{ viewer { userId } }", "variables": {"n": NaN}}', "NaN is not JSON"),
        (b'{"query": "{ viewer { userId } }", "variables": 5}', "`variables` must be an object"),
        (b'{"query": 5}', "`query` must be a string"),
        (b'{"query": "{ viewer { userId } }", "operationName": []}', "`operationName` must be"),
        (b'[{"query": "{ viewer { userId } }"}]', "batched operations"),
    ],
)
async def test_a_malformed_body_is_a_bad_request_without_a_traceback(
    app: ASGIApp, caplog: pytest.LogCaptureFixture, body: bytes, says: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = await post(app, body)

    error = refusal(response)
    assert response.status_code == 400
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert says in error["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def nested(depth: int) -> bytes:
    value = '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)
    return b'{"query": "{ viewer { userId } }", "variables": {"v": ' + value.encode() + b"}}"


async def test_json_nested_deeper_than_the_bound_is_a_bad_request(app: ASGIApp) -> None:
    # The body object and `variables` are two levels; `v` brings the rest.
    deepest_served = await post(app, nested(MAX_JSON_DEPTH - 2))
    too_deep = await post(app, nested(MAX_JSON_DEPTH - 1))

    assert deepest_served.status_code == 200
    assert too_deep.status_code == 400
    assert f"nested deeper than {MAX_JSON_DEPTH}" in refusal(too_deep)["message"]


async def test_variables_of_a_get_are_bounded_like_a_body(app: ASGIApp) -> None:
    async with http(app) as client:
        response = await client.get(
            "/graphql",
            params={"query": "{ viewer { userId } }", "variables": "[" * 100 + "]" * 100},
        )

    assert response.status_code == 400
    assert refusal(response)["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/jsonp",
        "application/json-patch+json",
        "text/json",
        "application/json; charset=latin-1",
        "",
    ],
)
async def test_only_application_json_is_accepted(app: ASGIApp, content_type: str) -> None:
    response = await post(app, QUERY, content_type)

    error = refusal(response)
    assert response.status_code == 415
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in error["message"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
async def test_application_json_with_or_without_a_utf8_charset_is_served(
    app: ASGIApp, content_type: str
) -> None:
    response = await post(app, QUERY, content_type)

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"userId": "dev-user"}}}


async def test_a_body_over_the_limit_is_a_json_413(app: ASGIApp) -> None:
    response = await post(app, b" " * (1024 * 1024 + 1))

    assert response.status_code == 413
    assert refusal(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_other_methods_and_paths_are_json_refusals(app: ASGIApp) -> None:
    async with http(app) as client:
        put = await client.put("/graphql", content=QUERY)
        missing = await client.get("/nowhere")

    assert put.status_code == 405
    assert "POST" in put.headers["allow"]
    assert refusal(put)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert missing.status_code == 404
    assert refusal(missing)["extensions"]["code"] == "NOT_FOUND"


SUBSCRIPTION = 'subscription { deploymentUpdated(id: "d") { id } }'


async def test_a_subscription_over_http_is_a_bad_request_pointing_to_websockets(
    app: ASGIApp, caplog: pytest.LogCaptureFixture
) -> None:
    async with http(app) as client:
        posted = await client.post("/graphql", json={"query": SUBSCRIPTION})
        got = await client.get("/graphql", params={"query": SUBSCRIPTION})

    for response in (posted, got):
        error = refusal(response)
        assert response.status_code == 400
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "subscriptions need a WebSocket on /graphql" in error["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
