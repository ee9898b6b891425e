"""Loaders own their invalidation: after a write, the fields after it in the same operation
read what the write made, never what an earlier field of the operation loaded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.builtin_catalog import BuiltinCatalog
from server.dataloaders import Loaders
from server.models import Project, now_iso
from server.store import Store
from tests.conftest import GraphQLClient

# The ids the loaders are primed at: one of everything, in project "p" of user "u".
PRIMED: dict[str, object] = {
    "project_by_id": ("u", "p"),
    "agents_by_project": ("u", "p"),
    "tools_by_project": ("u", "p"),
    "env_vars_by_project": ("u", "p"),
    "agent_by_id": ("u", "a"),
    "tool_by_id": ("u", "t"),
    "env_var_by_id": ("u", "project-p-K"),
    "main_config_by_id": ("u", "project-p"),
    "deployment_by_id": ("u", "d"),
    "deployment_summaries_by_project": ("u", "p", 5),
    "builtin_tool_by_name": "calculator",
}


@pytest.fixture
def loaders(store: Store) -> Loaders:
    """A request's loaders, each holding a value at its key of `PRIMED`."""
    loaders = Loaders.for_request(store, BuiltinCatalog(store.builtin_tools, ttl_seconds=0))
    for name, key in PRIMED.items():
        getattr(loaders, name).prime(key, None)
    return loaders


def dropped(loaders: Loaders) -> set[str]:
    """The loaders that no longer hold their value at `PRIMED`."""
    return {
        name for name, key in PRIMED.items() if getattr(loaders, name).cache_map.get(key) is None
    }


@pytest.mark.parametrize(
    ("forget", "expected"),
    [
        pytest.param(
            lambda loaders: loaders.forget_agent("u", "a", "p"),
            {"agent_by_id", "agents_by_project", "tools_by_project", "project_by_id"},
            id="agent",
        ),
        pytest.param(
            lambda loaders: loaders.forget_tool("u", "t", "p"),
            {"tool_by_id", "tools_by_project", "project_by_id"},
            id="tool",
        ),
        pytest.param(
            lambda loaders: loaders.forget_env_var("u", "project-p-K", "p"),
            {"env_var_by_id", "env_vars_by_project", "project_by_id"},
            id="env var",
        ),
        pytest.param(
            lambda loaders: loaders.forget_main_config("u", "p"),
            {"main_config_by_id", "project_by_id"},
            id="main config",
        ),
        pytest.param(
            lambda loaders: loaders.forget_deployment("u", "d", "p"),
            {"deployment_by_id", "deployment_summaries_by_project", "project_by_id"},
            id="deployment",
        ),
        pytest.param(
            lambda loaders: loaders.forget_builtin_tool("calculator"),
            {"builtin_tool_by_name"},
            id="built-in tool",
        ),
    ],
)
async def test_forgetting_a_written_entity_drops_exactly_what_its_write_may_change(
    loaders: Loaders, forget: Callable[[Loaders], None], expected: set[str]
) -> None:
    # Given loaders holding one of everything
    # When the entity is forgotten
    forget(loaders)
    # Then what the write may have changed is dropped, and nothing else
    assert dropped(loaders) == expected


async def test_forgetting_a_deployment_drops_those_its_create_pruned(loaders: Loaders) -> None:
    # Given loaders that hold a deployment the create of another one pruned
    loaders.deployment_by_id.prime(("u", "old"), None)
    # When the new deployment is forgotten with it
    loaders.forget_deployment("u", "new", "p", pruned=["old", "d"])
    # Then the pruned ones are dropped too
    assert loaders.deployment_by_id.cache_map.get(("u", "old")) is None
    assert "deployment_by_id" in dropped(loaders)


async def test_forgetting_what_was_never_loaded_is_no_error(loaders: Loaders) -> None:
    # Given loaders that never loaded agent "x" of project "q"
    # When it is forgotten
    loaders.forget_agent("u", "x", "q")
    # Then nothing is dropped, and nothing raised
    assert dropped(loaders) == set()


async def test_remembering_a_written_project_replaces_what_the_request_loaded(
    loaders: Loaders,
) -> None:
    # Given a request that loaded project "p" as absent
    written = Project(
        user_id="u", project_id="p", name="P", created_at=now_iso(), updated_at=now_iso()
    )
    # When it is remembered as written, then as deleted
    loaders.remember_project("u", "p", written)
    remembered = await loaders.project_by_id.load(("u", "p"))
    loaders.remember_project("u", "p", None)
    # Then the rest of the request finds each as remembered, without a read
    assert remembered == written
    assert await loaders.project_by_id.load(("u", "p")) is None


SHOWN = """
  agents { name builtinTools { description } }
  tools { name description }
  mainConfig { name }
  envVars { key value }
  deployments { status }
"""


def around(writes: str) -> str:
    """One operation: the project's children read, `writes`, and the children read again."""
    return f"""
mutation($p: ID!) {{
  before: updateProject(id: $p, input: {{description: "before"}}) {{ {SHOWN} }}
  {writes}
  after: updateProject(id: $p, input: {{description: "after"}}) {{ {SHOWN} }}
}}
"""


@dataclass(frozen=True)
class Written:
    """A project with one of every child, made through the API."""

    user: str
    project: str
    agent: str
    tool: str
    deployment: str
    builtin: str


def unique(prefix: str) -> str:
    """A name no other test uses: the catalog table is shared by every test."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def admin(app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    """A user who is also an admin, so that one operation may write the catalog too."""
    async with GraphQLClient.for_app(app, user_id, groups="admin") as admin:
        yield admin


@pytest.fixture
async def written(admin: GraphQLClient, user_id: str) -> Written:
    builtin = unique("invalidation")
    model = '{region: "us-east-1", modelId: "m"}'
    await admin.data(
        """mutation($name: String!) { upsertBuiltinTool(input: {name: $name,
        description: "Original", type: "http", inputSchema: {type: "object"},
        category: "test"}) { name } }""",
        {"name": builtin},
    )
    project = (await admin.data('mutation { createProject(input: {name: "P"}) { id } }'))[
        "createProject"
    ]["id"]
    made = await admin.data(
        f"""
mutation($p: ID!, $builtin: String!) {{
  tool: createTool(projectId: $p, input: {{name: "lookup", description: "Original",
    type: FRONTEND_ACTION, inputSchema: {{type: "object"}}}}) {{ id }}
  agent: createAgent(projectId: $p, input: {{name: "Helper", systemPrompt: "Help.",
    builtinToolNames: [$builtin], model: {model}}}) {{ id }}
  main: setMainConfig(projectId: $p, input: {{name: "Main", systemPrompt: "Route.",
    model: {model}}}) {{ id }}
  env: setEnvVar(projectId: $p, input: {{key: "K", value: "old"}}) {{ id }}
  deployment: createDeployment(projectId: $p) {{ id }}
}}
""",
        {"p": project, "builtin": builtin},
    )
    return Written(
        user=user_id,
        project=project,
        agent=made["agent"]["id"],
        tool=made["tool"]["id"],
        deployment=made["deployment"]["id"],
        builtin=builtin,
    )


BETWEEN = 'between: updateProject(id: $p, input: {description: "between"}) { ' + SHOWN + " }"
WRITES: dict[str, tuple[Callable[[Written], str], str, Any]] = {
    "setEnvVar": (
        lambda _: 'setEnvVar(projectId: $p, input: {key: "K", value: "new"}) { id }',
        "envVars",
        [{"key": "K", "value": "new"}],
    ),
    "deleteEnvVar": (lambda _: 'deleteEnvVar(projectId: $p, key: "K")', "envVars", []),
    "createAgent": (
        lambda _: (
            """createAgent(projectId: $p, input: {name: "Second", systemPrompt: "Help.",
          model: {region: "us-east-1", modelId: "m"}}) { id }"""
        ),
        "agents",
        [
            {"name": "Helper", "builtinTools": [{"description": "Original"}]},
            {"name": "Second", "builtinTools": []},
        ],
    ),
    "updateAgent": (
        lambda w: f'updateAgent(id: "{w.agent}", input: {{name: "Renamed"}}) {{ id }}',
        "agents",
        [{"name": "Renamed", "builtinTools": [{"description": "Original"}]}],
    ),
    "deleteAgent": (lambda w: f'deleteAgent(id: "{w.agent}")', "agents", []),
    "createTool": (
        lambda _: (
            """createTool(projectId: $p, input: {name: "second", type: FRONTEND_ACTION,
          inputSchema: {type: "object"}}) { id }"""
        ),
        "tools",
        [{"name": "lookup", "description": "Original"}, {"name": "second", "description": ""}],
    ),
    "updateTool": (
        lambda w: f'updateTool(id: "{w.tool}", input: {{description: "Changed"}}) {{ id }}',
        "tools",
        [{"name": "lookup", "description": "Changed"}],
    ),
    "deleteTool": (lambda w: f'deleteTool(id: "{w.tool}")', "tools", []),
    "setMainConfig": (
        lambda _: (
            """setMainConfig(projectId: $p, input: {name: "Other", systemPrompt: "Route.",
          model: {region: "us-east-1", modelId: "m"}}) { id }"""
        ),
        "mainConfig",
        {"name": "Other"},
    ),
    "cancelDeployment": (
        lambda w: f'cancelDeployment(id: "{w.deployment}") {{ id }}',
        "deployments",
        [{"status": "FAILED"}],
    ),
    "createDeployment": (
        lambda w: (
            f'cancelDeployment(id: "{w.deployment}") {{ id }} {BETWEEN}'
            " createDeployment(projectId: $p) { id }"
        ),
        "deployments",
        [{"status": "PENDING"}, {"status": "FAILED"}],
    ),
    "redeploy": (
        lambda w: (
            f'cancelDeployment(id: "{w.deployment}") {{ id }} {BETWEEN}'
            f' redeploy(deploymentId: "{w.deployment}") {{ id }}'
        ),
        "deployments",
        [{"status": "PENDING"}, {"status": "FAILED"}],
    ),
    "updateDeploymentStatus": (
        lambda w: (
            f'updateDeploymentStatus(userId: "{w.user}", id: "{w.deployment}",'
            " status: DEPLOYING) { id }"
        ),
        "deployments",
        [{"status": "DEPLOYING"}],
    ),
    "upsertBuiltinTool": (
        lambda w: (
            f'upsertBuiltinTool(input: {{name: "{w.builtin}", description: "Changed",'
            ' type: "http", inputSchema: {type: "object"}, category: "test"}) { name }'
        ),
        "agents",
        [{"name": "Helper", "builtinTools": [{"description": "Changed"}]}],
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_the_fields_after_a_write_in_the_same_operation_read_what_it_wrote(
    admin: GraphQLClient, written: Written, write: str
) -> None:
    # Given a project with one of every child, read by the operation's first field
    writes, field, expected = WRITES[write]
    # When the operation writes, then reads the project's children again
    data = await admin.data(around(writes(written)), {"p": written.project})
    # Then the second read shows the write, though the first had loaded what it replaced
    assert data["before"][field] != expected
    assert data["after"][field] == expected
