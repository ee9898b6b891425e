"""The cost limit: operations that may resolve too many fields are refused before they run,
and an execution that turns out over the limit is stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from graphql import get_nullable_type, is_list_type, is_object_type

from server import quotas
from server.app import create_app
from server.models import Agent, Project, new_id, now_iso
from server.models.tool import MAX_CODE
from server.schema import schema
from server.schema.cost import FIELD_WEIGHTS, LIST_BOUNDS
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import (
    ALIASED_USED_BY_ATTACK,
    CREATE_PROJECT,
    DASHBOARD,
    OVERVIEW,
    USED_BY_ATTACK,
)

COSTED = {"input": {"name": "Costed"}}

# The estimates of the README's documents at the quotas of `server/quotas.py`.
DASHBOARD_AT_QUOTAS = 38_803
OVERVIEW_AT_QUOTAS = 10_015

ClientFactory = Callable[..., AbstractAsyncContextManager[GraphQLClient]]


@pytest.fixture
def costed(settings: Settings, store: Store, user_id: str) -> ClientFactory:
    """A client of an app with DEBUG_EXTENSIONS on and the given settings."""

    @asynccontextmanager
    async def client(**overrides: Any) -> AsyncIterator[GraphQLClient]:
        changed = settings.model_copy(update={"debug_extensions": True, **overrides})
        async with LifespanManager(create_app(changed)) as manager:
            async with GraphQLClient.for_app(manager.app, user_id) as client:
                yield client

    return client


async def requested(
    client: GraphQLClient, query: str, variables: dict[str, Any] | None = None
) -> int:
    body = await client.execute(query, variables)
    assert "errors" not in body, body["errors"]
    cost: int = body["extensions"]["cost"]["requestedQueryCost"]
    return cost


# -- refused before running ------------------------------------------------------------------


async def test_the_usedby_chain_attack_is_refused_before_any_resolver_runs(
    costed: ClientFactory,
) -> None:
    async with costed() as client:
        body = await client.execute(USED_BY_ATTACK, {"p": "any"})

    (error,) = body["errors"]
    estimate = 2 + quotas.AGENTS_PER_PROJECT * (
        1 + quotas.TOOLS_PER_AGENT * (1 + quotas.AGENTS_PER_PROJECT * (1 + quotas.TOOLS_PER_AGENT))
    )
    limit = Settings().max_query_cost
    assert error["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": {"requestedQueryCost": estimate, "maximumAvailable": limit},
    }
    assert error["message"] == (
        f"this operation may resolve up to {estimate:,} fields; the limit is {limit:,}"
    )
    assert body["data"] is None
    assert body["extensions"]["dynamodb"]["requests"] == 0
    assert body["extensions"]["cost"] == {"requestedQueryCost": estimate, "actualQueryCost": 0}


async def test_30_aliases_of_the_agents_tools_usedby_attack_are_refused(
    costed: ClientFactory,
) -> None:
    async with costed() as client:
        body = await client.execute(ALIASED_USED_BY_ATTACK, {"p": "any"})

    (error,) = body["errors"]
    per_alias = 2 + quotas.AGENTS_PER_PROJECT * (
        1 + quotas.TOOLS_PER_AGENT * (1 + quotas.AGENTS_PER_PROJECT)
    )
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"]["requestedQueryCost"] == 30 * per_alias
    assert body["extensions"]["dynamodb"]["requests"] == 0


async def test_a_mutation_is_refused_before_it_writes_anything(costed: ClientFactory) -> None:
    mutation = (
        'mutation { createProject(input: {name: "x"})'
        " { agents { tools { usedBy { tools { id } } } } } }"
    )
    async with costed() as client:
        body = await client.execute(mutation)
        projects = await client.data("{ projects { id } }")

    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert projects == {"projects": []}


async def test_the_limit_is_the_max_query_cost_setting(costed: ClientFactory) -> None:
    async with costed(max_query_cost=3) as client:
        served = await client.execute("{ viewer { userId isAdmin } }")
        refused = await client.error("{ viewer { userId isAdmin } projects { id } }")

    assert served["data"]["viewer"]["isAdmin"] is False
    assert refused["extensions"]["cost"] == {
        "requestedQueryCost": 4 + quotas.PROJECTS_PER_USER,
        "maximumAvailable": 3,
    }


# -- what the SPA sends is served --------------------------------------------------------------


async def test_the_readme_dashboard_is_served_and_costs_what_the_quotas_allow(
    costed: ClientFactory,
) -> None:
    async with costed() as client:
        await client.data(CREATE_PROJECT, COSTED)
        body = await client.execute(DASHBOARD)

    assert "errors" not in body
    assert body["data"]["projects"][0]["agents"] == []
    assert body["extensions"]["cost"]["requestedQueryCost"] == DASHBOARD_AT_QUOTAS
    assert DASHBOARD_AT_QUOTAS <= Settings().max_query_cost


async def test_the_readme_worked_example_overview_is_served(costed: ClientFactory) -> None:
    async with costed() as client:
        project_id = (await client.data(CREATE_PROJECT, COSTED))["createProject"]["id"]
        body = await client.execute(OVERVIEW, {"projectId": project_id})

    assert "errors" not in body
    assert body["data"]["project"]["agentIds"] == []
    assert body["extensions"]["cost"]["requestedQueryCost"] == OVERVIEW_AT_QUOTAS
    # Counted as selected: the null mainConfig and latestDeployment count their fields too.
    assert body["extensions"]["cost"]["actualQueryCost"] == 15


# -- how the estimate counts -------------------------------------------------------------------

DEPLOYMENTS = "query($p: ID!, $n: Int) { project(id: $p) { deployments(limit: $n) { id status } } }"


@pytest.mark.parametrize(
    ("limit", "listed"),
    [(3, 3), (0, 0), (-5, 0), (100, 100), (1000, quotas.DEPLOYMENTS_PER_LISTING), (None, 20)],
)
async def test_a_deployments_limit_from_a_variable_bounds_the_estimate(
    costed: ClientFactory, limit: int | None, listed: int
) -> None:
    async with costed() as client:
        cost = await requested(client, DEPLOYMENTS, {"p": "any", "n": limit})

    assert cost == 2 + 2 * listed


async def test_a_deployments_limit_literal_bounds_the_estimate(costed: ClientFactory) -> None:
    async with costed() as client:
        literal = await requested(client, '{ project(id: "x") { deployments(limit: 7) { id } } }')
        default = await requested(client, '{ project(id: "x") { deployments { id } } }')

    assert (literal, default) == (2 + 7, 2 + 20)


async def test_fragments_count_where_they_are_spread_and_aliases_count_again(
    costed: ClientFactory,
) -> None:
    inline = "{ projects { agents { id name } } }"
    fragment = (
        "{ projects { ...P } }"
        " fragment P on Project { agents { ...A } } fragment A on Agent { id name }"
    )
    aliased = (
        "{ projects { a: agents { ...A } b: agents { ...A } } } fragment A on Agent { id name }"
    )
    async with costed() as client:
        costs = [await requested(client, q) for q in (inline, fragment, aliased)]

    agents = min(quotas.PROJECTS_PER_USER * quotas.AGENTS_PER_PROJECT, quotas.AGENTS_PER_USER)
    one = 1 + quotas.PROJECTS_PER_USER + 2 * agents
    assert costs == [one, one, one + quotas.PROJECTS_PER_USER + 2 * agents]


async def test_owned_children_are_capped_by_the_account_but_shared_ones_are_not(
    costed: ClientFactory,
) -> None:
    owned = "{ projects { agents { id } } }"
    shared = '{ tool(id: "t") { project { agents { id } } } }'
    async with costed() as client:
        costs = [await requested(client, q) for q in (owned, shared)]

    assert costs[0] == 1 + quotas.PROJECTS_PER_USER + quotas.AGENTS_PER_USER
    assert costs[1] == 3 + quotas.AGENTS_PER_PROJECT


async def test_deployments_are_bounded_per_project_with_no_account_wide_cap(
    costed: ClientFactory,
) -> None:
    # A project keeps its newest deployments; nothing caps an account's total below
    # projects x DEPLOYMENTS_PER_PROJECT.
    async with costed(max_query_cost=10**9) as client:
        ids = await requested(client, "{ projects { deploymentIds } }")
        listed = await requested(client, "{ projects { deployments(limit: 100) { id } } }")

    projects, kept = quotas.PROJECTS_PER_USER, quotas.DEPLOYMENTS_PER_PROJECT
    assert ids == 1 + projects + projects * kept
    assert listed == 1 + projects + projects * quotas.DEPLOYMENTS_PER_LISTING


async def test_big_values_weigh_by_their_largest_size_so_repeating_them_is_refused(
    costed: ClientFactory,
) -> None:
    code = FIELD_WEIGHTS[("Tool", "code")]
    async with costed() as client:
        each_once = await requested(client, "{ projects { tools { code } } }")
        repeated = await client.error("{ projects { agents { tools { code } } } }")

    projects, agents = quotas.PROJECTS_PER_USER, quotas.AGENTS_PER_USER
    assert code == 1 + MAX_CODE // 5_000
    assert each_once == 1 + projects + quotas.TOOLS_PER_USER * code
    assert repeated["extensions"]["cost"]["requestedQueryCost"] == (
        1 + projects + agents + agents * quotas.TOOLS_PER_AGENT * code
    )


def test_every_list_field_of_the_schema_has_a_bound() -> None:
    lists = {
        (type_.name, name)
        for type_ in schema._schema.type_map.values()
        if is_object_type(type_) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if is_list_type(get_nullable_type(field.type))
    }

    assert lists == set(LIST_BOUNDS)


# -- stopped while running -----------------------------------------------------------------


async def write_project_with_agents(store: Store, user_id: str, agents: int) -> str:
    """A project holding `agents` agents, written straight to the tables (no quota)."""
    now = now_iso()
    project_id = new_id()
    rows = [
        Agent(
            user_id=user_id,
            agent_id=new_id(),
            project_id=project_id,
            name=f"Agent {n}",
            config={"name": f"Agent {n}", "system_prompt": "p", "tools": [], "builtin_tools": []},
            created_at=now,
            updated_at=now,
        )
        for n in range(agents)
    ]
    project = Project(
        user_id=user_id,
        project_id=project_id,
        name="Legacy",
        agent_ids=[a.agent_id for a in rows],
        created_at=now,
        updated_at=now,
    )
    items = [a.to_item() for a in rows]
    for start in range(0, len(items), 25):
        await store.dynamo.batch_write(store.tables.agents, puts=items[start : start + 25])
    await store.dynamo.put_item(store.tables.projects, project.to_item())
    return project_id


async def test_an_account_over_its_quotas_is_stopped_when_the_count_passes_the_limit(
    costed: ClientFactory, store: Store, user_id: str
) -> None:
    over = quotas.AGENTS_PER_PROJECT + 10
    project_id = await write_project_with_agents(store, user_id, over)
    query = "query($p: ID!) { project(id: $p) { agents { id name } } }"
    estimate = 2 + 2 * quotas.AGENTS_PER_PROJECT
    async with costed(max_query_cost=estimate) as client:
        body = await client.execute(query, {"p": project_id})

    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": {
            "requestedQueryCost": estimate,
            "maximumAvailable": estimate,
            "actualQueryCost": 2 + 2 * over,
        },
    }
    assert error["message"].startswith(f"this operation was stopped after resolving {2 + 2 * over}")
    assert body["data"] == {"project": None}


async def test_once_stopped_every_later_list_refuses_uncounted_and_one_error_is_reported(
    costed: ClientFactory, store: Store, user_id: str
) -> None:
    over = 4 * quotas.AGENTS_PER_PROJECT
    project_id = await write_project_with_agents(store, user_id, over)
    query = (
        "query($p: ID!) { a: project(id: $p) { agents { id } }"
        " b: project(id: $p) { agentIds } c: project(id: $p) { agentIds } }"
    )
    estimate = 3 * (2 + quotas.AGENTS_PER_PROJECT)
    async with costed(max_query_cost=estimate) as client:
        body = await client.execute(query, {"p": project_id})

    (error,) = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    # The 6 root fields and the first list to complete: the two after it were not counted.
    assert error["extensions"]["cost"]["actualQueryCost"] == 6 + over
    assert body["data"] == {"a": None, "b": None, "c": None}


async def test_an_account_within_its_quotas_is_served_with_its_actual_count(
    costed: ClientFactory, store: Store, user_id: str
) -> None:
    project_id = await write_project_with_agents(store, user_id, 3)
    async with costed() as client:
        body = await client.execute(
            "query($p: ID!) { project(id: $p) { agents { id name } } }", {"p": project_id}
        )

    assert len(body["data"]["project"]["agents"]) == 3
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + 2 * 3


async def test_no_cost_extension_without_debug_extensions(client: GraphQLClient) -> None:
    body = await client.execute("{ projects { id } }")

    assert body == {"data": {"projects": []}}
