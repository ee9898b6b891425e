"""The main orchestrator config over GraphQL: setMainConfig and Project.mainConfig."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT, DELETE_PROJECT, MAIN_CONFIG_FIELDS
from tests.text_cases import ORDINARY_NAMES, ORDINARY_TEXT, UNPRINTABLE_NAMES, UNPRINTABLE_TEXT

SET = f"""
mutation Set($projectId: ID!, $input: MainAgentConfigInput!) {{
  setMainConfig(projectId: $projectId, input: $input) {{ {MAIN_CONFIG_FIELDS} }}
}}
"""
GET = f"""
query Get($id: ID!) {{ project(id: $id) {{ id mainConfig {{ {MAIN_CONFIG_FIELDS} }} }} }}
"""

UNKNOWN_PROJECT = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MODEL_ID = "anthropic.claude-3-sonnet-20240229-v1:0"


def config_input(**overrides: Any) -> dict[str, Any]:
    """A valid MainAgentConfigInput, with `overrides` replacing its fields."""
    fields: dict[str, Any] = {
        "name": "Main Orchestrator",
        "description": "Routes work to the agents",
        "systemPrompt": "You orchestrate.",
        "model": {"region": "us-east-1", "modelId": MODEL_ID},
    }
    return {**fields, **overrides}


async def create_project(client: GraphQLClient, name: str = "Orchestrated") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def set_config(client: GraphQLClient, project_id: str, **overrides: Any) -> dict[str, Any]:
    data = await client.data(SET, {"projectId": project_id, "input": config_input(**overrides)})
    config: dict[str, Any] = data["setMainConfig"]
    return config


async def stored_config(store: Store, user_id: str, project_id: str) -> dict[str, Any] | None:
    return await store.dynamo.get_item(
        store.tables.main_config,
        {"userId": user_id, "configId": f"project-{project_id}"},
        consistent=True,
    )


async def stored_project(store: Store, user_id: str, project_id: str) -> dict[str, Any] | None:
    return await store.dynamo.get_item(
        store.tables.projects, {"userId": user_id, "projectId": project_id}, consistent=True
    )


async def main_config_of(client: GraphQLClient, project_id: str) -> dict[str, Any] | None:
    project = (await client.data(GET, {"id": project_id}))["project"]
    config: dict[str, Any] | None = project["mainConfig"]
    return config


async def test_a_new_project_has_no_main_config(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    assert await main_config_of(client, project_id) is None


async def test_set_main_config_creates_it_at_version_1_with_id_project_dash_project_id(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)

    config = await set_config(client, project_id, name="  Main Orchestrator  ")

    assert config["id"] == f"project-{project_id}"
    assert config["projectId"] == project_id
    assert config["name"] == "Main Orchestrator"
    assert config["description"] == "Routes work to the agents"
    assert config["systemPrompt"] == "You orchestrate."
    assert config["model"] == {"region": "us-east-1", "modelId": MODEL_ID}
    assert config["config"] == {
        "name": "Main Orchestrator",
        "description": "Routes work to the agents",
        "system_prompt": "You orchestrate.",
        "model": {"region": "us-east-1", "model_id": MODEL_ID},
    }
    assert config["version"] == 1
    assert TIMESTAMP.match(config["createdAt"])
    assert config["createdAt"] == config["updatedAt"]
    assert await main_config_of(client, project_id) == config


async def test_the_description_defaults_to_empty(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    fields = config_input()
    del fields["description"]

    data = await client.data(SET, {"projectId": project_id, "input": fields})

    assert data["setMainConfig"]["description"] == ""
    assert data["setMainConfig"]["config"]["description"] == ""


async def test_a_main_config_is_stored_as_the_seed_describes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)

    config = await set_config(client, project_id)

    assert await stored_config(store, user_id, project_id) == {
        "userId": user_id,
        "configId": f"project-{project_id}",
        "projectId": project_id,
        "config": {
            "name": "Main Orchestrator",
            "description": "Routes work to the agents",
            "system_prompt": "You orchestrate.",
            "model": {"region": "us-east-1", "model_id": MODEL_ID},
        },
        "createdAt": config["createdAt"],
        "updatedAt": config["updatedAt"],
        "version": 1,
    }
    project_item = await stored_project(store, user_id, project_id)
    assert project_item is not None
    assert project_item["mainAgentConfig"] == f"project-{project_id}"


async def test_setting_it_again_replaces_it_and_bumps_the_version_to_2(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    first = await set_config(client, project_id)

    second = await set_config(
        client,
        project_id,
        name="Second",
        description="",
        systemPrompt="Be brief.",
        model={"region": "eu-west-1", "modelId": "amazon.nova-pro-v1:0"},
    )

    assert second["id"] == first["id"]
    assert second["version"] == 2
    assert second["createdAt"] == first["createdAt"]
    assert second["updatedAt"] >= first["updatedAt"]
    assert second["config"] == {
        "name": "Second",
        "description": "",
        "system_prompt": "Be brief.",
        "model": {"region": "eu-west-1", "model_id": "amazon.nova-pro-v1:0"},
    }
    assert await main_config_of(client, project_id) == second
    item = await stored_config(store, user_id, project_id)
    assert item is not None
    assert (item["config"], item["version"]) == (second["config"], 2)
    assert (item["createdAt"], item["updatedAt"]) == (first["createdAt"], second["updatedAt"])


async def test_a_replace_with_the_current_expected_version_succeeds(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    await set_config(client, project_id)

    replaced = await set_config(client, project_id, name="Guarded", expectedVersion=1)

    assert (replaced["name"], replaced["version"]) == ("Guarded", 2)


async def test_a_stale_expected_version_conflicts_and_changes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    await set_config(client, project_id)
    current = await set_config(client, project_id, name="Winner")
    item_before = await stored_config(store, user_id, project_id)

    error = await client.error(
        SET, {"projectId": project_id, "input": config_input(name="Loser", expectedVersion=1)}
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert await main_config_of(client, project_id) == current
    assert await stored_config(store, user_id, project_id) == item_before


async def test_an_expected_version_without_a_config_conflicts_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)

    error = await client.error(
        SET, {"projectId": project_id, "input": config_input(expectedVersion=1)}
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert await main_config_of(client, project_id) is None
    assert await stored_config(store, user_id, project_id) is None
    project_item = await stored_project(store, user_id, project_id)
    assert project_item is not None
    assert "mainAgentConfig" not in project_item


async def test_concurrent_replaces_at_one_version_let_exactly_one_win(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    await set_config(client, project_id)

    results = await asyncio.gather(
        *(
            client.execute(
                SET,
                {
                    "projectId": project_id,
                    "input": config_input(name=f"n{i}", expectedVersion=1),
                },
            )
            for i in range(6)
        )
    )

    winners = [result for result in results if "errors" not in result]
    losers = [result["errors"][0]["extensions"]["code"] for result in results if "errors" in result]
    assert len(winners) == 1
    assert losers == ["CONFLICT"] * 5
    stored = await main_config_of(client, project_id)
    assert stored is not None
    assert stored["version"] == 2
    assert stored["name"] == winners[0]["data"]["setMainConfig"]["name"]


async def test_concurrent_sets_without_versions_all_count(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    await asyncio.gather(*(set_config(client, project_id, name=f"n{i}") for i in range(5)))

    stored = await main_config_of(client, project_id)
    assert stored is not None
    assert stored["version"] == 5


async def test_invalid_inputs_are_bad_user_input_naming_the_field_and_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    cases: list[tuple[dict[str, Any], str]] = [
        (config_input(name="   "), "name"),
        (config_input(name=""), "name"),
        (config_input(name="n" * 129), "name"),
        (config_input(description="d" * 4001), "description"),
        (config_input(systemPrompt=""), "systemPrompt"),
        (config_input(systemPrompt="p" * 100_001), "systemPrompt"),
        (config_input(model={"region": "", "modelId": MODEL_ID}), "model.region"),
        (config_input(model={"region": "moon-base-1", "modelId": MODEL_ID}), "model.region"),
        (config_input(model={"region": "US-EAST-1", "modelId": MODEL_ID}), "model.region"),
        (config_input(model={"region": "us-east-1", "modelId": ""}), "model.modelId"),
        (config_input(model={"region": "us-east-1", "modelId": "m" * 257}), "model.modelId"),
        (config_input(model={"region": "us-east-1", "modelId": "has space"}), "model.modelId"),
        (config_input(model={"region": "us-east-1", "modelId": "semi;colon"}), "model.modelId"),
        (config_input(expectedVersion=0), "expectedVersion"),
    ]

    for fields, field in cases:
        error = await client.error(SET, {"projectId": project_id, "input": fields})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, fields
        assert error["message"].startswith(f"{field}: ")

    assert await main_config_of(client, project_id) is None
    assert await stored_config(store, user_id, project_id) is None


async def test_invalid_inputs_leave_an_existing_config_unchanged(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    current = await set_config(client, project_id)
    item_before = await stored_config(store, user_id, project_id)

    for fields in (
        config_input(name=" "),
        config_input(systemPrompt=""),
        config_input(model={"region": "us-east-1", "modelId": "bad id"}),
    ):
        error = await client.error(SET, {"projectId": project_id, "input": fields})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"

    assert await main_config_of(client, project_id) == current
    assert await stored_config(store, user_id, project_id) == item_before


async def test_values_at_the_limits_are_accepted(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    config = await set_config(
        client,
        project_id,
        name="n" * 128,
        description="d" * 4000,
        systemPrompt="p" * 100_000,
        model={"region": "ap-southeast-2", "modelId": "m" * 256},
    )

    assert len(config["name"]) == 128
    assert len(config["description"]) == 4000
    assert len(config["systemPrompt"]) == 100_000
    assert config["model"] == {"region": "ap-southeast-2", "modelId": "m" * 256}


async def test_an_unknown_project_is_not_found_and_nothing_is_written(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    for project_id in (UNKNOWN_PROJECT, "not a key at all / ##", ""):
        error = await client.error(SET, {"projectId": project_id, "input": config_input()})
        assert error["extensions"]["code"] == "NOT_FOUND", project_id

    assert await stored_config(store, user_id, UNKNOWN_PROJECT) is None
    assert await stored_project(store, user_id, UNKNOWN_PROJECT) is None


async def test_another_users_project_is_not_found_and_keeps_its_config(
    client: GraphQLClient, app: ASGIApp, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    current = await set_config(client, project_id)
    intruder_id = f"{user_id}-intruder"

    async with GraphQLClient.for_app(app, intruder_id) as intruder:
        replace = await intruder.error(
            SET, {"projectId": project_id, "input": config_input(name="Mine")}
        )
        seen = await intruder.data(GET, {"id": project_id})

    assert replace["extensions"]["code"] == "NOT_FOUND"
    assert seen["project"] is None
    assert await main_config_of(client, project_id) == current
    assert await stored_config(store, intruder_id, project_id) is None
    assert await stored_project(store, intruder_id, project_id) is None


async def test_deleting_the_project_deletes_its_main_config(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    await set_config(client, project_id)

    await client.data(DELETE_PROJECT, {"id": project_id})

    assert await stored_config(store, user_id, project_id) is None
    error = await client.error(SET, {"projectId": project_id, "input": config_input()})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert await stored_config(store, user_id, project_id) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [*(("name", name) for name in UNPRINTABLE_NAMES.values())]
    + [*(("systemPrompt", text) for text in UNPRINTABLE_TEXT.values())]
    + [*(("description", text) for text in UNPRINTABLE_TEXT.values())],
    ids=[f"name {case}" for case in UNPRINTABLE_NAMES]
    + [f"systemPrompt {case}" for case in UNPRINTABLE_TEXT]
    + [f"description {case}" for case in UNPRINTABLE_TEXT],
)
async def test_main_config_text_with_control_or_format_characters_is_bad_user_input(
    client: GraphQLClient, store: Store, user_id: str, field: str, value: str
) -> None:
    project_id = await create_project(client)

    error = await client.error(
        SET, {"projectId": project_id, "input": config_input(**{field: value})}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await stored_config(store, user_id, project_id) is None


async def test_main_config_keeps_an_ordinary_unicode_name_and_a_multiline_prompt(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    name = ORDINARY_NAMES["emoji ZWJ sequence"]

    config = await set_config(client, project_id, name=name, systemPrompt=ORDINARY_TEXT)

    assert (config["config"]["name"], config["config"]["system_prompt"]) == (name, ORDINARY_TEXT)
