"""Dev-mode authentication: the identity comes from X-Dev-User and X-Dev-Groups only."""

from __future__ import annotations

from starlette.types import ASGIApp

from server.auth import DevAuthenticator
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT, VIEWER


async def test_without_a_header_the_caller_is_dev_user(app: ASGIApp) -> None:
    async with GraphQLClient.for_app(app, None) as client:
        data = await client.data(VIEWER)

    assert data["viewer"] == {"userId": "dev-user", "isAdmin": False}


async def test_x_dev_user_names_the_caller(client: GraphQLClient, user_id: str) -> None:
    data = await client.data(VIEWER)

    assert data["viewer"] == {"userId": user_id, "isAdmin": False}


async def test_the_admin_group_makes_an_admin(app: ASGIApp) -> None:
    async with GraphQLClient.for_app(app, "boss", groups="staff, admin") as client:
        data = await client.data(VIEWER)

    assert data["viewer"] == {"userId": "boss", "isAdmin": True}


async def test_a_malformed_user_is_unauthenticated_and_nothing_runs(app: ASGIApp) -> None:
    async with GraphQLClient.for_app(app, "no spaces/allowed") as client:
        mutation = await client.execute(CREATE_PROJECT, {"input": {"name": "x"}})
        invalid = await client.execute("{ notAField }")

    for body in (mutation, invalid):
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    async with GraphQLClient.for_app(app, "no-spaces-allowed") as client:
        assert (await client.data("{ projects { id } }"))["projects"] == []


async def test_dev_groups_are_trimmed_and_split_on_commas() -> None:
    identity = await DevAuthenticator("ops").authenticate(
        {"x-dev-user": " ana ", "x-dev-groups": " ops ,, readers"}
    )

    assert identity.user_id == "ana"
    assert identity.groups == frozenset({"ops", "readers"})
    assert identity.is_admin
