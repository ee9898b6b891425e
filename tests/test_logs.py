"""Logs of a whole session hold no secret: no env var value, no token, no header."""

from __future__ import annotations

import logging
import uuid

import pytest
from starlette.types import ASGIApp

from tests.conftest import GraphQLClient

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
