"""The admin's view of another user's deployment: its own fields, nothing else of the account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.types import ASGIApp

from tests.conftest import GraphQLClient
from tests.documents import CANCEL_DEPLOYMENT, CREATE_DEPLOYMENT, CREATE_PROJECT, SET_ENV_VAR

OWNED = {"input": {"name": "Owned"}}
ENV_VARS = [
    {"key": "REGION", "value": "eu-west-1"},
    {"key": "API_KEY", "value": "sk-live-123", "secret": True},
]
# The attacker's document: the admin's answer reaching into the owner's project.
REACH = """
mutation($u: ID!, $id: ID!) {
  updateDeploymentStatus(userId: $u, id: $id, status: DEPLOYING, appendLogs: ["step 1"]) {
    project { envVars { value } } config
  }
}
"""
REACH_BY_FRAGMENT = """
mutation($u: ID!, $id: ID!) {
  updateDeploymentStatus(userId: $u, id: $id, status: DEPLOYING) { ...Reach }
}
fragment Reach on Deployment { id ... on Deployment { project { name } } }
"""
CHANGES = """
mutation($u: ID!, $id: ID!, $against: ID) {
  updateDeploymentStatus(userId: $u, id: $id, status: DEPLOYING) {
    id changes(against: $against) { path }
  }
}
"""
OWN_FIELDS = """
mutation($u: ID!, $id: ID!) {
  updateDeploymentStatus(userId: $u, id: $id, status: DEPLOYING, appendLogs: ["step 1"]) {
    id projectId status error createdAt updatedAt logs config
  }
}
"""
OWNER_VIEW = """
query($id: ID!, $against: ID!) {
  deployment(id: $id) {
    project { envVars { key value } }
    changes(against: $against) { path kind }
  }
}
"""
STATUS = "query($id: ID!) { deployment(id: $id) { status logs } }"


@pytest.fixture
async def admin(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, f"pipeline-{uuid.uuid4().hex[:8]}", "admin") as admin:
        yield admin


async def project_with_env(client: GraphQLClient) -> str:
    project_id: str = (await client.data(CREATE_PROJECT, OWNED))["createProject"]["id"]
    for env_var in ENV_VARS:
        await client.data(SET_ENV_VAR, {"projectId": project_id, "input": env_var})
    return project_id


async def deployed(client: GraphQLClient, project_id: str, *, active: bool = False) -> str:
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id: str = created["createDeployment"]["id"]
    if not active:
        await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})
    return deployment_id


async def refused(admin: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await admin.execute(query, variables)
    assert body["data"] is None
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


async def test_the_admins_answer_cannot_reach_the_owners_project_and_changes_nothing(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    deployment_id = await deployed(client, await project_with_env(client), active=True)
    before = (await client.data(STATUS, {"id": deployment_id}))["deployment"]

    error = await refused(admin, REACH, {"u": user_id, "id": deployment_id})

    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"].startswith("project: an admin sees another user's deployment")
    assert (await client.data(STATUS, {"id": deployment_id}))["deployment"] == before


async def test_a_fragment_does_not_hide_the_project_from_the_rule(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    deployment_id = await deployed(client, await project_with_env(client), active=True)

    error = await refused(admin, REACH_BY_FRAGMENT, {"u": user_id, "id": deployment_id})

    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("whose", ["the admin's own", "the owner's other", "none: the previous"])
async def test_the_admins_answer_cannot_compare_with_any_deployment(
    client: GraphQLClient, admin: GraphQLClient, user_id: str, whose: str
) -> None:
    project_id = await project_with_env(client)
    owners_other = await deployed(client, project_id)
    deployment_id = await deployed(client, project_id, active=True)
    admins_project = (await admin.data(CREATE_PROJECT, OWNED))["createProject"]["id"]
    admins_own = await deployed(admin, admins_project)
    against = {"the admin's own": admins_own, "the owner's other": owners_other}.get(whose)

    error = await refused(admin, CHANGES, {"u": user_id, "id": deployment_id, "against": against})

    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"].startswith("changes: an admin sees another user's deployment")
    status = (await client.data(STATUS, {"id": deployment_id}))["deployment"]["status"]
    assert status == "PENDING"


async def test_the_admins_answer_holds_the_deployments_own_fields_secrets_redacted(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    project_id = await project_with_env(client)
    deployment_id = await deployed(client, project_id, active=True)

    answer = (await admin.data(OWN_FIELDS, {"u": user_id, "id": deployment_id}))[
        "updateDeploymentStatus"
    ]

    assert (answer["id"], answer["projectId"], answer["status"]) == (
        deployment_id,
        project_id,
        "DEPLOYING",
    )
    assert answer["logs"][-2].endswith("step 1")
    assert answer["config"]["env"] == [
        {"key": "API_KEY", "value": None, "secret": True},
        {"key": "REGION", "value": "eu-west-1", "secret": False},
    ]


async def test_the_owners_view_of_project_and_changes_is_unchanged(
    client: GraphQLClient, user_id: str
) -> None:
    project_id = await project_with_env(client)
    first = await deployed(client, project_id)
    second = await deployed(client, project_id)

    seen = (await client.data(OWNER_VIEW, {"id": second, "against": first}))["deployment"]

    assert {"key": "REGION", "value": "eu-west-1"} in seen["project"]["envVars"]
    assert seen["changes"] == []


async def test_an_admin_sees_all_of_a_deployment_of_their_own(admin: GraphQLClient) -> None:
    viewer = (await admin.data("{ viewer { userId } }"))["viewer"]["userId"]
    project_id = await project_with_env(admin)
    first = await deployed(admin, project_id)
    second = await deployed(admin, project_id, active=True)

    answer = (await admin.data(CHANGES, {"u": viewer, "id": second, "against": first}))[
        "updateDeploymentStatus"
    ]
    reached = (await admin.data(REACH, {"u": viewer, "id": second}))["updateDeploymentStatus"]

    assert answer == {"id": second, "changes": []}
    assert {"value": "eu-west-1"} in reached["project"]["envVars"]
