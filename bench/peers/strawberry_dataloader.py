"""The strawberry peer of bench/peers.py: strawberry's documented DataLoader pattern.

Usage: python bench/peers/strawberry_dataloader.py [--port 8001]
       (DYNAMODB_ENDPOINT_URL, TABLE_PREFIX, AWS_REGION and the usual AWS credentials)

The part of the API's schema the benchmark's four documents use, over the same seven tables
and item shapes as the server, written as https://strawberry.rocks/docs/guides/dataloaders
shows: loaders made per request in the context getter, each `load_fn` returning one value per
key. The access pattern is the Node peer's (bench/peers/apollo/server.js):
- one loader per table, keyed by item id; its `load_fn` is BatchGetItem by key, chunks of 100
  in parallel, UnprocessedKeys retried;
- `projects` is a Query of the caller's partition of the Projects table (every page);
- a project's children are loaded by the ids its item lists (agentIds, toolIds, envIds,
  mainAgentConfig, the newest `limit` of deploymentIds); deployments are whole items;
- `Agent.tools` is the project's tools (by its toolIds) filtered to the agent's tool names;
  `Agent.builtinTools` are read by name from the BuiltinTools table through a loader.
DynamoDB is reached through aioboto3's resource layer (items as Python values), one resource
for the process; no look-ahead, no caches beyond the request's loaders. Auth is the server's
dev mode: the caller names itself in `X-Dev-User`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, NewType

import aioboto3
import strawberry
import uvicorn
from boto3.dynamodb.conditions import Key
from botocore.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader

__all__ = ["app", "schema"]

PREFIX = os.environ.get("TABLE_PREFIX", "multi-agent-")
BATCH_GET_LIMIT = 100  # keys per BatchGetItem request
UNPROCESSED_RETRIES = 8
DEFAULT_DEPLOYMENTS = 20
MAX_DEPLOYMENTS = 100
DEV_USER = re.compile(r"^[A-Za-z0-9@._+:-]{1,128}$")
# botocore's default pool holds 10 connections; a 200-project Dashboard sends ~40 BatchGetItem
# requests at once, so the pool is as large as the server's (and the Node SDK's 50 sockets).
MAX_POOL_CONNECTIONS = 64

Item = dict[str, Any]


class Tables:
    projects = f"{PREFIX}projects"
    agents = f"{PREFIX}agents"
    tools = f"{PREFIX}tools"
    main_config = f"{PREFIX}main-config"
    environment = f"{PREFIX}environment"
    deployments = f"{PREFIX}deployments"
    builtin_tools = f"{PREFIX}builtin-tools"


# -- DynamoDB --------------------------------------------------------------------------------

dynamodb: Any = None  # the process's aioboto3 DynamoDB resource, opened in the lifespan


async def batch_get(table: str, keys: list[Item]) -> list[Item]:
    """Every item found for `keys` of `table`, in no particular order."""
    chunks = [
        keys[start : start + BATCH_GET_LIMIT] for start in range(0, len(keys), BATCH_GET_LIMIT)
    ]
    pages = await asyncio.gather(*(batch_get_chunk(table, chunk) for chunk in chunks))
    return [item for page in pages for item in page]


async def batch_get_chunk(table: str, keys: list[Item]) -> list[Item]:
    items: list[Item] = []
    request: dict[str, Any] = {table: {"Keys": keys}}
    for attempt in range(UNPROCESSED_RETRIES):
        answer = await dynamodb.batch_get_item(RequestItems=request)
        items += answer["Responses"].get(table, [])
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return items
        await asyncio.sleep(random.random() * 0.025 * 2**attempt)
    raise RuntimeError(f"DynamoDB left keys of {table} unprocessed")


async def query_partition(table: str, user_id: str) -> list[Item]:
    """The caller's whole partition of `table`, page after page, in key order."""
    resource_table = await dynamodb.Table(table)
    items: list[Item] = []
    arguments: dict[str, Any] = {"KeyConditionExpression": Key("userId").eq(user_id)}
    while True:
        page = await resource_table.query(**arguments)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def by_id(table: str, sort_key: str, user_id: str) -> Callable[[list[str]], Awaitable[list[Any]]]:
    """A `load_fn`: the caller's items of `table` by sort key, None where there is none."""

    async def load(ids: list[str]) -> list[Item | None]:
        items = await batch_get(table, [{"userId": user_id, sort_key: id_} for id_ in ids])
        found = {item[sort_key]: item for item in items}
        return [found.get(id_) for id_ in ids]

    return load


async def load_builtin_tools(names: list[str]) -> list[Item | None]:
    items = await batch_get(Tables.builtin_tools, [{"toolName": name} for name in names])
    found = {item["toolName"]: item for item in items}
    return [found.get(name) for name in names]


@dataclass
class Loaders:
    projects: DataLoader[str, Item | None]
    agents: DataLoader[str, Item | None]
    tools: DataLoader[str, Item | None]
    main_configs: DataLoader[str, Item | None]
    env_vars: DataLoader[str, Item | None]
    deployments: DataLoader[str, Item | None]
    builtin_tools: DataLoader[str, Item | None]

    @classmethod
    def for_user(cls, user_id: str) -> Loaders:
        return cls(
            projects=DataLoader(load_fn=by_id(Tables.projects, "projectId", user_id)),
            agents=DataLoader(load_fn=by_id(Tables.agents, "agentId", user_id)),
            tools=DataLoader(load_fn=by_id(Tables.tools, "toolId", user_id)),
            main_configs=DataLoader(load_fn=by_id(Tables.main_config, "configId", user_id)),
            env_vars=DataLoader(load_fn=by_id(Tables.environment, "envId", user_id)),
            deployments=DataLoader(load_fn=by_id(Tables.deployments, "deploymentId", user_id)),
            builtin_tools=DataLoader(load_fn=load_builtin_tools),
        )


async def load_all(loader: DataLoader[str, Item | None], ids: list[str] | None) -> list[Item]:
    return [item for item in await loader.load_many(ids or []) if item is not None]


# -- the schema ------------------------------------------------------------------------------

DateTime = strawberry.scalar(NewType("DateTime", str), serialize=str, parse_value=str)


@strawberry.enum
class DeploymentStatus(Enum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    SUCCESS = "success"
    FAILED = "failed"


@strawberry.enum
class ToolType(Enum):
    FRONTEND_ACTION = "frontend_action"
    CODE = "code"


@strawberry.type
class Viewer:
    user_id: strawberry.ID


@strawberry.type
class ModelConfig:
    region: str
    model_id: str

    @classmethod
    def of(cls, config: Item) -> ModelConfig:
        model = config.get("model") or {}
        return cls(region=model.get("region", ""), model_id=model.get("model_id", ""))


@strawberry.type
class BuiltinTool:
    name: strawberry.ID
    category: str


@strawberry.type
class Tool:
    id: strawberry.ID
    name: str
    type: ToolType

    @classmethod
    def of(cls, item: Item) -> Tool:
        return cls(
            id=item["toolId"], name=item["name"], type=ToolType(item["config"].get("type", "code"))
        )


@strawberry.type
class Agent:
    id: strawberry.ID
    name: str
    model: ModelConfig
    item: strawberry.Private[Item]

    @classmethod
    def of(cls, item: Item) -> Agent:
        return cls(
            id=item["agentId"], name=item["name"], model=ModelConfig.of(item["config"]), item=item
        )

    @strawberry.field
    async def tools(self, info: strawberry.Info) -> list[Tool]:
        loaders: Loaders = info.context["loaders"]
        project = await loaders.projects.load(self.item["projectId"])
        if project is None:
            return []
        by_name = {t["name"]: t for t in await load_all(loaders.tools, project.get("toolIds"))}
        names = self.item["config"].get("tools") or []
        return [Tool.of(by_name[name]) for name in names if name in by_name]

    @strawberry.field
    async def builtin_tools(self, info: strawberry.Info) -> list[BuiltinTool]:
        loaders: Loaders = info.context["loaders"]
        names = self.item["config"].get("builtin_tools")
        return [
            BuiltinTool(name=tool["toolName"], category=tool["category"])
            for tool in await load_all(loaders.builtin_tools, names)
        ]


@strawberry.type
class MainAgentConfig:
    name: str
    model: ModelConfig


@strawberry.type
class EnvVar:
    key: str
    value: str | None
    secret: bool


@strawberry.type
class Deployment:
    id: strawberry.ID
    status: DeploymentStatus
    created_at: DateTime
    item: strawberry.Private[Item]

    @classmethod
    def of(cls, item: Item) -> Deployment:
        return cls(
            id=item["deploymentId"],
            status=DeploymentStatus(item["status"]),
            created_at=item["createdAt"],
            item=item,
        )

    @strawberry.field
    async def project(self, info: strawberry.Info) -> Project | None:
        loaders: Loaders = info.context["loaders"]
        item = await loaders.projects.load(self.item["projectId"])
        return Project.of(item) if item is not None else None


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    description: str
    updated_at: DateTime
    item: strawberry.Private[Item]

    @classmethod
    def of(cls, item: Item) -> Project:
        return cls(
            id=item["projectId"],
            name=item["name"],
            description=item.get("description", ""),
            updated_at=item["updatedAt"],
            item=item,
        )

    @strawberry.field
    async def agents(self, info: strawberry.Info) -> list[Agent]:
        loaders: Loaders = info.context["loaders"]
        return [Agent.of(a) for a in await load_all(loaders.agents, self.item.get("agentIds"))]

    @strawberry.field
    async def tools(self, info: strawberry.Info) -> list[Tool]:
        loaders: Loaders = info.context["loaders"]
        return [Tool.of(t) for t in await load_all(loaders.tools, self.item.get("toolIds"))]

    @strawberry.field
    async def main_config(self, info: strawberry.Info) -> MainAgentConfig | None:
        loaders: Loaders = info.context["loaders"]
        config_id = self.item.get("mainAgentConfig") or f"project-{self.item['projectId']}"
        main = await loaders.main_configs.load(config_id)
        if main is None:
            return None
        config = main["config"]
        return MainAgentConfig(name=config.get("name", ""), model=ModelConfig.of(config))

    @strawberry.field
    async def env_vars(self, info: strawberry.Info) -> list[EnvVar]:
        loaders: Loaders = info.context["loaders"]
        variables = await load_all(loaders.env_vars, self.item.get("envIds"))
        return [
            EnvVar(
                key=v["key"],
                value=None if v.get("secret") else v["value"],
                secret=bool(v.get("secret")),
            )
            for v in sorted(variables, key=lambda v: v["key"])
        ]

    @strawberry.field
    async def deployments(
        self, info: strawberry.Info, limit: int | None = None
    ) -> list[Deployment]:
        loaders: Loaders = info.context["loaders"]
        count = max(0, min(DEFAULT_DEPLOYMENTS if limit is None else limit, MAX_DEPLOYMENTS))
        ids = (self.item.get("deploymentIds") or [])[-count:][::-1] if count else []
        return [Deployment.of(d) for d in await load_all(loaders.deployments, ids)]

    @strawberry.field
    async def latest_deployment(self, info: strawberry.Info) -> Deployment | None:
        loaders: Loaders = info.context["loaders"]
        ids = self.item.get("deploymentIds") or []
        newest = await loaders.deployments.load(ids[-1]) if ids else None
        return Deployment.of(newest) if newest is not None else None


@strawberry.type
class Query:
    @strawberry.field
    def viewer(self, info: strawberry.Info) -> Viewer:
        return Viewer(user_id=info.context["user_id"])

    @strawberry.field
    async def projects(self, info: strawberry.Info) -> list[Project]:
        loaders: Loaders = info.context["loaders"]
        items = await query_partition(Tables.projects, info.context["user_id"])
        for item in items:
            loaders.projects.prime(item["projectId"], item)
        return [Project.of(item) for item in items]

    @strawberry.field
    async def project(self, info: strawberry.Info, id: strawberry.ID) -> Project | None:
        item = await info.context["loaders"].projects.load(id)
        return Project.of(item) if item is not None else None

    @strawberry.field
    async def agent(self, info: strawberry.Info, id: strawberry.ID) -> Agent | None:
        item = await info.context["loaders"].agents.load(id)
        return Agent.of(item) if item is not None else None

    @strawberry.field
    async def deployment(self, info: strawberry.Info, id: strawberry.ID) -> Deployment | None:
        item = await info.context["loaders"].deployments.load(id)
        return Deployment.of(item) if item is not None else None


schema = strawberry.Schema(query=Query)


# -- the app ---------------------------------------------------------------------------------


class MyGraphQL(GraphQL[dict[str, Any], None]):
    """The docs' pattern: the loaders are made per request, in the context getter."""

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        assert isinstance(request, Request)
        user_id = request.headers.get("x-dev-user", "dev-user").strip()
        if not DEV_USER.fullmatch(user_id):
            raise PermissionError("X-Dev-User must be 1 to 128 of A-Z a-z 0-9 @ . _ + : -")
        return {"request": request, "response": response, "user_id": user_id,
                "loaders": Loaders.for_user(user_id)}  # fmt: skip


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global dynamodb
    session = aioboto3.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
    config = Config(max_pool_connections=MAX_POOL_CONNECTIONS)
    async with session.resource(
        "dynamodb", endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None, config=config
    ) as resource:
        dynamodb = resource
        yield


async def healthz(_: Request) -> Response:
    return Response("ok")


app = Starlette(lifespan=lifespan)
app.add_route("/graphql", MyGraphQL(schema))
app.add_route("/healthz", healthz)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
