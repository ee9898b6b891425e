"""Logs of a whole session hold no secret: no env var value, no token, no header value (but a
sane `X-Request-Id`), at any level, in text or JSON lines."""

from __future__ import annotations

import json
import logging
import signal
import uuid

import httpx
import pytest
from starlette.types import ASGIApp

from server.logs import JsonLines
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.servers import serving

SESSION = [
    'mutation { createProject(input: {name: "Logged"}) { id } }',
    'mutation($p: ID!) { setEnvVar(projectId: $p, input: {key: "API_KEY", value: "%s",'
    " secret: true}) { id value } }",
    "mutation($p: ID!) { createDeployment(projectId: $p) { id config } }",
    "query($p: ID!) { project(id: $p) { envVars { key value } deployments { config logs } } }",
    'mutation { deleteProject(id: "no-such-project") }',
    "{ broken ",
]


async def test_a_session_at_debug_level_logs_no_secret(
    app: ASGIApp, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"sk-live-{uuid.uuid4().hex}"
    token = f"tok-{uuid.uuid4().hex}"
    with caplog.at_level(logging.DEBUG):
        async with GraphQLClient.for_app(app, "logged-user") as client:
            client.http.headers["Authorization"] = f"Bearer {token}"
            project_id = (await client.data(SESSION[0]))["createProject"]["id"]
            for document in SESSION[1:]:
                await client.execute(document.replace("%s", secret), {"p": project_id})

    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert caplog.records  # the session did log
    assert secret not in logged
    assert token not in logged
    assert "Authorization" not in logged


def test_a_served_session_writes_json_lines_that_hold_no_secret(
    dynamodb_endpoint: str, settings: Settings, store: Store
) -> None:
    secret = f"sk-live-{uuid.uuid4().hex}"
    token = f"tok-{uuid.uuid4().hex}"
    aws_secret = f"aws-{uuid.uuid4().hex}"
    headers = {"X-Dev-User": "served-user", "Authorization": f"Bearer {token}"}
    with serving(
        "debug",
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        LOG_FORMAT="json",
        AWS_SECRET_ACCESS_KEY=aws_secret,
    ) as (base, process):
        with httpx.Client(base_url=base, headers=headers) as http:
            created = http.post(
                "/graphql", json={"query": SESSION[0]}, headers={"X-Request-Id": "session-1"}
            ).json()
            project_id = created["data"]["createProject"]["id"]
            variables = {"p": project_id}
            http.post(
                "/graphql", json={"query": SESSION[1].replace("%s", secret), "variables": variables}
            )
            # A GET's query string carries its document and variables: never logged.
            http.get("/graphql", params={"query": SESSION[1].replace("%s", secret)})
            http.get("/graphql", params={"query": SESSION[3], "variables": json.dumps(variables)})
            http.get("/nowhere", params={"key": secret})
            # An id that is not sane is replaced, not logged.
            insane = {"X-Request-Id": f"id {secret}"}
            http.post("/graphql", json={"query": SESSION[3]}, headers=insane)
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        logged = process.stdout.read()

    for hidden in (secret, token, aws_secret, "Authorization"):
        assert hidden not in logged
    lines = [json.loads(line) for line in logged.splitlines()]
    assert all(line["time"] and line["level"] and line["logger"] for line in lines)
    operations = [line for line in lines if line["logger"] == "server.operations"]
    assert len(operations) == 5
    first = operations[0]
    assert first["request_id"] == "session-1"
    assert first["user_id"] == "served-user"
    assert (first["operation_type"], first["outcome"], first["error_codes"]) == (
        "mutation",
        "ok",
        [],
    )
    assert (first["dynamodb_requests"], first["dynamodb_rounds"]) >= (1, 1)
    assert first["duration_ms"] > 0
    assert len({line["request_id"] for line in operations}) == 5


def test_a_json_line_is_written_whatever_text_it_holds() -> None:
    record = logging.LogRecord("server.x", logging.INFO, __file__, 1, "odd %s", ("\ud800",), None)

    line = json.loads(JsonLines().format(record))

    assert line["message"] == "odd \ud800"
