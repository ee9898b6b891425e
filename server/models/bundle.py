"""A project bundle: a project with its agents, tools, main config and env vars as portable JSON.

```
{"format": "multi-agent-api.project", "version": 1, "exportedAt": "...Z",
 "project": {"name", "description"},
 "mainConfig": {"name", "description", "system_prompt", "model": {"region", "model_id"}} | null,
 "agents": [{"name", "description", "type", "system_prompt", "tools", "builtin_tools", "model"}],
 "tools": [{"name", "description", "type", "inputSchema", "code"?}],
 "envVars": [{"key", "value", "secret"}]}
```

Config maps keep the seed's shapes (snake_case as stored); agents name their tools (ids are not
portable), and a secret's value is left out (`"secret": true, "value": null`). Deployments are
not part of a bundle. Reading one (`read_bundle`) checks its marker and version, then every
entry with the rules of the create mutations (the input models themselves), each error naming
its place in the bundle (`bundle.agents[2].name`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.errors import BadUserInput
from server.models.agent import Agent, NewAgent
from server.models.base import InputModel, parse_input
from server.models.env_var import EnvVar, EnvVarSpec
from server.models.main_config import MainConfig, MainConfigSpec
from server.models.project import NewProject, Project
from server.models.tool import NewTool, Tool

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "Bundle",
    "BundleContents",
    "read_bundle",
]

BUNDLE_FORMAT = "multi-agent-api.project"
# The newest version this server writes and reads; older ones it reads too (none yet).
BUNDLE_VERSION = 1
ROOT = "bundle"

InputT = TypeVar("InputT", bound=InputModel)


class _Entry(BaseModel):
    """A part of a bundle: its keys exactly (a typo is an error, not a value silently lost)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BundleModel(_Entry):
    region: str
    model_id: str


class BundleProject(_Entry):
    name: str
    description: str = ""


class BundleMainConfig(_Entry):
    name: str
    description: str = ""
    system_prompt: str
    model: BundleModel


class BundleAgent(_Entry):
    name: str
    description: str = ""
    type: str = "agent_tool"
    system_prompt: str
    tools: list[str] = Field(default_factory=list)
    builtin_tools: list[str] = Field(default_factory=list)
    model: BundleModel


class BundleTool(_Entry):
    name: str
    description: str = ""
    type: str
    input_schema: dict[str, Any] = Field(alias="inputSchema")
    code: str | None = None


class BundleVariable(_Entry):
    key: str
    value: str | None = None  # None for a secret: its value never leaves the server
    secret: bool = False


class Bundle(_Entry):
    format: str
    version: int
    exported_at: str | None = Field(default=None, alias="exportedAt")
    project: BundleProject
    main_config: BundleMainConfig | None = Field(default=None, alias="mainConfig")
    agents: list[BundleAgent] = Field(default_factory=list)
    tools: list[BundleTool] = Field(default_factory=list)
    env_vars: list[BundleVariable] = Field(default_factory=list, alias="envVars")

    @classmethod
    def of(
        cls,
        project: Project,
        main: MainConfig | None,
        agents: Sequence[Agent],
        tools: Sequence[Tool],
        variables: Sequence[EnvVar],
        *,
        exported_at: str,
    ) -> Bundle:
        """The bundle of `project` with these children: the seed's keys of each config map
        (keys other programs added are left out), secret values left out."""
        return cls(
            format=BUNDLE_FORMAT,
            version=BUNDLE_VERSION,
            exported_at=exported_at,
            project=BundleProject(name=project.name, description=project.description),
            main_config=_main_config(main) if main is not None else None,
            agents=[_agent(agent) for agent in agents],
            tools=[_tool(tool) for tool in tools],
            env_vars=[
                BundleVariable(
                    key=variable.key,
                    value=None if variable.secret else variable.value,
                    secret=variable.secret,
                )
                for variable in sorted(variables, key=lambda variable: variable.key)
            ],
        )

    def to_json(self) -> dict[str, Any]:
        """The bundle as JSON, every key written (a tool's `code` only where it has one)."""
        data = self.model_dump(by_alias=True)
        for tool in data["tools"]:
            if tool["code"] is None:
                del tool["code"]
        return data


def _model(settings: Any) -> BundleModel:
    return BundleModel(region=settings.region, model_id=settings.model_id)


def _main_config(main: MainConfig) -> BundleMainConfig:
    config = main.config
    return BundleMainConfig(
        name=config.name,
        description=config.description,
        system_prompt=config.system_prompt,
        model=_model(config.model),
    )


def _agent(agent: Agent) -> BundleAgent:
    config = agent.config
    return BundleAgent(
        name=agent.name,
        description=config.description,
        type=config.type.value,
        system_prompt=config.system_prompt,
        tools=list(config.tools),
        builtin_tools=list(config.builtin_tools),
        model=_model(config.model),
    )


def _tool(tool: Tool) -> BundleTool:
    config = tool.config
    return BundleTool(
        name=tool.name,
        description=config.description,
        type=config.type.value,
        input_schema=config.input_schema,
        code=config.code,
    )


@dataclass(frozen=True)
class BundleContents:
    """A bundle read and checked: each entry as the create mutation's validated input, in the
    bundle's order."""

    project: NewProject
    main_config: MainConfigSpec | None
    agents: list[NewAgent]
    tools: list[NewTool]
    env_vars: list[EnvVarSpec]

    def secret_keys(self) -> list[str]:
        return [variable.key for variable in self.env_vars if variable.secret]


def read_bundle(data: object, *, name: str | None = None) -> BundleContents:
    """`data` as a bundle, checked whole; `BadUserInput` naming the place of the first fault.

    A bundle of another format, or of a version newer than this server reads, is refused
    before anything else is looked at. `name`, when given, replaces the project's name (and
    is checked as the argument `name`).
    """
    header = _header(data)
    assert isinstance(data, Mapping)
    if header > BUNDLE_VERSION:
        raise BadUserInput(
            f"this bundle is version {header}, from a newer server; this one reads versions"
            f" up to {BUNDLE_VERSION}",
            field=f"{ROOT}.version",
        )
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise BadUserInput(
            first["msg"].removeprefix("Value error, "), field=_path(ROOT, first["loc"])
        ) from None
    contents = BundleContents(
        project=_checked(NewProject, bundle.project.model_dump(), f"{ROOT}.project", {}),
        main_config=_main_config_input(bundle.main_config),
        agents=[_agent_input(agent, index) for index, agent in enumerate(bundle.agents)],
        tools=[_tool_input(tool, index) for index, tool in enumerate(bundle.tools)],
        env_vars=[_variable_input(var, index) for index, var in enumerate(bundle.env_vars)],
    )
    _check_names(contents)
    if name is not None:
        renamed = parse_input(NewProject, {"name": name})
        contents = BundleContents(
            project=contents.project.model_copy(update={"name": renamed.name}),
            main_config=contents.main_config,
            agents=contents.agents,
            tools=contents.tools,
            env_vars=contents.env_vars,
        )
    return contents


def _header(data: object) -> int:
    """The bundle's version, once its marker says it is a bundle of this kind."""
    if not isinstance(data, Mapping):
        raise BadUserInput("must be a JSON object (a bundle exportProject made)", field=ROOT)
    if data.get("format") != BUNDLE_FORMAT:
        raise BadUserInput(
            f"must be {BUNDLE_FORMAT!r}: this is not a project bundle", field=f"{ROOT}.format"
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BadUserInput("must be a whole number from 1", field=f"{ROOT}.version")
    return version


# Input fields (GraphQL names, as the input models name them) to the bundle's keys.
_AGENT_KEYS = {
    "systemPrompt": "system_prompt",
    "toolNames": "tools",
    "builtinToolNames": "builtin_tools",
    "modelId": "model_id",
}
_MAIN_CONFIG_KEYS = {"systemPrompt": "system_prompt", "modelId": "model_id"}


def _model_input(model: BundleModel) -> dict[str, str]:
    return {"region": model.region, "modelId": model.model_id}


def _main_config_input(main: BundleMainConfig | None) -> MainConfigSpec | None:
    if main is None:
        return None
    data = {
        "name": main.name,
        "description": main.description,
        "systemPrompt": main.system_prompt,
        "model": _model_input(main.model),
    }
    return _checked(MainConfigSpec, data, f"{ROOT}.mainConfig", _MAIN_CONFIG_KEYS)


def _agent_input(agent: BundleAgent, index: int) -> NewAgent:
    data = {
        "name": agent.name,
        "description": agent.description,
        "type": agent.type,
        "systemPrompt": agent.system_prompt,
        "toolNames": agent.tools,
        "builtinToolNames": agent.builtin_tools,
        "model": _model_input(agent.model),
    }
    return _checked(NewAgent, data, f"{ROOT}.agents[{index}]", _AGENT_KEYS)


def _tool_input(tool: BundleTool, index: int) -> NewTool:
    data: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "type": tool.type,
        "inputSchema": tool.input_schema,
        "code": tool.code,
    }
    checked = _checked(NewTool, data, f"{ROOT}.tools[{index}]", {})
    try:
        checked.to_config()  # the rules that tie `code` to `type`
    except BadUserInput as error:
        raise _placed(error, f"{ROOT}.tools[{index}]", {}) from None
    return checked


def _variable_input(variable: BundleVariable, index: int) -> EnvVarSpec:
    # A secret comes without its value: it is created empty, and needs one.
    data = {"key": variable.key, "value": variable.value or "", "secret": variable.secret}
    return _checked(EnvVarSpec, data, f"{ROOT}.envVars[{index}]", {})


def _checked(
    model: type[InputT], data: dict[str, Any], place: str, keys: Mapping[str, str]
) -> InputT:
    """`data` validated by the create mutation's input `model`; its errors placed in the
    bundle."""
    try:
        return parse_input(model, data)
    except BadUserInput as error:
        raise _placed(error, place, keys) from None


def _placed(error: BadUserInput, place: str, keys: Mapping[str, str]) -> BadUserInput:
    """`error` of an input field, naming instead the bundle key at `place` that holds it."""
    field = error.field or ""
    message = error.message.removeprefix(f"{field}: ") if field else error.message
    parts = [keys.get(part, part) for part in field.split(".")] if field else []
    return BadUserInput(message, field=_path(place, parts))


def _path(place: str, parts: Sequence[object]) -> str:
    """`place` followed by the parts of a location: keys dotted, list indexes in brackets."""
    path = place
    for part in parts:
        is_index = isinstance(part, int) or (isinstance(part, str) and part.isdigit())
        path += f"[{part}]" if is_index else f".{part}"
    return path


def _check_names(contents: BundleContents) -> None:
    """What ties entries together: tool names and env var keys unique within the bundle, and
    every tool an agent names one of the bundle's."""
    _unique([tool.name for tool in contents.tools], "tools", "name")
    _unique([variable.key for variable in contents.env_vars], "envVars", "key")
    names = {tool.name for tool in contents.tools}
    for index, agent in enumerate(contents.agents):
        missing = [name for name in agent.tool_names if name not in names]
        if missing:
            raise BadUserInput(
                f"no tool named {', '.join(missing)} in this bundle's tools",
                field=f"{ROOT}.agents[{index}].tools",
            )


def _unique(values: list[str], entries: str, key: str) -> None:
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first:
            raise BadUserInput(
                f"{value!r} repeats {ROOT}.{entries}[{first[value]}].{key}",
                field=f"{ROOT}.{entries}[{index}].{key}",
            )
        first[value] = index
