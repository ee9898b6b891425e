"""At realistic sizes (kilobytes of prompts and code, deployments with full snapshots), what an
operation reads depends on what it shows, not on the size of the account.

The bytes are counted as `bench/reads.py` counts them (DynamoDB bills whole items, and a Query
every item of the key range it went through): these tests pin the figures that benchmark
reports, for an account of one project and one of fifty.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from bench.reads import PAGE_BYTES, Index, documents, floor, read_cost
from bench.seeding import REALISTIC, SMALL, seed_projects
from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import CREATE_DEPLOYMENT

# Seeding writes 25 items of up to 70 KB in one BatchWriteItem; aiohttp warns about the body.
pytestmark = pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")

OPERATIONS = ("Dashboard", "project(id)", "agent(id)", "deployment(id)")
SIZES = (1, 50)


@dataclass(frozen=True)
class Account:
    user: str
    first_project: str


@pytest.fixture(scope="module")
async def measured_app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """DEBUG_EXTENSIONS name every key read; the catalog is cached, as in production."""
    debug = settings.model_copy(update={"debug_extensions": True, "builtin_cache_seconds": 60.0})
    async with LifespanManager(create_app(debug)) as manager:
        yield manager.app


@pytest.fixture(scope="module")
async def accounts(store: Store) -> tuple[Index, dict[int, Account]]:
    """An account of 1 and one of 50 realistic projects, and the index of their items."""
    index = Index(store)
    await index.load_catalog()
    seeded = {}
    for size in SIZES:
        user = f"sized-{size}-{uuid.uuid4().hex[:8]}"
        project_ids = await seed_projects(store, user, size, REALISTIC)
        await index.load(user)
        seeded[size] = Account(user, project_ids[0])
    return index, seeded


@dataclass(frozen=True)
class Measured:
    rounds: int
    read: int
    floor: int
    reads: list[dict[str, Any]]
    data: dict[str, Any]


async def measure(app: ASGIApp, index: Index, account: Account, operation: str) -> Measured:
    document, variables = documents(index, account.user, account.first_project)[operation]
    async with GraphQLClient.for_app(app, account.user) as client:
        await client.data(document, variables)  # warms the catalog cache
        body = await client.execute(document, variables)
    assert "errors" not in body, body["errors"]
    tally = body["extensions"]["dynamodb"]
    return Measured(
        rounds=tally["rounds"],
        read=read_cost(index, tally["reads"]).bytes,
        floor=floor(index, account.user, operation, body["data"]),
        reads=tally["reads"],
        data=body["data"],
    )


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("size", SIZES)
async def test_an_operation_takes_at_most_two_rounds_whatever_the_account_size(
    measured_app: ASGIApp,
    accounts: tuple[Index, dict[int, Account]],
    operation: str,
    size: int,
) -> None:
    index, seeded = accounts

    measured = await measure(measured_app, index, seeded[size], operation)

    assert measured.rounds <= 2


@pytest.mark.parametrize("operation", ["project(id)", "agent(id)", "deployment(id)"])
async def test_an_operation_on_one_item_reads_the_same_at_1_and_50_projects(
    measured_app: ASGIApp, accounts: tuple[Index, dict[int, Account]], operation: str
) -> None:
    index, seeded = accounts

    small = await measure(measured_app, index, seeded[1], operation)
    large = await measure(measured_app, index, seeded[50], operation)

    assert not [read for read in large.reads if read.get("operation") == "Query"]
    assert large.read == pytest.approx(small.read, rel=0.05)
    assert large.read <= 1.5 * large.floor


@pytest.mark.parametrize("size", SIZES)
async def test_the_dashboard_reads_what_it_shows_plus_at_most_a_first_page_per_table(
    measured_app: ASGIApp, accounts: tuple[Index, dict[int, Account]], size: int
) -> None:
    index, seeded = accounts

    measured = await measure(measured_app, index, seeded[size], "Dashboard")

    queries = [read for read in measured.reads if read.get("operation") == "Query"]
    assert all(read["start"] is None for read in queries)  # no table is paged through
    first_pages = len({read["table"] for read in queries})
    assert measured.read <= 1.5 * measured.floor + first_pages * PAGE_BYTES
    assert len(measured.data["projects"]) == size


async def test_a_dashboard_whose_tables_fit_a_page_takes_one_round(
    measured_app: ASGIApp, accounts: tuple[Index, dict[int, Account]]
) -> None:
    index, seeded = accounts

    measured = await measure(measured_app, index, seeded[1], "Dashboard")

    assert measured.rounds == 1
    assert measured.read <= 1.5 * measured.floor


# Its tools are shown: creating it reads them, by the ids its project lists.
CREATE_AGENT_SHOWING_TOOLS = """
mutation($p: ID!, $tools: [String!]!) {
  createAgent(projectId: $p, input: {name: "Writer", systemPrompt: "Write.",
    toolNames: $tools, model: {region: "us-east-1", modelId: "m"}}) { id tools { id } }
}
"""


async def test_writes_read_what_their_project_holds_not_the_account(
    measured_app: ASGIApp, store: Store
) -> None:
    """Creating an agent checks its tools, and a deployment snapshots its project, by the ids
    the project lists: no Query of the account's agents, tools or env vars."""
    user = f"writer-{uuid.uuid4().hex[:8]}"
    project_id, *_ = await seed_projects(store, user, 20, SMALL)
    index = Index(store)
    await index.load(user)
    tools = index.partitions[(store.tables.tools, user)].items
    names = [tool["name"] for tool in tools if tool.get("projectId") == project_id][:2]
    children = {store.tables.agents, store.tables.tools, store.tables.environment}

    async with GraphQLClient.for_app(measured_app, user) as client:
        agent = await client.execute(CREATE_AGENT_SHOWING_TOOLS, {"p": project_id, "tools": names})
        deployment = await client.execute(CREATE_DEPLOYMENT, {"projectId": project_id})

    for body in (agent, deployment):
        assert "errors" not in body, body["errors"]
        queried = {
            r["table"] for r in body["extensions"]["dynamodb"]["reads"] if r["operation"] == "Query"
        }
        assert not queried & children
    assert len(agent["data"]["createAgent"]["tools"]) == 2
