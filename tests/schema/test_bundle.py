"""Import and export of projects: exportProject, importProject, and the bundle format."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.demo import demo_bundle
from server.models import BUNDLE_FORMAT
from server.store import Store, imports
from server.store.expressions import user_partition
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT, CREATE_TOOL, EXPORT_PROJECT, IMPORT_PROJECT

PROJECT_OF = """
query Imported($id: ID!) {
  project(id: $id) {
    name agentIds toolIds envIds
    agents { name tools { name } builtinTools { name } }
    tools { name usedBy { name } }
    mainConfig { name }
    envVars { key value secret needsValue }
  }
}
"""
PROJECTS = "{ projects { id name } }"
SET_SECRET = """
mutation Fill($projectId: ID!) {
  setEnvVar(projectId: $projectId, input: { key: "ORDERS_API_KEY", value: "sk-1", secret: true }) {
    key value needsValue
  }
}
"""


def small_bundle(*tool_names: str) -> dict[str, Any]:
    """A bundle of one agent using code tools of these names, and a secret without its value."""
    return {
        "format": BUNDLE_FORMAT,
        "version": 1,
        "project": {"name": "Small", "description": ""},
        "mainConfig": None,
        "agents": [
            {
                "name": "Helper",
                "system_prompt": "Help.",
                "tools": list(tool_names),
                "builtin_tools": ["calculator"],
                "model": {"region": "us-east-1", "model_id": "m-1"},
            }
        ],
        "tools": [
            {"name": name, "type": "code", "inputSchema": {"type": "object"}, "code": "pass"}
            for name in tool_names
        ],
        "envVars": [{"key": "TOKEN", "value": None, "secret": True}],
    }


async def import_bundle(
    client: GraphQLClient, bundle: object, name: str | None = None
) -> dict[str, Any]:
    data = await client.data(IMPORT_PROJECT, {"bundle": bundle, "name": name})
    project: dict[str, Any] = data["importProject"]
    return project


async def export(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    data = await client.data(EXPORT_PROJECT, {"id": project_id})
    bundle: dict[str, Any] = data["exportProject"]
    return bundle


def portable(bundle: dict[str, Any]) -> dict[str, Any]:
    """A bundle without what an export may change: the time it was made."""
    return {key: value for key, value in bundle.items() if key != "exportedAt"}


def secrets_left_out(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle as an export writes it: secret values null."""
    left_out = copy.deepcopy(bundle)
    for variable in left_out["envVars"]:
        if variable["secret"]:
            variable["value"] = None
    return left_out


async def partition_counts(store: Store, user_id: str) -> dict[str, int]:
    """How many items the user has in each table (the usage item and reservations included)."""
    counts = {}
    for table in (
        store.tables.projects,
        store.tables.agents,
        store.tables.tools,
        store.tables.main_config,
        store.tables.environment,
    ):
        counts[table] = len(
            [item async for item in store.dynamo.query(table, user_partition(user_id))]
        )
    return counts


async def test_export_then_import_then_export_gives_the_same_bundle_up_to_ids_and_secrets(
    client: GraphQLClient,
) -> None:
    # Given the demo project imported (code and front-end tools, agents using them and
    # built-in tools, a main config, env vars and a secret)
    first = await import_bundle(client, demo_bundle())

    # When it is exported, imported again under another name, and exported again
    exported = await export(client, first["id"])
    await client.data(
        "mutation($id: ID!) { deleteProject(id: $id) }", {"id": first["id"]}
    )  # its tool names are free again
    second = await import_bundle(client, exported, name="Copy")
    again = await export(client, second["id"])

    # Then both exports are the demo bundle, secret values left out, but for the name
    assert portable(exported) == portable(secrets_left_out(demo_bundle()))
    assert again["project"]["name"] == "Copy"
    again["project"]["name"] = exported["project"]["name"]
    assert portable(again) == portable(exported)
    assert second["id"] != first["id"]


async def test_an_import_links_agents_to_their_tools_and_lists_every_child(
    client: GraphQLClient,
) -> None:
    imported = await import_bundle(client, demo_bundle())

    project = (await client.data(PROJECT_OF, {"id": imported["id"]}))["project"]

    assert len(project["agentIds"]) == 3
    assert len(project["toolIds"]) == 4
    assert len(project["envIds"]) == 3
    assert project["mainConfig"] == {"name": "Main Orchestrator"}
    desk = project["agents"][0]
    assert [t["name"] for t in desk["tools"]] == ["lookup_order", "show_banner", "open_ticket_form"]
    assert desk["builtinTools"] == [{"name": "current-time"}]
    lookup = next(tool for tool in project["tools"] if tool["name"] == "lookup_order")
    assert sorted(agent["name"] for agent in lookup["usedBy"]) == ["Order desk", "Refunds"]


async def test_a_secret_without_its_value_is_created_empty_and_needs_a_value(
    client: GraphQLClient,
) -> None:
    # Given a bundle whose secret has no value, as an export writes it
    bundle = secrets_left_out(demo_bundle())

    # When it is imported
    imported = await import_bundle(client, bundle)

    # Then the secret is listed as needing a value, the others not, until it is set
    project = (await client.data(PROJECT_OF, {"id": imported["id"]}))["project"]
    needing = {v["key"]: v["needsValue"] for v in project["envVars"]}
    assert needing == {"ORDERS_API_KEY": True, "ORDERS_API_URL": False, "SUPPORT_EMAIL": False}
    assert {v["key"]: v["needsValue"] for v in imported["envVars"]} == needing
    filled = await client.data(SET_SECRET, {"projectId": imported["id"]})
    assert filled["setEnvVar"] == {"key": "ORDERS_API_KEY", "value": None, "needsValue": False}


async def test_clashing_tool_names_refuse_the_import_naming_each_and_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given tools named "alpha" and "gamma" in a project of the caller's
    project_id = (await client.data(CREATE_PROJECT, {"input": {"name": "Mine"}}))["createProject"][
        "id"
    ]
    for name in ("alpha", "gamma"):
        tool = {"name": name, "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}
        await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
    before = await partition_counts(store, user_id)

    # When a bundle with tools alpha, beta and gamma is imported
    error = await client.error(IMPORT_PROJECT, {"bundle": small_bundle("alpha", "beta", "gamma")})

    # Then CONFLICT names both clashing names, and nothing was written
    assert error["extensions"] == {"code": "CONFLICT", "names": ["alpha", "gamma"]}
    assert "'alpha'" in error["message"]
    assert "'gamma'" in error["message"]
    assert "beta" not in error["message"]
    assert await partition_counts(store, user_id) == before


async def test_a_bundle_of_a_newer_version_is_refused_naming_bundle_version(
    client: GraphQLClient,
) -> None:
    newer = {**small_bundle("t"), "version": 2, "somethingNew": {}}

    error = await client.error(IMPORT_PROJECT, {"bundle": newer})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "bundle.version"}
    assert "newer" in error["message"]
    assert "version 2" in error["message"]


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        ([1, 2], "bundle"),
        ({"format": "something.else", "version": 1}, "bundle.format"),
        ({"format": BUNDLE_FORMAT, "version": "1"}, "bundle.version"),
        ({"format": BUNDLE_FORMAT, "version": 0}, "bundle.version"),
    ],
)
async def test_a_bundle_of_another_format_is_refused_naming_its_marker(
    client: GraphQLClient, bundle: object, field: str
) -> None:
    error = await client.error(IMPORT_PROJECT, {"bundle": bundle})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert error["message"].startswith(f"{field}: ")


def _with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    bundle = demo_bundle()
    change(bundle)
    return bundle


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        (_with(lambda b: b["agents"][2].update(name="  ")), "bundle.agents[2].name"),
        (
            _with(lambda b: b["agents"][1]["model"].update(model_id="bad id")),
            "bundle.agents[1].model.model_id",
        ),
        (_with(lambda b: b["agents"][0].update(tools=["nope"])), "bundle.agents[0].tools"),
        (
            _with(lambda b: b["agents"][0].update(tools=["lookup_order", "lookup_order"])),
            "bundle.agents[0].tools",
        ),
        (
            _with(lambda b: b["agents"][2].update(builtin_tools=["no-such-tool"])),
            "bundle.agents[2].builtin_tools",
        ),
        (_with(lambda b: b["agents"][0].update(colour="red")), "bundle.agents[0].colour"),
        (_with(lambda b: b["tools"][3].update(code="x = 1")), "bundle.tools[3].code"),
        (
            _with(lambda b: b["tools"][1].update(inputSchema={"type": "nonsense"})),
            "bundle.tools[1].inputSchema",
        ),
        (_with(lambda b: b["tools"][2].update(name="lookup_order")), "bundle.tools[2].name"),
        (_with(lambda b: b["envVars"][1].update(key="1BAD")), "bundle.envVars[1].key"),
        (_with(lambda b: b["mainConfig"].pop("system_prompt")), "bundle.mainConfig.system_prompt"),
        (_with(lambda b: b["project"].update(name="")), "bundle.project.name"),
    ],
)
async def test_every_fault_of_a_bundle_names_its_place_and_nothing_is_written(
    client: GraphQLClient, store: Store, user_id: str, bundle: dict[str, Any], field: str
) -> None:
    before = await partition_counts(store, user_id)

    error = await client.error(IMPORT_PROJECT, {"bundle": bundle})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
    assert error["message"].startswith(f"{field}: ")
    assert await partition_counts(store, user_id) == before


async def test_the_name_argument_is_checked_as_a_project_name(client: GraphQLClient) -> None:
    error = await client.error(IMPORT_PROJECT, {"bundle": small_bundle("t"), "name": " "})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}


async def test_a_bundle_past_a_per_project_quota_is_refused_with_quota_exceeded(
    client: GraphQLClient, lower_quotas: Callable[..., None]
) -> None:
    lower_quotas(TOOLS_PER_PROJECT=3)

    error = await client.error(IMPORT_PROJECT, {"bundle": demo_bundle()})

    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "TOOLS_PER_PROJECT",
        "limit": 3,
    }


@pytest.mark.parametrize("in_steps", [False, True])
async def test_a_bundle_past_an_account_quota_is_refused_and_writes_nothing(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    lower_quotas: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    in_steps: bool,
) -> None:
    # Given an account with one tool, whose quota is 4 tools
    await import_bundle(client, small_bundle("one"))
    before = await partition_counts(store, user_id)
    usage = await store.usage.read(user_id)
    lower_quotas(TOOLS_PER_USER=4)
    if in_steps:
        monkeypatch.setattr(imports, "MAX_TRANSACTION_ITEMS", 6)

    # When a bundle of 4 more tools is imported
    error = await client.error(IMPORT_PROJECT, {"bundle": demo_bundle()})

    # Then the quota refuses it, and neither items nor counts changed
    assert error["extensions"] == {"code": "QUOTA_EXCEEDED", "quota": "TOOLS_PER_USER", "limit": 4}
    assert await partition_counts(store, user_id) == before
    assert await store.usage.read(user_id) == usage


async def test_a_bundle_too_big_for_one_transaction_is_written_in_steps_and_round_trips(
    client: GraphQLClient, store: Store, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given transactions of at most 6 items (DynamoDB's are 100): the demo takes 20
    monkeypatch.setattr(imports, "MAX_TRANSACTION_ITEMS", 6)

    imported = await import_bundle(client, demo_bundle())

    exported = await export(client, imported["id"])
    assert portable(exported) == portable(secrets_left_out(demo_bundle()))
    assert await store.usage.read(user_id) == {
        "projects": 1,
        "agents": 3,
        "tools": 4,
        "envVars": 3,
    }


@pytest.mark.parametrize("in_steps", [False, True])
async def test_of_concurrent_imports_of_the_same_tool_names_exactly_one_wins(
    app: ASGIApp,
    store: Store,
    user_id: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    in_steps: bool,
) -> None:
    if in_steps:
        monkeypatch.setattr(imports, "MAX_TRANSACTION_ITEMS", 6)
    caplog.set_level(logging.INFO, logger="server.store.imports")
    tries = 4
    async with GraphQLClient.for_app(app, user_id) as client:
        bodies = await asyncio.gather(
            *(client.execute(IMPORT_PROJECT, {"bundle": demo_bundle()}) for _ in range(tries))
        )
        projects = (await client.data(PROJECTS))["projects"]

    won = [body for body in bodies if "errors" not in body]
    lost = [body["errors"][0]["extensions"] for body in bodies if "errors" in body]
    assert len(won) == 1
    assert len(projects) == 1
    assert projects[0]["id"] == won[0]["data"]["importProject"]["id"]
    assert all(extensions["code"] == "CONFLICT" for extensions in lost), lost
    assert await store.usage.read(user_id) == {
        "projects": 1,
        "agents": 3,
        "tools": 4,
        "envVars": 3,
    }
    # Nothing of the losers is left: one project's tools and reservations, and the usage item
    counts = await partition_counts(store, user_id)
    assert counts[store.tables.tools] == 4 + 4 + 1
    assert counts[store.tables.agents] == 3
    if in_steps:
        # The losers had passed the check of names and written their first step: their
        # clean-up removed it
        started = [r for r in caplog.records if "in steps" in r.getMessage()]
        assert len(started) > 1


async def test_exporting_a_project_the_caller_does_not_have_is_not_found(
    client: GraphQLClient,
) -> None:
    error = await client.error(EXPORT_PROJECT, {"id": "01J0000000000000000000NONE"})

    assert error["extensions"] == {"code": "NOT_FOUND"}


async def test_an_export_leaves_secret_values_out_and_marks_them(client: GraphQLClient) -> None:
    imported = await import_bundle(client, demo_bundle())

    exported = await export(client, imported["id"])

    assert exported["format"] == BUNDLE_FORMAT
    assert exported["version"] == 1
    assert {"key": "ORDERS_API_KEY", "value": None, "secret": True} in exported["envVars"]
    assert "demo-key-not-a-real-secret" not in str(exported)
    assert "deployments" not in exported
