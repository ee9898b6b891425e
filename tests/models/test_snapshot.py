"""A deployment's snapshot: built from the project's records, read back as it was stored."""

from __future__ import annotations

from typing import Any

from server.models import (
    Agent,
    AgentConfig,
    EnvVar,
    MainConfig,
    OrchestratorConfig,
    Project,
    Snapshot,
    Tool,
    ToolConfig,
)

STAMP = "2026-01-01T00:00:00.000Z"
TIMES = {"created_at": STAMP, "updated_at": STAMP}
AGENT_CONFIG: dict[str, Any] = {"name": "triage", "system_prompt": "Sort.", "owner": "ops"}
TOOL_CONFIG: dict[str, Any] = {"name": "lookup", "type": "frontend_action", "inputSchema": {}}
MAIN_CONFIG: dict[str, Any] = {"name": "Main", "model": {"region": "eu-west-1"}}


def variable(key: str, *, secret: bool) -> EnvVar:
    return EnvVar(
        user_id="u",
        env_id=f"project-p-{key}",
        project_id="p",
        key=key,
        value="v",
        secret=secret,
        **TIMES,
    )


def test_a_snapshot_holds_each_config_as_stored_with_its_id_first_and_no_secret_value() -> None:
    # given a project's records
    project = Project(user_id="u", project_id="p", name="Desk", description="Helps", **TIMES)
    main = MainConfig(
        user_id="u",
        config_id="project-p",
        project_id="p",
        config=OrchestratorConfig.model_validate(MAIN_CONFIG),
        **TIMES,
    )
    agent = Agent(
        user_id="u",
        agent_id="a1",
        project_id="p",
        name="triage",
        config=AgentConfig.model_validate(AGENT_CONFIG),
        **TIMES,
    )
    tool = Tool(
        user_id="u",
        tool_id="t1",
        project_id="p",
        name="lookup",
        config=ToolConfig.model_validate(TOOL_CONFIG),
        **TIMES,
    )
    variables = [variable("ZED", secret=False), variable("API_KEY", secret=True)]

    # when it is snapshotted
    stored = Snapshot.of(project, main, [agent], [tool], variables).stored()

    # then
    assert stored == {
        "project": {"id": "p", "name": "Desk", "description": "Helps"},
        "mainConfig": MAIN_CONFIG,
        "agents": [{"id": "a1", **AGENT_CONFIG}],
        "tools": [{"id": "t1", **TOOL_CONFIG}],
        "env": [
            {"key": "API_KEY", "value": None, "secret": True},
            {"key": "ZED", "value": "v", "secret": False},
        ],
    }
    assert [list(part) for part in (*stored["agents"], *stored["tools"])] == [
        ["id", *AGENT_CONFIG],
        ["id", *TOOL_CONFIG],
    ]


def test_a_project_without_a_main_config_is_snapshotted_with_a_null_one() -> None:
    project = Project(user_id="u", project_id="p", name="Bare", **TIMES)

    stored = Snapshot.of(project, None, [], [], []).stored()

    assert stored == {
        "project": {"id": "p", "name": "Bare", "description": ""},
        "mainConfig": None,
        "agents": [],
        "tools": [],
        "env": [],
    }


def test_any_stored_snapshot_reads_back_as_it_was_stored() -> None:
    """Snapshots of older servers, or of other programs, are read as leniently as configs."""
    for stored in (
        {},
        {"blob": "x" * 100},
        {"project": {"id": "p"}, "agents": [{"id": "a", "name": "n", "extra": [1]}]},
    ):
        assert Snapshot.model_validate(stored).stored() == stored
