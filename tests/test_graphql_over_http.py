"""GraphQL over HTTP, to the letter (https://graphql.github.io/graphql-over-http/draft/): the
response's media type follows `Accept`, request errors are 400s under
`application/graphql-response+json`, several operations need an `operationName`, and
`/graphql/` is `/graphql`. The whole audit suite runs in `test_graphql_over_http_audits.py`;
these pin our own codes and words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from tests.documents import CREATE_PROJECT

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
PROJECT_NAMES = "{ projects { name } }"


@pytest.fixture
async def http(app: ASGIApp, user_id: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://localhost", headers={"X-Dev-User": user_id}
    ) as client:
        yield client


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], accept: str | None = None, path: str = "/graphql"
) -> httpx.Response:
    headers = {"accept": accept} if accept is not None else {}
    return await http.post(path, json=body, headers=headers)


async def project_names(http: httpx.AsyncClient) -> list[str]:
    response = await post(http, {"query": PROJECT_NAMES})
    return [project["name"] for project in response.json()["data"]["projects"]]


def refusal(response: httpx.Response, status: int, code: str) -> str:
    """The message of a JSON refusal with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert list(body) == ["errors"], body
    assert len(body["errors"]) == 1, body
    assert body["errors"][0]["extensions"]["code"] == code, body
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{JSON};q=0.9, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        ("*/*", JSON),
        ("application/*;q=0.3, text/html", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", JSON),
        (f"text/html, {GRAPHQL_RESPONSE_JSON};q=0.1", GRAPHQL_RESPONSE_JSON),
    ],
)
async def test_given_an_accept_header_when_querying_then_the_answer_has_the_type_it_prefers(
    http: httpx.AsyncClient, accept: str | None, media_type: str
) -> None:
    response = await post(http, {"query": "{ viewer { userId } }"}, accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert "userId" in response.json()["data"]["viewer"]


@pytest.mark.parametrize("accept", ["text/html", f"{JSON};q=0, text/plain", "image/*"])
async def test_given_an_accept_header_allowing_neither_type_when_posting_then_406_and_nothing_runs(
    http: httpx.AsyncClient, accept: str
) -> None:
    create = {"query": CREATE_PROJECT, "variables": {"input": {"name": "never made"}}}

    response = await post(http, create, accept)

    message = refusal(response, 406, "NOT_ACCEPTABLE")
    assert GRAPHQL_RESPONSE_JSON in message
    assert JSON in message
    assert await project_names(http) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ viewer { userId }"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query P($id: ID!) { project(id: $id) { id } }", "variables": {"id": None}},
            "BAD_USER_INPUT",
        ),
        ({"query": "query P($id: ID!) { project(id: $id) { id } }"}, "BAD_USER_INPUT"),
    ],
)
async def test_given_a_request_error_when_graphql_response_json_is_accepted_then_400_without_data(
    http: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await post(http, body, GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize(
    "query",
    ["{ viewer { userId }", "{ noSuchField }", "query P($id: ID!) { project(id: $id) { id } }"],
)
async def test_given_a_request_error_when_only_json_is_accepted_then_200_as_legacy_clients_expect(
    http: httpx.AsyncClient, query: str
) -> None:
    response = await post(http, {"query": query}, JSON)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{JSON}; charset=utf-8"
    assert response.json()["data"] is None
    assert response.json()["errors"]


async def test_given_an_error_while_executing_when_graphql_response_json_then_200_with_data(
    http: httpx.AsyncClient,
) -> None:
    # deleteProject is non-null: its NOT_FOUND nulls `data`, but the operation did run.
    response = await post(
        http, {"query": 'mutation { deleteProject(id: "no-such-project") }'}, GRAPHQL_RESPONSE_JSON
    )

    assert response.status_code == 200
    answer = response.json()
    assert "data" in answer
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_given_two_operations_and_no_operation_name_when_posting_then_400_and_neither_runs(
    http: httpx.AsyncClient,
) -> None:
    document = """
    mutation First { createProject(input: {name: "first"}) { id } }
    mutation Second { createProject(input: {name: "second"}) { id } }
    """

    response = await post(http, {"query": document})

    message = refusal(response, 400, "BAD_REQUEST")
    assert "2 operations (First, Second)" in message
    assert "`operationName`" in message
    assert await project_names(http) == []


async def test_given_two_operations_and_an_operation_name_when_posting_then_that_one_runs(
    http: httpx.AsyncClient,
) -> None:
    document = """
    mutation First { createProject(input: {name: "first"}) { id } }
    mutation Second { createProject(input: {name: "second"}) { id } }
    """

    response = await post(http, {"query": document, "operationName": "Second"})

    assert response.status_code == 200
    assert "errors" not in response.json()
    assert await project_names(http) == ["second"]


async def test_given_an_operation_name_naming_none_when_posting_then_400_naming_it(
    http: httpx.AsyncClient,
) -> None:
    response = await post(http, {"query": "query A { viewer { userId } }", "operationName": "B"})

    assert '"B"' in refusal(response, 400, "BAD_REQUEST")


async def test_given_a_lone_operation_without_a_name_when_posting_then_it_runs(
    http: httpx.AsyncClient,
) -> None:
    named = await post(http, {"query": "query Me { viewer { userId } }"})
    anonymous = await post(http, {"query": "{ viewer { userId } }"})

    assert named.json()["data"] == anonymous.json()["data"]
    assert "errors" not in named.json()
    assert "errors" not in anonymous.json()


@pytest.mark.parametrize("operation_name", ["", None])
async def test_given_an_empty_or_null_operation_name_then_it_counts_as_absent(
    http: httpx.AsyncClient, operation_name: str | None
) -> None:
    query = "query Me { viewer { userId } }"
    by_get = await http.get("/graphql", params={"query": query, "operationName": operation_name})
    by_post = await post(http, {"query": query, "operationName": operation_name})

    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json()["data"] == by_post.json()["data"]
    assert "userId" in by_get.json()["data"]["viewer"]


async def test_given_a_mutation_over_get_then_405_with_allow_post_and_nothing_runs(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(
        "/graphql", params={"query": 'mutation { createProject(input: {name: "x"}) { id } }'}
    )

    assert "POST" in refusal(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    assert await project_names(http) == []


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "PATCH"])
async def test_given_another_method_then_405_naming_get_and_post_in_allow(
    http: httpx.AsyncClient, method: str
) -> None:
    response = await http.request(method, "/graphql")

    assert response.status_code == 405
    assert {name.strip() for name in response.headers["allow"].split(",")} >= {"GET", "POST"}
    if method != "HEAD":  # a HEAD answer has no body
        refusal(response, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("body", [{}, {"query": None}, {"variables": {}}])
async def test_given_no_query_then_400_naming_the_query_parameter(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await post(http, body)

    assert "`query`" in refusal(response, 400, "BAD_REQUEST")


async def test_given_a_content_type_that_is_not_json_then_415_naming_what_is_accepted(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql",
        content=b"{ viewer { userId } }",
        headers={"content-type": "application/graphql"},
    )

    assert JSON in refusal(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_given_the_trailing_slash_path_then_it_answers_like_graphql(
    http: httpx.AsyncClient, accept: str
) -> None:
    plain = await post(http, {"query": "{ viewer { userId } }"}, accept, path="/graphql")
    slashed = await post(http, {"query": "{ viewer { userId } }"}, accept, path="/graphql/")

    assert slashed.status_code == plain.status_code == 200
    assert slashed.headers["content-type"] == plain.headers["content-type"]
    assert slashed.json()["data"] == plain.json()["data"]


async def test_given_a_browser_on_the_trailing_slash_path_then_graphiql_is_served(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/graphql/", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
