"""The seed's config maps as models: read once, written back exactly as the seed stores them."""

from __future__ import annotations

from typing import Any

from server.models import (
    Agent,
    AgentConfig,
    AgentPatch,
    AgentType,
    MainConfigSpec,
    NewAgent,
    NewTool,
    OrchestratorConfig,
    ToolConfig,
    ToolPatch,
    ToolType,
)

STAMP = "2026-01-01T00:00:00.000Z"
MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3"}
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}
# An agent config as another program may write it: a key the seed does not have, one of the
# model's too, and no `description` nor `builtin_tools`.
FOREIGN_AGENT: dict[str, Any] = {
    "name": "Legacy",
    "type": "agent_tool",
    "system_prompt": "Work.",
    "tools": ["lookup"],
    "model": {"region": "eu-west-1", "model_id": "m", "temperature": 0.2},
    "owner": {"team": "support", "since": 2019},
}


def test_a_config_read_is_written_back_exactly_as_it_was_stored() -> None:
    config = AgentConfig.model_validate(FOREIGN_AGENT)

    assert config.stored() == FOREIGN_AGENT


def test_keys_left_out_read_as_the_seeds_defaults() -> None:
    agent = AgentConfig.model_validate({})
    tool = ToolConfig.model_validate({})
    main = OrchestratorConfig.model_validate({})

    assert (agent.name, agent.description, agent.type, agent.system_prompt) == (
        "",
        "",
        AgentType.AGENT_TOOL,
        "",
    )
    assert (agent.tools, agent.builtin_tools, agent.model.region, agent.model.model_id) == (
        [],
        [],
        "",
        "",
    )
    assert (tool.type, tool.input_schema, tool.code) == (ToolType.CODE, {}, None)
    assert (main.name, main.system_prompt, main.model.model_id) == ("", "", "")
    assert agent.stored() == tool.stored() == main.stored() == {}


def test_a_null_where_the_seed_has_a_list_or_map_reads_as_empty_and_stays_out() -> None:
    config = AgentConfig.model_validate({"tools": None, "model": None, "notes": None})

    assert (config.tools, config.model.region) == ([], "")
    assert config.stored() == {"notes": None}  # a key it does not know keeps its null


def test_a_number_where_the_seed_has_text_reads_as_text() -> None:
    config = ToolConfig.model_validate({"name": "t", "description": 42})

    assert config.description == "42"


def test_the_tool_configs_camel_case_key_is_kept() -> None:
    config = ToolConfig.model_validate({"inputSchema": SCHEMA, "input_schema": "not ours"})

    assert config.input_schema == SCHEMA
    assert config.stored() == {"inputSchema": SCHEMA, "input_schema": "not ours"}


def test_configs_the_server_builds_hold_every_seed_key_in_the_seeds_order() -> None:
    agent = NewAgent.model_validate(
        {"name": "A", "systemPrompt": "Work.", "toolNames": ["t"], "model": MODEL}
    ).to_config()
    action = NewTool.model_validate(
        {"name": "open", "type": ToolType.FRONTEND_ACTION, "inputSchema": SCHEMA}
    ).to_config()
    code = NewTool.model_validate(
        {"name": "run", "type": ToolType.CODE, "inputSchema": SCHEMA, "code": "pass"}
    ).to_config()
    main = MainConfigSpec.model_validate(
        {"name": "Main", "systemPrompt": "Route.", "model": MODEL}
    ).to_config()

    assert agent.stored() == {
        "name": "A",
        "description": "",
        "type": "agent_tool",
        "system_prompt": "Work.",
        "tools": ["t"],
        "builtin_tools": [],
        "model": {"region": "us-east-1", "model_id": "anthropic.claude-3"},
    }
    assert list(agent.stored()) == [
        "name",
        "description",
        "type",
        "system_prompt",
        "tools",
        "builtin_tools",
        "model",
    ]
    assert list(action.stored()) == ["name", "description", "type", "inputSchema"]
    assert list(code.stored()) == ["name", "description", "type", "inputSchema", "code"]
    assert main.stored() == {
        "name": "Main",
        "description": "",
        "system_prompt": "Route.",
        "model": {"region": "us-east-1", "model_id": "anthropic.claude-3"},
    }


def test_an_agent_patch_replaces_what_it_gives_and_keeps_what_it_does_not_know() -> None:
    patch = AgentPatch.model_validate({"description": "New", "builtinToolNames": ["calculator"]})

    patched = patch.apply(AgentConfig.model_validate(FOREIGN_AGENT)).stored()

    assert patched == {**FOREIGN_AGENT, "description": "New", "builtin_tools": ["calculator"]}


def test_an_agent_patch_of_the_model_replaces_the_whole_model_map() -> None:
    patch = AgentPatch.model_validate({"model": {"region": "us-west-2", "modelId": "n"}})

    patched = patch.apply(AgentConfig.model_validate(FOREIGN_AGENT))

    assert patched.stored()["model"] == {"region": "us-west-2", "model_id": "n"}


def test_a_tool_patch_writes_the_config_afresh_from_the_seeds_keys() -> None:
    """As the dict code did: a tool's config is rebuilt whole, so keys the seed does not have
    go, and a tool made a front-end action loses its code."""
    stored = {
        "name": "run",
        "description": "Runs",
        "type": "code",
        "inputSchema": SCHEMA,
        "code": "pass",
        "owner": "x",
    }

    patched = ToolPatch.model_validate({"type": ToolType.FRONTEND_ACTION}).apply(
        ToolConfig.model_validate(stored)
    )

    assert patched.stored() == {
        "name": "run",
        "description": "Runs",
        "type": "frontend_action",
        "inputSchema": SCHEMA,
    }


def test_a_record_writes_its_config_exactly_as_stored_whatever_its_own_dump_leaves_out() -> None:
    config = {**FOREIGN_AGENT, "notes": None}
    agent = Agent(
        user_id="u",
        agent_id="a",
        project_id="p",
        name="Legacy",
        config=AgentConfig.model_validate(config),
        created_at=STAMP,
        updated_at=STAMP,
    )

    assert agent.to_item()["config"] == config
    assert Agent.model_validate(agent.to_item()).config == agent.config
