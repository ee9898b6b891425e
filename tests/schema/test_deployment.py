"""Deployments over GraphQL: snapshots, one active per project, the lifecycle, logs, listings."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp
from ulid import ULID as UniqueId

from server.app import create_app
from server.deployments.lifecycle import MAX_ITEM_BYTES
from server.models.json_schema import MAX_SCHEMA_LEVELS
from server.models.stored_json import MAX_DYNAMODB_LEVELS, levels
from server.settings import Settings
from server.store import Store
from server.store.codec import item_size
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import (
    CREATE_AGENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    DEPLOYMENT_FIELDS,
    SET_ENV_VAR,
    SET_MAIN_CONFIG,
    UPDATE_TOOL,
)

CREATE = f"""
mutation Create($projectId: ID!) {{
  createDeployment(projectId: $projectId) {{ {DEPLOYMENT_FIELDS} }}
}}
"""
CANCEL = f"mutation Cancel($id: ID!) {{ cancelDeployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}"
UPDATE_STATUS = f"""
mutation UpdateStatus(
  $userId: ID!, $id: ID!, $status: DeploymentStatus!, $error: String, $appendLogs: [String!]
) {{
  updateDeploymentStatus(
    userId: $userId, id: $id, status: $status, error: $error, appendLogs: $appendLogs
  ) {{ {DEPLOYMENT_FIELDS} }}
}}
"""
GET = f"""
query Get($id: ID!) {{
  deployment(id: $id) {{ {DEPLOYMENT_FIELDS} project {{ id name deploymentIds }} }}
}}
"""
PROJECT_DEPLOYMENTS = """
query ProjectDeployments($id: ID!, $status: DeploymentStatus, $limit: Int) {
  project(id: $id) {
    deploymentIds
    deployments(status: $status, limit: $limit) { id status }
    latestDeployment { id status }
  }
}
"""
PROJECT_DEPLOYMENTS_IN_FULL = f"""
query ProjectDeploymentsInFull($id: ID!) {{
  project(id: $id) {{
    deployments {{ {DEPLOYMENT_FIELDS} }}
    latestDeployment {{ id config logs }}
  }}
}}
"""
PROJECT_DEPLOYMENTS_THROUGH_FRAGMENTS = """
query ProjectDeploymentsThroughFragments($id: ID!) {
  project(id: $id) { deployments { id ...Snapshot } }
}
fragment Snapshot on Deployment { ... on Deployment { config logs } }
"""
PROJECT_CONFIGURATION = """
query ProjectConfiguration($id: ID!) {
  project(id: $id) {
    id name description
    mainConfig { config }
    agents { id config }
    tools { id name config }
  }
}
"""

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
MODEL = {"region": "us-west-2", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
SECRET_VALUE = "s3cr3t-never-leaves"


@pytest.fixture(scope="module")
async def app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """The app with DEPLOYER=none: deployments stay where these tests (the pipeline) put them."""
    external_pipeline = settings.model_copy(update={"deployer": "none"})
    async with LifespanManager(create_app(external_pipeline)) as manager:
        yield manager.app


@pytest.fixture
async def admin(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    """The deployment pipeline: an admin who is not the owner of any deployment."""
    async with GraphQLClient.for_app(app, f"pipeline-{uuid.uuid4().hex[:8]}", "admin") as admin:
        yield admin


async def new_project(client: GraphQLClient, name: str = "Deployable") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def deploy(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    deployment: dict[str, Any] = (await client.data(CREATE, {"projectId": project_id}))[
        "createDeployment"
    ]
    return deployment


async def move(
    admin: GraphQLClient,
    user_id: str,
    deployment_id: str,
    status: str,
    *,
    error: str | None = None,
    logs: list[str] | None = None,
) -> dict[str, Any]:
    variables = {
        "userId": user_id,
        "id": deployment_id,
        "status": status,
        "error": error,
        "appendLogs": logs,
    }
    deployment: dict[str, Any] = (await admin.data(UPDATE_STATUS, variables))[
        "updateDeploymentStatus"
    ]
    return deployment


async def stored(store: Store, user_id: str, deployment_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = await store.dynamo.get_item(
        store.tables.deployments,
        {"userId": user_id, "deploymentId": deployment_id},
        consistent=True,
    )
    return item


async def listing(client: GraphQLClient, project_id: str, **arguments: Any) -> dict[str, Any]:
    project: dict[str, Any] = (
        await client.data(PROJECT_DEPLOYMENTS, {"id": project_id, **arguments})
    )["project"]
    return project


LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def untimed(lines: list[str]) -> list[str]:
    """The lines without the timestamp the server puts in front of each."""
    assert all(LOG_STAMP.match(line) for line in lines), lines
    return [LOG_STAMP.sub("", line, count=1) for line in lines]


def assert_appended(before: list[str], after: list[str], lines: list[str]) -> None:
    """`after` keeps `before` and holds `lines`, in order and together, after it."""
    assert after[: len(before)] == before
    added = untimed(after[len(before) :])
    starts = [i for i in range(len(added)) if added[i : i + len(lines)] == lines]
    assert starts, (lines, added)


async def configured_project(client: GraphQLClient) -> str:
    """A project with a main config, two tools, two agents and two env vars (one secret)."""
    project_id = await new_project(client, "Full house")
    await client.data(
        SET_MAIN_CONFIG,
        {
            "projectId": project_id,
            "input": {"name": "Main", "systemPrompt": "Route the work.", "model": MODEL},
        },
    )
    for tool in (
        {"name": "lookup", "type": "CODE", "inputSchema": SCHEMA, "code": "def run(q): ..."},
        {"name": "open-panel", "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}},
    ):
        await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
    for agent in (
        {
            "name": "Researcher",
            "systemPrompt": "Look things up.",
            "toolNames": ["lookup"],
            "builtinToolNames": ["calculator"],
            "model": MODEL,
        },
        {
            "name": "Presenter",
            "systemPrompt": "Show results.",
            "toolNames": ["open-panel"],
            "model": {"region": "eu-central-1", "modelId": "amazon.nova-pro-v1:0"},
        },
    ):
        await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent})
    for variable in (
        {"key": "TOKEN", "value": SECRET_VALUE, "secret": True},
        {"key": "API_URL", "value": "https://api.example.com"},
    ):
        await client.data(SET_ENV_VAR, {"projectId": project_id, "input": variable})
    return project_id


async def test_create_deployment_snapshots_the_whole_configuration_as_pending(
    client: GraphQLClient,
) -> None:
    # given
    project_id = await configured_project(client)
    project = (await client.data(PROJECT_CONFIGURATION, {"id": project_id}))["project"]

    # when
    deployment = await deploy(client, project_id)

    # then
    assert ULID.match(deployment["id"])
    assert deployment["projectId"] == project_id
    assert deployment["status"] == "PENDING"
    assert deployment["error"] is None
    assert TIMESTAMP.match(deployment["createdAt"])
    assert TIMESTAMP.match(deployment["updatedAt"])
    config = deployment["config"]
    assert set(config) == {"project", "mainConfig", "agents", "tools", "env"}
    assert config["project"]["id"] == project_id
    assert config["project"]["name"] == "Full house"
    assert config["mainConfig"] == project["mainConfig"]["config"]
    assert [agent["id"] for agent in config["agents"]] == [a["id"] for a in project["agents"]]
    for snapshot, agent in zip(config["agents"], project["agents"], strict=True):
        assert snapshot == {"id": agent["id"], **agent["config"]}
    assert [agent["model"] for agent in config["agents"]] == [
        {"region": "us-west-2", "model_id": "anthropic.claude-3-sonnet-20240229-v1:0"},
        {"region": "eu-central-1", "model_id": "amazon.nova-pro-v1:0"},
    ]
    assert [tool["id"] for tool in config["tools"]] == [t["id"] for t in project["tools"]]
    for snapshot, tool in zip(config["tools"], project["tools"], strict=True):
        assert snapshot == {"id": tool["id"], **tool["config"]}
    assert config["tools"][0]["code"] == "def run(q): ..."
    assert config["env"] == [
        {"key": "API_URL", "value": "https://api.example.com", "secret": False},
        {"key": "TOKEN", "value": None, "secret": True},
    ]
    assert SECRET_VALUE not in json.dumps(deployment)


async def test_an_empty_project_snapshots_a_null_main_config_and_empty_lists(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client, "Bare")

    deployment = await deploy(client, project_id)

    config = deployment["config"]
    assert (config["project"]["id"], config["project"]["name"]) == (project_id, "Bare")
    assert config["mainConfig"] is None
    assert config["agents"] == config["tools"] == config["env"] == []


async def test_a_deployment_is_stored_as_the_seed_describes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await configured_project(client)

    deployment = await deploy(client, project_id)

    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["userId"] == user_id
    assert item["deploymentId"] == deployment["id"]
    assert item["projectId"] == project_id
    assert item["status"] == "pending"
    assert item["config"] == deployment["config"]
    assert isinstance(item["logs"], list)
    assert item["logs"] == deployment["logs"]
    assert item["createdAt"] == deployment["createdAt"]
    assert item["updatedAt"] == deployment["updatedAt"]
    assert SECRET_VALUE not in json.dumps(item)


async def test_creating_a_deployment_adds_its_id_to_the_projects_deployment_ids(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client)

    deployment = await deploy(client, project_id)

    project = await listing(client, project_id)
    assert project["deploymentIds"] == [deployment["id"]]
    assert project["deployments"] == [{"id": deployment["id"], "status": "PENDING"}]


async def test_a_second_deployment_while_one_is_pending_conflicts_and_writes_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client)
    first = await deploy(client, project_id)

    error = await client.error(CREATE, {"projectId": project_id})

    assert error["extensions"]["code"] == "CONFLICT"
    project = await listing(client, project_id)
    assert project["deploymentIds"] == [first["id"]]
    assert project["deployments"] == [{"id": first["id"], "status": "PENDING"}]


async def test_a_second_deployment_while_one_is_deploying_conflicts_and_writes_nothing(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    project_id = await new_project(client)
    first = await deploy(client, project_id)
    await move(admin, user_id, first["id"], "DEPLOYING")

    error = await client.error(CREATE, {"projectId": project_id})

    assert error["extensions"]["code"] == "CONFLICT"
    project = await listing(client, project_id)
    assert project["deploymentIds"] == [first["id"]]
    assert project["deployments"] == [{"id": first["id"], "status": "DEPLOYING"}]


async def test_five_concurrent_deployments_of_one_project_let_exactly_one_win(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client)

    results = await asyncio.gather(
        *(client.execute(CREATE, {"projectId": project_id}) for _ in range(5))
    )

    winners = [result["data"]["createDeployment"] for result in results if "errors" not in result]
    losers = [result["errors"][0]["extensions"]["code"] for result in results if "errors" in result]
    assert len(winners) == 1
    assert losers == ["CONFLICT"] * 4
    project = await listing(client, project_id)
    assert project["deploymentIds"] == [winners[0]["id"]]
    assert project["deployments"] == [{"id": winners[0]["id"], "status": "PENDING"}]


async def test_cancel_moves_a_pending_deployment_to_failed_and_frees_the_project(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    first = await deploy(client, project_id)

    cancelled = (await client.data(CANCEL, {"id": first["id"]}))["cancelDeployment"]
    second = await deploy(client, project_id)

    assert (cancelled["id"], cancelled["status"], cancelled["error"]) == (
        first["id"],
        "FAILED",
        "cancelled",
    )
    assert cancelled["config"] == first["config"]
    item = await stored(store, user_id, first["id"])
    assert item is not None
    assert (item["status"], item["error"]) == ("failed", "cancelled")
    assert second["status"] == "PENDING"
    assert (await listing(client, project_id))["deploymentIds"] == [first["id"], second["id"]]


async def test_cancel_moves_a_deploying_deployment_to_failed(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    await move(admin, user_id, deployment["id"], "DEPLOYING")

    cancelled = (await client.data(CANCEL, {"id": deployment["id"]}))["cancelDeployment"]

    assert (cancelled["status"], cancelled["error"]) == ("FAILED", "cancelled")
    assert (await deploy(client, project_id))["status"] == "PENDING"


async def test_cancelling_a_finished_deployment_conflicts_and_changes_nothing(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    failed = await deploy(client, project_id)
    await client.data(CANCEL, {"id": failed["id"]})
    succeeded = await deploy(client, project_id)
    await move(admin, user_id, succeeded["id"], "DEPLOYING")
    await move(admin, user_id, succeeded["id"], "SUCCESS")

    for deployment_id in (failed["id"], succeeded["id"]):
        before = await stored(store, user_id, deployment_id)

        error = await client.error(CANCEL, {"id": deployment_id})

        assert error["extensions"]["code"] == "CONFLICT"
        assert await stored(store, user_id, deployment_id) == before


async def test_an_admin_moves_a_deployment_to_deploying_then_success_appending_logs_in_order(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    created = await deploy(client, project_id)

    deploying = await move(
        admin, user_id, created["id"], "DEPLOYING", logs=["build started", "image pushed"]
    )
    succeeded = await move(admin, user_id, created["id"], "SUCCESS", logs=["health check ok"])

    assert deploying["status"] == "DEPLOYING"
    assert_appended(created["logs"], deploying["logs"], ["build started", "image pushed"])
    assert succeeded["status"] == "SUCCESS"
    assert succeeded["error"] is None
    assert_appended(deploying["logs"], succeeded["logs"], ["health check ok"])
    assert succeeded["config"] == created["config"]
    seen = (await client.data(GET, {"id": created["id"]}))["deployment"]
    assert (seen["status"], seen["logs"]) == ("SUCCESS", succeeded["logs"])
    item = await stored(store, user_id, created["id"])
    assert item is not None
    assert (item["status"], item["logs"]) == ("success", succeeded["logs"])
    assert (await deploy(client, project_id))["status"] == "PENDING"


async def test_an_admin_fails_a_deploying_deployment_with_an_error(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    created = await deploy(client, project_id)
    await move(admin, user_id, created["id"], "DEPLOYING")

    failed = await move(admin, user_id, created["id"], "FAILED", error="image build broke")

    assert (failed["status"], failed["error"]) == ("FAILED", "image build broke")
    item = await stored(store, user_id, created["id"])
    assert item is not None
    assert (item["status"], item["error"]) == ("failed", "image build broke")
    assert (await deploy(client, project_id))["status"] == "PENDING"


async def test_update_deployment_status_by_a_non_admin_is_forbidden_and_changes_nothing(
    client: GraphQLClient, app: ASGIApp, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    before = await stored(store, user_id, deployment["id"])
    variables = {
        "userId": user_id,
        "id": deployment["id"],
        "status": "DEPLOYING",
        "appendLogs": ["sneaky"],
    }

    async with GraphQLClient.for_app(app, "developer", groups="developers,ops") as developer:
        errors = [
            await client.error(UPDATE_STATUS, variables),
            await developer.error(UPDATE_STATUS, variables),
            await client.error(UPDATE_STATUS, {**variables, "id": UNKNOWN_ID}),
        ]

    assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"] * 3
    assert await stored(store, user_id, deployment["id"]) == before


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["DEPLOYING", "SUCCESS"], "DEPLOYING"),
        (["DEPLOYING", "SUCCESS"], "PENDING"),
        (["DEPLOYING", "SUCCESS"], "FAILED"),
        (["DEPLOYING", "SUCCESS"], "SUCCESS"),
        ([], "SUCCESS"),
        (["DEPLOYING"], "PENDING"),
        (["FAILED"], "PENDING"),
        (["FAILED"], "DEPLOYING"),
        (["FAILED"], "SUCCESS"),
        (["FAILED"], "FAILED"),
        (["DEPLOYING", "FAILED"], "DEPLOYING"),
        (["DEPLOYING", "FAILED"], "SUCCESS"),
    ],
    ids=lambda value: "-".join(["PENDING", *value]) if isinstance(value, list) else f"to-{value}",
)
async def test_an_invalid_status_transition_conflicts_and_changes_nothing(
    client: GraphQLClient,
    admin: GraphQLClient,
    store: Store,
    user_id: str,
    path: list[str],
    target: str,
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    for status in path:
        await move(admin, user_id, deployment["id"], status)
    before = await stored(store, user_id, deployment["id"])

    error = await admin.error(
        UPDATE_STATUS,
        {"userId": user_id, "id": deployment["id"], "status": target, "appendLogs": ["late"]},
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert await stored(store, user_id, deployment["id"]) == before


async def test_unknown_deployments_users_and_projects_are_not_found(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    before = await stored(store, user_id, deployment["id"])

    errors = [
        await admin.error(
            UPDATE_STATUS, {"userId": user_id, "id": UNKNOWN_ID, "status": "DEPLOYING"}
        ),
        await admin.error(
            UPDATE_STATUS,
            {"userId": "user-nobody-at-all", "id": deployment["id"], "status": "DEPLOYING"},
        ),
        await admin.error(
            UPDATE_STATUS, {"userId": user_id, "id": "not a key / ##", "status": "DEPLOYING"}
        ),
        await client.error(CANCEL, {"id": UNKNOWN_ID}),
        await client.error(CREATE, {"projectId": UNKNOWN_ID}),
    ]

    assert [error["extensions"]["code"] for error in errors] == ["NOT_FOUND"] * 5
    assert await stored(store, user_id, deployment["id"]) == before
    assert await stored(store, user_id, UNKNOWN_ID) is None
    assert await stored(store, "user-nobody-at-all", deployment["id"]) is None


async def test_another_users_deployment_is_null_and_cannot_be_cancelled(
    client: GraphQLClient, app: ASGIApp, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)

    async with GraphQLClient.for_app(app, f"other-{uuid.uuid4().hex[:8]}") as other:
        seen = (await other.data(GET, {"id": deployment["id"]}))["deployment"]
        cancel = await other.error(CANCEL, {"id": deployment["id"]})
        create = await other.error(CREATE, {"projectId": project_id})

    assert seen is None
    assert cancel["extensions"]["code"] == "NOT_FOUND"
    assert create["extensions"]["code"] == "NOT_FOUND"
    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["status"] == "pending"
    assert (await listing(client, project_id))["deploymentIds"] == [deployment["id"]]


async def test_a_log_line_over_2000_characters_is_bad_user_input_and_changes_nothing(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    before = await stored(store, user_id, deployment["id"])

    error = await admin.error(
        UPDATE_STATUS,
        {
            "userId": user_id,
            "id": deployment["id"],
            "status": "DEPLOYING",
            "appendLogs": ["fine", "x" * 2001],
        },
    )
    longest = await move(admin, user_id, deployment["id"], "DEPLOYING", logs=["y" * 1975])

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert before is not None
    assert_appended(before["logs"], longest["logs"], ["y" * 1975])
    assert max(len(line) for line in longest["logs"]) == 2000  # 24 + 1 + 1,975
    assert "fine" not in untimed(longest["logs"])


async def test_logs_keep_only_the_newest_1000_lines(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    deployment = await deploy(client, project_id)
    await move(admin, user_id, deployment["id"], "DEPLOYING")
    lines = [f"step {index:04d}" for index in range(1200)]

    first = await move(admin, user_id, deployment["id"], "DEPLOYING", logs=lines[:600])
    second = await move(admin, user_id, deployment["id"], "DEPLOYING", logs=lines[600:])

    assert untimed(first["logs"][-600:]) == lines[:600]
    assert len(second["logs"]) == 1000
    assert untimed(second["logs"]) == lines[-1000:]
    assert second["logs"][0].endswith(" step 0200")
    assert second["logs"][-1].endswith(" step 1199")
    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["logs"] == second["logs"]


async def test_deployments_are_listed_newest_first_and_latest_is_the_newest(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client)
    empty = await listing(client, project_id)
    ids = []
    for _ in range(3):
        ids.append((await deploy(client, project_id))["id"])
        await client.data(CANCEL, {"id": ids[-1]})
    ids.append((await deploy(client, project_id))["id"])

    project = await listing(client, project_id)
    limited = await listing(client, project_id, limit=2)

    assert empty["deployments"] == []
    assert empty["latestDeployment"] is None
    assert [d["id"] for d in project["deployments"]] == ids[::-1]
    assert [d["status"] for d in project["deployments"]] == ["PENDING"] + ["FAILED"] * 3
    assert project["latestDeployment"] == {"id": ids[-1], "status": "PENDING"}
    assert [d["id"] for d in limited["deployments"]] == ids[:1:-1]


async def seed_finished_deployments(
    store: Store, user_id: str, project_id: str, count: int
) -> list[str]:
    """`count` FAILED deployments written as the seed describes them, oldest first, all created
    before now, and listed in the project's deploymentIds."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    ids: list[str] = []
    items: list[dict[str, Any]] = []
    for index in range(count):
        created = base + timedelta(minutes=index)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        ids.append(str(UniqueId.from_datetime(created)))
        items.append(
            {
                "userId": user_id,
                "deploymentId": ids[-1],
                "projectId": project_id,
                "status": "failed",
                "config": {},
                "error": "seeded",
                "logs": [],
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        )
    await store.dynamo.batch_write(store.tables.deployments, puts=items)
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET deploymentIds = :ids", values={":ids": ids}),
    )
    return ids


async def test_deployments_default_to_20_and_are_capped_at_100(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project holding 101 deployments (written before retention kept 100)
    project_id = await new_project(client)
    ids = await seed_finished_deployments(store, user_id, project_id, 101)
    newest_first = ids[::-1]

    default = await listing(client, project_id)
    capped = await listing(client, project_id, limit=1000)
    exactly = await listing(client, project_id, limit=100)

    assert [d["id"] for d in default["deployments"]] == newest_first[:20]
    assert [d["id"] for d in capped["deployments"]] == newest_first[:100]
    assert [d["id"] for d in exactly["deployments"]] == newest_first[:100]
    assert default["latestDeployment"] == {"id": ids[-1], "status": "FAILED"}
    assert default["deploymentIds"] == ids


async def test_deployments_filter_by_status(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    project_id = await new_project(client)
    failed = await deploy(client, project_id)
    await client.data(CANCEL, {"id": failed["id"]})
    succeeded = await deploy(client, project_id)
    await move(admin, user_id, succeeded["id"], "DEPLOYING")
    await move(admin, user_id, succeeded["id"], "SUCCESS")
    pending = await deploy(client, project_id)

    by_status = {
        status: [d["id"] for d in (await listing(client, project_id, status=status))["deployments"]]
        for status in ("PENDING", "DEPLOYING", "SUCCESS", "FAILED")
    }

    assert by_status == {
        "PENDING": [pending["id"]],
        "DEPLOYING": [],
        "SUCCESS": [succeeded["id"]],
        "FAILED": [failed["id"]],
    }


async def test_a_configuration_too_big_for_a_dynamodb_item_is_bad_user_input_and_writes_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client, "Huge")
    for index in range(3):
        tool = {
            "name": f"big-{index}",
            "type": "CODE",
            "inputSchema": {"type": "object"},
            "code": "#" * 180_000,
        }
        await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})

    error = await client.error(CREATE, {"projectId": project_id})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    sizes = [int(number) for number in re.findall(r"(\d+) bytes", error["message"])]
    assert sizes, error["message"]
    assert sizes[0] > 3 * 180_000
    project = await listing(client, project_id)
    assert project["deploymentIds"] == []
    assert project["deployments"] == []
    assert project["latestDeployment"] is None


async def test_a_deployment_resolves_its_project(client: GraphQLClient) -> None:
    project_id = await new_project(client, "Parent")
    deployment = await deploy(client, project_id)

    seen = (await client.data(GET, {"id": deployment["id"]}))["deployment"]

    assert seen["project"] == {"id": project_id, "name": "Parent", "deploymentIds": [seen["id"]]}
    assert {key: seen[key] for key in deployment} == deployment


async def test_deployment_by_id_is_null_for_unknown_ids(client: GraphQLClient) -> None:
    missing = await client.data(GET, {"id": UNKNOWN_ID})
    malformed = await client.data(GET, {"id": "not a key at all / ##"})

    assert missing["deployment"] is None
    assert malformed["deployment"] is None


async def test_listed_deployments_come_with_their_config_and_logs(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    project_id = await configured_project(client)
    older = await deploy(client, project_id)
    await move(admin, user_id, older["id"], "DEPLOYING", logs=["one", "two"])
    await move(admin, user_id, older["id"], "FAILED", error="broken", logs=["three"])
    newer = await deploy(client, project_id)
    each = [
        (await client.data(GET, {"id": deployment_id}))["deployment"]
        for deployment_id in (newer["id"], older["id"])
    ]

    project = (await client.data(PROJECT_DEPLOYMENTS_IN_FULL, {"id": project_id}))["project"]
    fragments = (await client.data(PROJECT_DEPLOYMENTS_THROUGH_FRAGMENTS, {"id": project_id}))[
        "project"
    ]

    assert project["deployments"] == [
        {key: deployment[key] for key in deployment if key != "project"} for deployment in each
    ]
    assert project["deployments"][0]["config"] == newer["config"]
    assert project["deployments"][1]["config"]["tools"][0]["code"] == "def run(q): ..."
    assert_appended(older["logs"], project["deployments"][1]["logs"], ["one", "two"])
    assert fragments["deployments"] == [
        {"id": d["id"], "config": d["config"], "logs": d["logs"]} for d in each
    ]
    assert project["latestDeployment"] == {
        "id": newer["id"],
        "config": newer["config"],
        "logs": newer["logs"],
    }


def numbered_lines(start: int, count: int = 450) -> list[str]:
    """`count` lines of 2,000 characters, `step 0000 xxx…` from `start` on."""
    return [f"step {index:04d} ".ljust(2000, "x") for index in range(start, start + count)]


def steps(logs: list[str]) -> list[int]:
    """The step numbers of the `numbered_lines` among `logs`, in order."""
    return [int(line.split()[2]) for line in logs if line.split()[1] == "step"]


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "server.errors"]


async def assert_fits(store: Store, user_id: str, deployment: dict[str, Any]) -> None:
    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["logs"] == deployment["logs"]
    assert item_size(item) <= MAX_ITEM_BYTES


async def test_450_lines_of_2000_characters_keep_the_newest_that_fit_again_and_again(
    client: GraphQLClient,
    admin: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deployment = await deploy(client, await new_project(client))

    for batch in range(3):
        moved = await move(
            admin, user_id, deployment["id"], "DEPLOYING", logs=numbered_lines(450 * batch)
        )

        kept = steps(moved["logs"])
        assert kept == list(range(450 * (batch + 1) - len(kept), 450 * (batch + 1)))
        assert 150 < len(kept) < 450
        await assert_fits(store, user_id, moved)
    assert unexpected_errors(caplog) == []


async def snapshot_of(client: GraphQLClient, project_id: str, size: int) -> dict[str, Any]:
    """A deployment of `project_id` whose snapshot is `size` bytes, by two tools' code."""
    tool_ids = []
    for name, code in (("filler-a", "#" * 200_000), ("filler-b", "#")):
        tool = {"name": name, "type": "CODE", "inputSchema": {"type": "object"}, "code": code}
        created = await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
        tool_ids.append(created["createTool"]["id"])
    first = await deploy(client, project_id)
    await client.data(CANCEL, {"id": first["id"]})
    code = "#" * (1 + size - item_size(first["config"]))
    await client.data(UPDATE_TOOL, {"id": tool_ids[1], "input": {"code": code}})
    return await deploy(client, project_id)


async def test_a_snapshot_at_its_maximum_still_takes_full_logs_and_the_longest_error(
    client: GraphQLClient,
    admin: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deployment = await snapshot_of(client, await new_project(client, "Biggest"), 350_000)
    assert item_size(deployment["config"]) == 350_000

    deploying = await move(admin, user_id, deployment["id"], "DEPLOYING", logs=numbered_lines(0))
    await assert_fits(store, user_id, deploying)
    failed = await move(
        admin, user_id, deployment["id"], "FAILED", error="é" * 4000, logs=numbered_lines(450)
    )
    await assert_fits(store, user_id, failed)

    assert steps(deploying["logs"])[-1] == 449
    assert steps(failed["logs"])[-1] == 899
    assert failed["logs"][-1].startswith(failed["updatedAt"] + " failed: éé")
    assert failed["error"] == "é" * 4000
    assert unexpected_errors(caplog) == []


async def test_control_characters_in_log_lines_are_written_out(
    client: GraphQLClient, admin: GraphQLClient, user_id: str
) -> None:
    deployment = await deploy(client, await new_project(client))

    moved = await move(
        admin, user_id, deployment["id"], "DEPLOYING", logs=["\x1b[2Jcleared\nforged \u202eline"]
    )

    assert untimed(moved["logs"])[-2] == "\\x1b[2Jcleared\\x0aforged \\u202eline"


async def test_an_errors_control_characters_are_written_out_and_its_line_breaks_kept(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    deployment = await deploy(client, await new_project(client))

    failed = await move(
        admin, user_id, deployment["id"], "FAILED", error="\x1b[31mboom\x1b[0m\n\tat \u202estep"
    )

    assert failed["error"] == "\\x1b[31mboom\\x1b[0m\n\tat \\u202estep"
    assert untimed(failed["logs"])[-1] == "failed: \\x1b[31mboom\\x1b[0m\\x0a\tat \\u202estep"
    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["error"] == failed["error"]


def nested_schema(depth: int) -> dict[str, Any]:
    """An object schema of `depth` levels of objects, itself included."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth - 1):
        schema = {"type": "object", "additionalProperties": schema}
    return schema


async def test_a_tool_schema_at_the_nesting_limit_deploys_and_fills_dynamodbs_levels(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client, "Deep")
    schema = nested_schema(MAX_SCHEMA_LEVELS)
    tool = {"name": "deep", "type": "FRONTEND_ACTION", "inputSchema": schema}
    await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})

    deployment = await deploy(client, project_id)

    item = await stored(store, user_id, deployment["id"])
    assert item is not None
    assert item["config"]["tools"][0]["inputSchema"] == schema
    assert levels(schema) == MAX_SCHEMA_LEVELS == 28
    assert levels(item["config"]) == MAX_DYNAMODB_LEVELS == 31
