"""Environment variables over GraphQL: setEnvVar, deleteEnvVar, Project.envVars and envIds."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT, DELETE_ENV_VAR, DEPLOYMENT_FIELDS, ENV_VAR_FIELDS
from tests.text_cases import ORDINARY_TEXT, UNPRINTABLE_TEXT

SET = f"""
mutation Set($projectId: ID!, $input: EnvVarInput!) {{
  setEnvVar(projectId: $projectId, input: $input) {{ {ENV_VAR_FIELDS} }}
}}
"""
GET = f"query Get($id: ID!) {{ project(id: $id) {{ id envIds envVars {{ {ENV_VAR_FIELDS} }} }} }}"
LIST = f"query {{ projects {{ id envIds envVars {{ {ENV_VAR_FIELDS} }} }} }}"
CREATE_DEPLOYMENT = f"""
mutation Deploy($projectId: ID!) {{
  createDeployment(projectId: $projectId) {{ {DEPLOYMENT_FIELDS} }}
}}
"""
GET_DEPLOYMENT = (
    f"query GetDeployment($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT_FIELDS} }} }}"
)
PROJECT_DEPLOYMENTS = f"""
query ProjectDeployments($id: ID!) {{
  project(id: $id) {{
    deployments {{ {DEPLOYMENT_FIELDS} }}
    latestDeployment {{ {DEPLOYMENT_FIELDS} project {{ envVars {{ {ENV_VAR_FIELDS} }} }} }}
  }}
}}
"""

UNKNOWN_PROJECT = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MAX_VALUE_BYTES = 32 * 1024


async def create_project(client: GraphQLClient, name: str = "Configured") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def set_var(
    client: GraphQLClient, project_id: str, key: str, value: str, secret: bool | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"key": key, "value": value}
    if secret is not None:
        fields["secret"] = secret
    data = await client.data(SET, {"projectId": project_id, "input": fields})
    variable: dict[str, Any] = data["setEnvVar"]
    return variable


async def project_of(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    project: dict[str, Any] = (await client.data(GET, {"id": project_id}))["project"]
    return project


async def stored_var(
    store: Store, user_id: str, project_id: str, key: str
) -> dict[str, Any] | None:
    return await store.dynamo.get_item(
        store.tables.environment,
        {"userId": user_id, "envId": f"project-{project_id}-{key}"},
        consistent=True,
    )


async def raw(client: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> str:
    """The response body exactly as the server sent it."""
    response = await client.http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.text


def secret_string() -> str:
    return f"s3cr3t{uuid.uuid4().hex}"


async def test_set_env_var_creates_a_variable_with_id_project_dash_project_id_dash_key(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)

    variable = await set_var(client, project_id, "DATABASE_URL", "postgres://db")

    assert variable == {
        "id": f"project-{project_id}-DATABASE_URL",
        "projectId": project_id,
        "key": "DATABASE_URL",
        "value": "postgres://db",
        "secret": False,
        "createdAt": variable["createdAt"],
        "updatedAt": variable["createdAt"],
    }
    assert TIMESTAMP.match(variable["createdAt"])
    project = await project_of(client, project_id)
    assert project["envIds"] == [variable["id"]]
    assert project["envVars"] == [variable]


async def test_an_env_var_is_stored_as_the_seed_describes_plus_secret(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)

    variable = await set_var(client, project_id, "REGION", "eu-west-1")

    assert await stored_var(store, user_id, project_id, "REGION") == {
        "userId": user_id,
        "envId": f"project-{project_id}-REGION",
        "projectId": project_id,
        "key": "REGION",
        "value": "eu-west-1",
        "secret": False,
        "createdAt": variable["createdAt"],
        "updatedAt": variable["updatedAt"],
    }


async def test_setting_an_existing_key_replaces_its_value_and_keeps_created_at(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    first = await set_var(client, project_id, "LOG_LEVEL", "info")

    second = await set_var(client, project_id, "LOG_LEVEL", "debug")

    assert second["id"] == first["id"]
    assert second["value"] == "debug"
    assert second["createdAt"] == first["createdAt"]
    assert second["updatedAt"] >= first["updatedAt"]
    project = await project_of(client, project_id)
    assert project["envIds"] == [first["id"]]
    assert project["envVars"] == [second]
    item = await stored_var(store, user_id, project_id, "LOG_LEVEL")
    assert item is not None
    assert (item["value"], item["createdAt"]) == ("debug", first["createdAt"])


async def test_env_vars_are_sorted_by_key(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    for key in ("ZEBRA", "APPLE", "MANGO", "BANANA", "KIWI"):
        await set_var(client, project_id, key, key.lower())

    project = await project_of(client, project_id)

    assert [variable["key"] for variable in project["envVars"]] == [
        "APPLE",
        "BANANA",
        "KIWI",
        "MANGO",
        "ZEBRA",
    ]
    assert sorted(project["envIds"]) == sorted(v["id"] for v in project["envVars"])


async def test_keys_must_be_identifiers_of_at_most_128_characters(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    bad_keys = ["", "1ABC", "A-B", "A B", "A.B", "ÄPFEL", "$HOME", " KEY", "KEY\n", "K" * 129]

    for key in bad_keys:
        error = await client.error(
            SET, {"projectId": project_id, "input": {"key": key, "value": "v"}}
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "key"}, key
        assert error["message"].startswith("key: ")

    project = await project_of(client, project_id)
    assert project["envIds"] == []
    assert project["envVars"] == []
    for key in bad_keys:
        assert await stored_var(store, user_id, project_id, key) is None


async def test_keys_at_the_edges_of_the_pattern_are_accepted(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    good_keys = ["_", "a", "Z9", "_private_1", "K" * 128]

    for key in good_keys:
        assert (await set_var(client, project_id, key, "v"))["key"] == key

    project = await project_of(client, project_id)
    assert sorted(project["envIds"]) == sorted(f"project-{project_id}-{key}" for key in good_keys)


async def test_values_may_be_32_kib_but_no_more(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)

    largest = await set_var(client, project_id, "LARGEST", "v" * MAX_VALUE_BYTES)
    empty = await set_var(client, project_id, "EMPTY", "")
    too_long = await client.error(
        SET, {"projectId": project_id, "input": {"key": "TOO_LONG", "value": "v" * 32769}}
    )
    too_many_bytes = await client.error(
        SET, {"projectId": project_id, "input": {"key": "WIDE", "value": "é" * 16385}}
    )

    assert len(largest["value"]) == MAX_VALUE_BYTES
    assert empty["value"] == ""
    for error in (too_long, too_many_bytes):
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "value"}
        assert error["message"].startswith("value: ")
    assert await stored_var(store, user_id, project_id, "TOO_LONG") is None
    assert await stored_var(store, user_id, project_id, "WIDE") is None
    project = await project_of(client, project_id)
    assert sorted(project["envIds"]) == sorted([largest["id"], empty["id"]])


async def test_a_refused_value_leaves_the_existing_variable_unchanged(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    current = await set_var(client, project_id, "KEPT", "original")

    error = await client.error(
        SET, {"projectId": project_id, "input": {"key": "KEPT", "value": "v" * 40_000}}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "value"}
    assert (await project_of(client, project_id))["envVars"] == [current]


async def test_env_ids_list_every_variable_of_20_concurrent_sets(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    keys = [f"KEY_{i:02d}" for i in range(20)]

    await asyncio.gather(*(set_var(client, project_id, key, key) for key in keys))

    project = await project_of(client, project_id)
    assert sorted(project["envIds"]) == [f"project-{project_id}-{key}" for key in keys]
    assert [variable["key"] for variable in project["envVars"]] == keys


async def test_concurrent_sets_of_one_key_leave_one_variable_listed_once(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    values = [f"value-{i}" for i in range(10)]

    await asyncio.gather(*(set_var(client, project_id, "SHARED", value) for value in values))

    project = await project_of(client, project_id)
    assert project["envIds"] == [f"project-{project_id}-SHARED"]
    (variable,) = project["envVars"]
    assert variable["value"] in values


async def test_env_ids_stay_exact_under_concurrent_deletes_and_sets(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    old_keys = [f"OLD_{i:02d}" for i in range(12)]
    for key in old_keys:
        await set_var(client, project_id, key, key)
    doomed, kept = old_keys[::2], old_keys[1::2]
    new_keys = [f"NEW_{i:02d}" for i in range(6)]

    results = await asyncio.gather(
        *(client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": key}) for key in doomed),
        *(set_var(client, project_id, key, key) for key in new_keys),
    )

    deleted = [result["deleteEnvVar"] for result in results[: len(doomed)]]
    assert deleted == [f"project-{project_id}-{key}" for key in doomed]
    project = await project_of(client, project_id)
    expected = sorted(f"project-{project_id}-{key}" for key in kept + new_keys)
    assert sorted(project["envIds"]) == expected
    assert sorted(variable["id"] for variable in project["envVars"]) == expected
    for key in doomed:
        assert await stored_var(store, user_id, project_id, key) is None


async def test_concurrent_deletes_of_every_variable_leave_env_ids_empty(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    keys = [f"GONE_{i:02d}" for i in range(10)]
    await asyncio.gather(*(set_var(client, project_id, key, key) for key in keys))

    await asyncio.gather(
        *(client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": key}) for key in keys)
    )

    project = await project_of(client, project_id)
    assert project["envIds"] == []
    assert project["envVars"] == []


async def test_a_secret_value_is_null_in_responses_but_stored(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    secret = secret_string()

    variable = await set_var(client, project_id, "API_TOKEN", secret, secret=True)

    assert (variable["value"], variable["secret"]) == (None, True)
    assert (await project_of(client, project_id))["envVars"] == [variable]
    item = await stored_var(store, user_id, project_id, "API_TOKEN")
    assert item is not None
    assert (item["value"], item["secret"]) == (secret, True)


async def test_a_secret_value_appears_in_no_response_text(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    secret = secret_string()
    await set_var(client, project_id, "PLAIN", "visible")

    texts = [
        await raw(
            client,
            SET,
            {
                "projectId": project_id,
                "input": {"key": "API_TOKEN", "value": secret, "secret": True},
            },
        ),
        await raw(client, GET, {"id": project_id}),
        await raw(client, LIST),
        await raw(client, CREATE_DEPLOYMENT, {"projectId": project_id}),
        await raw(client, PROJECT_DEPLOYMENTS, {"id": project_id}),
    ]
    deployment_id = json.loads(texts[3])["data"]["createDeployment"]["id"]
    texts.append(await raw(client, GET_DEPLOYMENT, {"id": deployment_id}))

    for text in texts:
        assert secret not in text
    assert "visible" in texts[1]


async def test_a_refused_secret_is_not_echoed_in_the_error(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    secret = secret_string()

    response = await client.http.post(
        "/graphql",
        json={
            "query": SET,
            "variables": {
                "projectId": project_id,
                "input": {"key": "BAD KEY", "value": secret, "secret": True},
            },
        },
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert secret not in response.text


async def test_a_deployment_snapshot_redacts_secret_values(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    secret = secret_string()
    await set_var(client, project_id, "API_TOKEN", secret, secret=True)
    await set_var(client, project_id, "PLAIN", "visible")
    created = (await client.data(CREATE_DEPLOYMENT, {"projectId": project_id}))["createDeployment"]

    text = await raw(client, GET_DEPLOYMENT, {"id": created["id"]})

    config = json.loads(text)["data"]["deployment"]["config"]
    assert config["env"] == [
        {"key": "API_TOKEN", "value": None, "secret": True},
        {"key": "PLAIN", "value": "visible", "secret": False},
    ]
    assert created["config"]["env"] == config["env"]
    assert secret not in text


async def test_making_a_variable_secret_hides_its_value_from_then_on(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    secret = secret_string()
    await set_var(client, project_id, "TOKEN", "public")

    hidden = await set_var(client, project_id, "TOKEN", secret, secret=True)

    assert (hidden["value"], hidden["secret"]) == (None, True)
    text = await raw(client, GET, {"id": project_id})
    assert secret not in text
    assert json.loads(text)["data"]["project"]["envVars"][0]["value"] is None


async def test_setting_a_secret_again_without_secret_true_shows_the_new_value(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    secret = secret_string()
    await set_var(client, project_id, "TOKEN", secret, secret=True)

    revealed = await set_var(client, project_id, "TOKEN", "now-public", secret=False)

    assert (revealed["value"], revealed["secret"]) == ("now-public", False)
    assert (await project_of(client, project_id))["envVars"] == [revealed]
    assert secret not in await raw(client, GET, {"id": project_id})


async def test_secret_defaults_to_false(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    variable = await set_var(client, project_id, "DEFAULTED", "shown")

    assert (variable["value"], variable["secret"]) == ("shown", False)


async def test_delete_env_var_returns_the_id_and_removes_the_variable(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    doomed = await set_var(client, project_id, "DOOMED", "x")
    kept = await set_var(client, project_id, "KEPT", "y")

    data = await client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": "DOOMED"})

    assert data["deleteEnvVar"] == doomed["id"] == f"project-{project_id}-DOOMED"
    project = await project_of(client, project_id)
    assert project["envIds"] == [kept["id"]]
    assert project["envVars"] == [kept]
    assert await stored_var(store, user_id, project_id, "DOOMED") is None


async def test_a_deleted_key_can_be_set_again_as_a_new_variable(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    await set_var(client, project_id, "AGAIN", "first")
    await client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": "AGAIN"})

    again = await set_var(client, project_id, "AGAIN", "second")

    project = await project_of(client, project_id)
    assert project["envIds"] == [again["id"]]
    assert project["envVars"] == [again]


async def test_deleting_a_missing_variable_is_not_found(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    await set_var(client, project_id, "PRESENT", "x")
    await set_var(client, project_id, "ONCE", "x")
    await client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": "ONCE"})

    for variables in (
        {"projectId": project_id, "key": "ABSENT"},
        {"projectId": project_id, "key": "ONCE"},
        {"projectId": project_id, "key": "present"},
        {"projectId": UNKNOWN_PROJECT, "key": "PRESENT"},
        {"projectId": "not a key at all / ##", "key": "PRESENT"},
    ):
        error = await client.error(DELETE_ENV_VAR, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", variables

    project = await project_of(client, project_id)
    assert project["envIds"] == [f"project-{project_id}-PRESENT"]


async def test_setting_a_variable_of_an_unknown_project_is_not_found_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    for project_id in (UNKNOWN_PROJECT, "not a key at all / ##"):
        error = await client.error(
            SET, {"projectId": project_id, "input": {"key": "ORPHAN", "value": "x"}}
        )
        assert error["extensions"]["code"] == "NOT_FOUND", project_id

    assert await stored_var(store, user_id, UNKNOWN_PROJECT, "ORPHAN") is None


async def test_another_users_project_variables_are_not_found_and_unchanged(
    client: GraphQLClient, app: ASGIApp, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    mine = await set_var(client, project_id, "MINE", "owner's")
    intruder_id = f"{user_id}-intruder"

    async with GraphQLClient.for_app(app, intruder_id) as intruder:
        replace = await intruder.error(
            SET, {"projectId": project_id, "input": {"key": "MINE", "value": "stolen"}}
        )
        add = await intruder.error(
            SET, {"projectId": project_id, "input": {"key": "EXTRA", "value": "planted"}}
        )
        delete = await intruder.error(DELETE_ENV_VAR, {"projectId": project_id, "key": "MINE"})

    assert [replace["extensions"]["code"], add["extensions"]["code"]] == ["NOT_FOUND"] * 2
    assert delete["extensions"]["code"] == "NOT_FOUND"
    project = await project_of(client, project_id)
    assert project["envIds"] == [mine["id"]]
    assert project["envVars"] == [mine]
    assert await stored_var(store, intruder_id, project_id, "MINE") is None
    assert await stored_var(store, intruder_id, project_id, "EXTRA") is None


@pytest.mark.parametrize("value", UNPRINTABLE_TEXT.values(), ids=UNPRINTABLE_TEXT.keys())
async def test_values_with_control_characters_or_bidi_overrides_are_bad_user_input(
    client: GraphQLClient, store: Store, user_id: str, value: str
) -> None:
    project_id = await create_project(client)

    error = await client.error(
        SET, {"projectId": project_id, "input": {"key": "K", "value": value}}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "value"}
    assert await stored_var(store, user_id, project_id, "K") is None


async def test_values_keep_tabs_line_breaks_and_ordinary_unicode(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    variable = await set_var(client, project_id, "PEM", ORDINARY_TEXT)

    assert variable["value"] == ORDINARY_TEXT


async def test_a_project_at_its_env_var_quota_is_refused_a_new_key_but_replaces_old_ones(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project holding as many env vars as a project may
    lower_quotas(ENV_VARS_PER_PROJECT=2)
    project_id = await create_project(client)
    first = await set_var(client, project_id, "FIRST", "1")
    second = await set_var(client, project_id, "SECOND", "2")

    # when a new key is set, and then an existing one
    error = await client.error(
        SET, {"projectId": project_id, "input": {"key": "THIRD", "value": "3"}}
    )
    replaced = await set_var(client, project_id, "SECOND", "two")

    # then the new key is QUOTA_EXCEEDED and not written; replacing a key is no create
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "ENV_VARS_PER_PROJECT",
        "limit": 2,
    }
    assert error["message"] == (
        "a project holds at most 2 environment variables (ENV_VARS_PER_PROJECT)"
    )
    assert await stored_var(store, user_id, project_id, "THIRD") is None
    assert replaced["value"] == "two"
    assert (await project_of(client, project_id))["envIds"] == [first["id"], second["id"]]


async def test_an_account_at_its_env_var_quota_is_refused_a_new_key_in_any_project(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given an account whose two projects hold as many env vars as an account may
    lower_quotas(ENV_VARS_PER_USER=2)
    first, second = await create_project(client, "First"), await create_project(client, "Second")
    await set_var(client, first, "ONE", "1")
    await set_var(client, second, "TWO", "2")

    # when a third is set
    error = await client.error(SET, {"projectId": second, "input": {"key": "THREE", "value": "3"}})

    # then the account's quota refuses it
    assert error["extensions"]["quota"] == "ENV_VARS_PER_USER"
    assert await stored_var(store, user_id, second, "THREE") is None


async def test_deleting_an_env_var_frees_a_slot_under_the_env_var_quota(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project at its env var quota
    lower_quotas(ENV_VARS_PER_PROJECT=1)
    project_id = await create_project(client)
    await set_var(client, project_id, "OLD", "1")

    # when the variable is deleted
    await client.data(DELETE_ENV_VAR, {"projectId": project_id, "key": "OLD"})

    # then a new key can be set in its place
    new = await set_var(client, project_id, "NEW", "2")
    assert (await project_of(client, project_id))["envIds"] == [new["id"]]
    usage = await store.usage.read(user_id)
    assert usage is not None
    assert usage["envVars"] == 1
