"""Versions and rollback: what changed between deployments, and deploying an old one again."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_AGENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    REDEPLOY,
    SET_ENV_VAR,
    UPDATE_AGENT,
)

VERSIONED = {"input": {"name": "Versioned"}}
TRIAGE = {
    "name": "triage",
    "systemPrompt": "Sort.",
    "model": {"region": "us-east-1", "modelId": "claude-3-haiku"},
}
SONNET = {"model": {"region": "us-east-1", "modelId": "claude-3-sonnet"}}
BANNER = {"name": "show_banner", "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}
CHANGES = """
query($id: ID!, $against: ID) {
  deployment(id: $id) { changes(against: $against) { path kind before after } }
}
"""
# Redeploy copies the old snapshot: `config` shows it.
REDEPLOY_SHOWING_CONFIG = "mutation($id: ID!) { redeploy(deploymentId: $id) { id status config } }"
CONFIG = "query($id: ID!) { deployment(id: $id) { config } }"


async def deployed(client: GraphQLClient, project_id: str) -> str:
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id: str = created["createDeployment"]["id"]
    # frees the project's one active slot
    await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})
    return deployment_id


def secret(value: str) -> dict[str, Any]:
    return {"key": "TOKEN", "value": value, "secret": True}


async def changes(client: GraphQLClient, deployment_id: str, against: str | None = None) -> Any:
    data = await client.data(CHANGES, {"id": deployment_id, "against": against})
    return data["deployment"]["changes"]


async def test_a_model_change_and_a_new_tool_are_the_changes_from_the_previous_deployment(
    client: GraphQLClient,
) -> None:
    project_id = (await client.data(CREATE_PROJECT, VERSIONED))["createProject"]["id"]
    agent = await client.data(CREATE_AGENT, {"projectId": project_id, "input": TRIAGE})
    agent_id = agent["createAgent"]["id"]
    first = await deployed(client, project_id)
    await client.data(UPDATE_AGENT, {"id": agent_id, "input": SONNET})
    await client.data(CREATE_TOOL, {"projectId": project_id, "input": BANNER})
    second = await deployed(client, project_id)

    found = await changes(client, second)

    by_path = {change["path"]: change for change in found}
    assert by_path["agents[name=triage].model.model_id"] == {
        "path": "agents[name=triage].model.model_id",
        "kind": "CHANGED",
        "before": "claude-3-haiku",
        "after": "claude-3-sonnet",
    }
    added = by_path["tools[name=show_banner]"]
    assert added["kind"] == "ADDED"
    assert added["before"] is None
    assert added["after"]["type"] == "frontend_action"
    assert set(by_path) == {"agents[name=triage].model.model_id", "tools[name=show_banner]"}
    assert await changes(client, first, second) == [
        {
            **by_path["agents[name=triage].model.model_id"],
            "before": "claude-3-sonnet",
            "after": "claude-3-haiku",
        },
        {
            "path": "tools[name=show_banner]",
            "kind": "REMOVED",
            "before": added["after"],
            "after": None,
        },
    ]


async def test_the_first_deployment_is_all_additions(client: GraphQLClient) -> None:
    project_id = (await client.data(CREATE_PROJECT, VERSIONED))["createProject"]["id"]
    await client.data(CREATE_AGENT, {"projectId": project_id, "input": TRIAGE})

    found = await changes(client, await deployed(client, project_id))

    assert {change["kind"] for change in found} == {"ADDED"}
    assert {change["path"] for change in found} == {"project", "agents[name=triage]"}


async def test_secret_values_never_appear_in_changes(client: GraphQLClient) -> None:
    project_id = (await client.data(CREATE_PROJECT, VERSIONED))["createProject"]["id"]
    await client.data(SET_ENV_VAR, {"projectId": project_id, "input": secret("first-secret-value")})
    first = await deployed(client, project_id)
    await client.data(
        SET_ENV_VAR, {"projectId": project_id, "input": secret("second-secret-value")}
    )
    second = await deployed(client, project_id)

    body = await client.execute(CHANGES, {"id": second, "against": first})
    added = await changes(client, first)

    assert "secret-value" not in str(body)
    assert "secret-value" not in str(added)


async def test_redeploy_deploys_the_old_snapshot_again(client: GraphQLClient) -> None:
    project_id = (await client.data(CREATE_PROJECT, VERSIONED))["createProject"]["id"]
    agent = await client.data(CREATE_AGENT, {"projectId": project_id, "input": TRIAGE})
    agent_id = agent["createAgent"]["id"]
    old = await deployed(client, project_id)
    await client.data(UPDATE_AGENT, {"id": agent_id, "input": SONNET})
    await deployed(client, project_id)

    again = (await client.data(REDEPLOY_SHOWING_CONFIG, {"id": old}))["redeploy"]

    old_config = (await client.data(CONFIG, {"id": old}))["deployment"]["config"]
    assert again["status"] == "PENDING"
    assert again["id"] != old
    assert again["config"] == old_config
    assert again["config"]["agents"][0]["model"]["model_id"] == "claude-3-haiku"
    assert await changes(client, again["id"], old) == []


async def test_redeploy_respects_the_one_active_deployment(client: GraphQLClient) -> None:
    project_id = (await client.data(CREATE_PROJECT, VERSIONED))["createProject"]["id"]
    old = await deployed(client, project_id)
    await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})

    error = await client.error(REDEPLOY, {"id": old})
    missing = await client.error(REDEPLOY, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"})

    assert error["extensions"]["code"] == "CONFLICT"
    assert missing["extensions"]["code"] == "NOT_FOUND"
