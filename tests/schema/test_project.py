"""Projects over GraphQL: create, list, get, update with versions, delete."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server import quotas
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import DELETE_PROJECT, PROJECT_FIELDS
from tests.text_cases import ORDINARY_NAMES, ORDINARY_TEXT, UNPRINTABLE_NAMES, UNPRINTABLE_TEXT

CREATE = f"""
mutation Create($input: CreateProjectInput!) {{
  createProject(input: $input) {{ {PROJECT_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateProjectInput!) {{
  updateProject(id: $id, input: $input) {{ {PROJECT_FIELDS} }}
}}
"""
GET = f"query Get($id: ID!) {{ project(id: $id) {{ {PROJECT_FIELDS} }} }}"
LIST = "query { projects { id name } }"

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def create(
    client: GraphQLClient, name: str, description: str | None = None
) -> dict[str, Any]:
    fields = {"name": name} if description is None else {"name": name, "description": description}
    data = await client.data(CREATE, {"input": fields})
    project: dict[str, Any] = data["createProject"]
    return project


async def test_a_new_project_has_a_ulid_version_1_and_timestamps(client: GraphQLClient) -> None:
    project = await create(client, "  Support desk  ", "Routes tickets")

    assert ULID.match(project["id"])
    assert project["name"] == "Support desk"
    assert project["description"] == "Routes tickets"
    assert project["version"] == 1
    assert TIMESTAMP.match(project["createdAt"])
    assert project["createdAt"] == project["updatedAt"]
    assert project["agentIds"] == project["toolIds"] == project["envIds"] == []
    assert project["deploymentIds"] == []


async def test_a_project_is_stored_as_the_seed_describes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project = await create(client, "Seed shape")

    item = await store.dynamo.get_item(
        store.tables.projects, {"userId": user_id, "projectId": project["id"]}, consistent=True
    )

    assert item == {
        "userId": user_id,
        "projectId": project["id"],
        "name": "Seed shape",
        "description": "",
        "agentIds": [],
        "toolIds": [],
        "envIds": [],
        "deploymentIds": [],
        "createdAt": project["createdAt"],
        "updatedAt": project["updatedAt"],
        "version": 1,
    }


async def test_projects_lists_only_the_callers_projects_oldest_first(
    client: GraphQLClient, app: ASGIApp
) -> None:
    first = await create(client, "First")
    second = await create(client, "Second")
    async with GraphQLClient.for_app(app, "someone-else-entirely") as other:
        await create(other, "Not yours")

    data = await client.data(LIST)

    assert data["projects"] == [
        {"id": first["id"], "name": "First"},
        {"id": second["id"], "name": "Second"},
    ]


async def test_project_by_id_returns_it_and_null_for_unknown_ids(client: GraphQLClient) -> None:
    project = await create(client, "Lookup")

    found = await client.data(GET, {"id": project["id"]})
    missing = await client.data(GET, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"})
    malformed = await client.data(GET, {"id": "not a key at all / ##"})

    assert found["project"] == project
    assert missing["project"] is None
    assert malformed["project"] is None


async def test_another_users_project_is_invisible_and_unchangeable(
    client: GraphQLClient, app: ASGIApp
) -> None:
    project = await create(client, "Private")

    async with GraphQLClient.for_app(app, "intruder") as intruder:
        seen = await intruder.data(GET, {"id": project["id"]})
        update = await intruder.error(UPDATE, {"id": project["id"], "input": {"name": "Mine"}})
        delete = await intruder.error(DELETE_PROJECT, {"id": project["id"]})

    assert seen["project"] is None
    assert update["extensions"]["code"] == "NOT_FOUND"
    assert delete["extensions"]["code"] == "NOT_FOUND"
    assert (await client.data(GET, {"id": project["id"]}))["project"] == project


async def test_update_changes_given_fields_and_bumps_the_version(client: GraphQLClient) -> None:
    project = await create(client, "Before", "Kept")

    data = await client.data(UPDATE, {"id": project["id"], "input": {"name": "After"}})

    updated = data["updateProject"]
    assert updated["name"] == "After"
    assert updated["description"] == "Kept"
    assert updated["version"] == 2
    assert updated["createdAt"] == project["createdAt"]
    assert updated["updatedAt"] >= project["updatedAt"]
    assert (await client.data(GET, {"id": project["id"]}))["project"] == updated


async def test_update_with_the_expected_version_succeeds(client: GraphQLClient) -> None:
    project = await create(client, "Versioned")

    data = await client.data(
        UPDATE, {"id": project["id"], "input": {"description": "v2", "expectedVersion": 1}}
    )

    assert data["updateProject"]["version"] == 2


async def test_update_with_a_stale_version_conflicts_and_changes_nothing(
    client: GraphQLClient,
) -> None:
    project = await create(client, "Contended")
    await client.data(UPDATE, {"id": project["id"], "input": {"name": "Winner"}})

    error = await client.error(
        UPDATE, {"id": project["id"], "input": {"name": "Loser", "expectedVersion": 1}}
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert "version 2" in error["message"]
    stored = (await client.data(GET, {"id": project["id"]}))["project"]
    assert (stored["name"], stored["version"]) == ("Winner", 2)


async def test_concurrent_updates_at_one_version_let_exactly_one_win(client: GraphQLClient) -> None:
    project = await create(client, "Race")

    results = await asyncio.gather(
        *(
            client.execute(
                UPDATE, {"id": project["id"], "input": {"name": f"n{i}", "expectedVersion": 1}}
            )
            for i in range(8)
        )
    )

    winners = [result for result in results if "errors" not in result]
    losers = [result["errors"][0]["extensions"]["code"] for result in results if "errors" in result]
    assert len(winners) == 1
    assert losers == ["CONFLICT"] * 7
    stored = (await client.data(GET, {"id": project["id"]}))["project"]
    assert stored["version"] == 2
    assert stored["name"] == winners[0]["data"]["updateProject"]["name"]


async def test_concurrent_updates_without_versions_all_count(client: GraphQLClient) -> None:
    project = await create(client, "Counted")

    await asyncio.gather(
        *(client.data(UPDATE, {"id": project["id"], "input": {"name": f"n{i}"}}) for i in range(6))
    )

    assert (await client.data(GET, {"id": project["id"]}))["project"]["version"] == 7


async def test_an_empty_update_returns_the_project_unchanged(client: GraphQLClient) -> None:
    project = await create(client, "Untouched")

    data = await client.data(UPDATE, {"id": project["id"], "input": {}})
    stale = await client.error(UPDATE, {"id": project["id"], "input": {"expectedVersion": 5}})

    assert data["updateProject"] == project
    assert stale["extensions"]["code"] == "CONFLICT"


async def test_updating_or_deleting_an_unknown_project_is_not_found(client: GraphQLClient) -> None:
    for document, variables in (
        (UPDATE, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "input": {"name": "x"}}),
        (UPDATE, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "input": {}}),
        (DELETE_PROJECT, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        (DELETE_PROJECT, {"id": ""}),
    ):
        error = await client.error(document, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (document, variables)


async def test_delete_removes_the_project_and_returns_its_id(client: GraphQLClient) -> None:
    project = await create(client, "Doomed")

    data = await client.data(DELETE_PROJECT, {"id": project["id"]})
    again = await client.error(DELETE_PROJECT, {"id": project["id"]})

    assert data["deleteProject"] == project["id"]
    assert (await client.data(GET, {"id": project["id"]}))["project"] is None
    assert again["extensions"]["code"] == "NOT_FOUND"


async def test_invalid_names_and_descriptions_are_bad_user_input(client: GraphQLClient) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        (CREATE, {"input": {"name": "   "}}, "name"),
        (CREATE, {"input": {"name": "x" * 129}}, "name"),
        (CREATE, {"input": {"name": "ok", "description": "d" * 4001}}, "description"),
    ]
    project = await create(client, "Valid")
    cases += [
        (UPDATE, {"id": project["id"], "input": {"name": ""}}, "name"),
        (UPDATE, {"id": project["id"], "input": {"name": None}}, "name"),
        (UPDATE, {"id": project["id"], "input": {"description": None}}, "description"),
        (UPDATE, {"id": project["id"], "input": {"expectedVersion": 0}}, "expectedVersion"),
    ]

    for document, variables, field in cases:
        error = await client.error(document, variables)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, variables
        assert error["message"].startswith(f"{field}: ")

    assert (await client.data(LIST))["projects"] == [{"id": project["id"], "name": "Valid"}]
    assert (await client.data(GET, {"id": project["id"]}))["project"]["version"] == 1


async def test_names_at_the_limits_are_accepted(client: GraphQLClient) -> None:
    project = await create(client, "n" * 128, "d" * 4000)

    assert len(project["name"]) == 128
    assert len(project["description"]) == 4000


async def test_items_written_without_a_version_count_as_version_1(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    await store.dynamo.put_item(
        store.tables.projects,
        {
            "userId": user_id,
            "projectId": "legacy-1",
            "name": "Legacy",
            "description": "from another program",
            "agentIds": [],
            "toolIds": [],
            "envIds": [],
            "deploymentIds": [],
            "createdAt": "2025-01-01T00:00:00.000Z",
            "updatedAt": "2025-01-01T00:00:00.000Z",
        },
    )

    seen = (await client.data(GET, {"id": "legacy-1"}))["project"]
    updated = await client.data(
        UPDATE, {"id": "legacy-1", "input": {"name": "Renamed", "expectedVersion": 1}}
    )

    assert seen["version"] == 1
    assert updated["updateProject"]["version"] == 2


@pytest.mark.parametrize("name", UNPRINTABLE_NAMES.values(), ids=UNPRINTABLE_NAMES.keys())
async def test_names_with_control_or_format_characters_are_bad_user_input(
    client: GraphQLClient, name: str
) -> None:
    project = await create(client, "Valid")

    errors = [
        await client.error(CREATE, {"input": {"name": name}}),
        await client.error(UPDATE, {"id": project["id"], "input": {"name": name}}),
    ]

    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
        assert error["message"].startswith("name: ")
    assert (await client.data(LIST))["projects"] == [{"id": project["id"], "name": "Valid"}]


@pytest.mark.parametrize("name", ORDINARY_NAMES.values(), ids=ORDINARY_NAMES.keys())
async def test_ordinary_unicode_names_are_kept_as_written(client: GraphQLClient, name: str) -> None:
    project = await create(client, name, ORDINARY_TEXT)

    assert (project["name"], project["description"]) == (name, ORDINARY_TEXT)
    assert (await client.data(GET, {"id": project["id"]}))["project"]["name"] == name


@pytest.mark.parametrize("text", UNPRINTABLE_TEXT.values(), ids=UNPRINTABLE_TEXT.keys())
async def test_descriptions_with_control_characters_or_bidi_overrides_are_bad_user_input(
    client: GraphQLClient, text: str
) -> None:
    project = await create(client, "Valid")

    errors = [
        await client.error(CREATE, {"input": {"name": "ok", "description": text}}),
        await client.error(UPDATE, {"id": project["id"], "input": {"description": text}}),
    ]

    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "description"}
    assert (await client.data(GET, {"id": project["id"]}))["project"]["version"] == 1


async def test_an_account_at_its_project_quota_is_refused_another_and_nothing_is_written(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given an account holding as many projects as it may
    lower_quotas(PROJECTS_PER_USER=3)
    kept = [(await create(client, f"Project {n}"))["id"] for n in range(3)]

    # when it creates one more
    error = await client.error(CREATE, {"input": {"name": "One too many"}})

    # then the create is QUOTA_EXCEEDED, naming the quota, and no project was written
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "PROJECTS_PER_USER",
        "limit": 3,
    }
    assert error["message"] == "an account holds at most 3 projects (PROJECTS_PER_USER)"
    assert [p["id"] for p in (await client.data(LIST))["projects"]] == kept
    usage = await store.usage.read(user_id)
    assert usage is not None
    assert usage["projects"] == 3


async def test_deleting_a_project_frees_a_slot_under_the_project_quota(
    client: GraphQLClient, lower_quotas: Callable[..., None]
) -> None:
    # given an account at its project quota
    lower_quotas(PROJECTS_PER_USER=2)
    first = await create(client, "First")
    await create(client, "Second")
    assert (await client.error(CREATE, {"input": {"name": "Third"}}))["extensions"][
        "code"
    ] == "QUOTA_EXCEEDED"

    # when one project is deleted
    await client.data(DELETE_PROJECT, {"id": first["id"]})

    # then another can be created, and then none again
    assert (await create(client, "Third"))["name"] == "Third"
    assert (await client.error(CREATE, {"input": {"name": "Fourth"}}))["extensions"][
        "code"
    ] == "QUOTA_EXCEEDED"


async def test_an_account_with_the_real_project_quota_of_projects_from_before_quotas_gets_no_more(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an account whose PROJECTS_PER_USER projects were written before quotas existed
    # (another program, or this server before it kept a usage item)
    limit = quotas.PROJECTS_PER_USER
    await store.dynamo.batch_write(
        store.tables.projects,
        puts=[
            {
                "userId": user_id,
                "projectId": f"legacy-{n:04d}",
                "name": f"Legacy {n}",
                "description": "",
                "createdAt": "2025-01-01T00:00:00.000Z",
                "updatedAt": "2025-01-01T00:00:00.000Z",
            }
            for n in range(limit)
        ],
    )

    # when it creates one more
    error = await client.error(CREATE, {"input": {"name": "Past the quota"}})

    # then its projects were counted exactly, and the create is refused
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "PROJECTS_PER_USER",
        "limit": limit,
    }
    assert len((await client.data(LIST))["projects"]) == limit
    assert await store.usage.read(user_id) == {
        "projects": limit,
        "agents": 0,
        "tools": 0,
        "envVars": 0,
    }
