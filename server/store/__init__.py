"""The only code that talks to DynamoDB. It never imports strawberry."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.catalog import load_catalog
from server.store import instrument
from server.store.agents import AgentStore
from server.store.builtin_tools import BuiltinToolStore
from server.store.child_tables import ProjectLists, settle
from server.store.client import ClientOptions, open_client
from server.store.deployments import DeploymentStore
from server.store.dynamo import Dynamo
from server.store.embedded import EmbeddedDynamoDB
from server.store.env_vars import EnvVarStore
from server.store.main_configs import MainConfigStore
from server.store.projects import ProjectKey, ProjectStore
from server.store.readiness import unready_tables
from server.store.streams import DeploymentStream, open_streams_client
from server.store.tables import TableNames, TableReport, create_tables
from server.store.tools import ToolStore
from server.store.transactions import LostRace
from server.store.usage import Usage

if TYPE_CHECKING:
    from server.otel import Tracing

__all__ = [
    "ClientOptions",
    "LostRace",
    "ProjectKey",
    "Store",
    "StoreOptions",
    "TableReport",
    "open_store",
    "settle",
]

logger = logging.getLogger(__name__)

# The embedded moto server accepts any credentials; these keep the AWS chain out of it.
EMBEDDED_CREDENTIAL = "embedded"


@dataclass(frozen=True)
class Store:
    client: Any
    dynamo: Dynamo
    tables: TableNames
    projects: ProjectStore
    agents: AgentStore
    tools: ToolStore
    main_configs: MainConfigStore
    env_vars: EnvVarStore
    deployments: DeploymentStore
    builtin_tools: BuiltinToolStore
    usage: Usage
    # The DynamoDB Streams client, for the change feed; None: a store without one.
    streams_client: Any = None

    @classmethod
    def on(cls, client: Any, tables: TableNames, *, streams_client: Any = None) -> Store:
        dynamo = Dynamo(client)
        lists = ProjectLists(tables.projects)
        usage = Usage(dynamo, tables.tools, projects_table=tables.projects)
        return cls(
            client=client,
            dynamo=dynamo,
            tables=tables,
            projects=ProjectStore(dynamo, tables.projects, usage=usage),
            agents=AgentStore(
                dynamo,
                tables.agents,
                tools_table=tables.tools,
                builtin_table=tables.builtin_tools,
                lists=lists,
                usage=usage,
            ),
            tools=ToolStore(
                dynamo, tables.tools, agents_table=tables.agents, lists=lists, usage=usage
            ),
            main_configs=MainConfigStore(dynamo, tables.main_config, lists=lists),
            env_vars=EnvVarStore(dynamo, tables.environment, lists=lists, usage=usage),
            deployments=DeploymentStore(dynamo, tables.deployments, lists=lists),
            builtin_tools=BuiltinToolStore(dynamo, tables.builtin_tools),
            usage=usage,
            streams_client=streams_client,
        )

    def deployment_stream(self) -> DeploymentStream:
        """The Deployments table's stream (the change feed reads it)."""
        if self.streams_client is None:
            raise RuntimeError("this store was opened without a DynamoDB Streams client")
        return DeploymentStream(self.client, self.streams_client, self.tables.deployments)

    async def create_tables(self) -> list[TableReport]:
        """Create the missing tables, turn on point-in-time recovery; say what was done."""
        return await create_tables(self.client, self.tables)

    async def unready_tables(self, *, within_seconds: float) -> dict[str, str]:
        """The tables that do not answer `DescribeTable` as active, by role, with a reason."""
        return await unready_tables(self.client, self.tables, within_seconds=within_seconds)

    async def seed_builtin_tools(self, path: Any = None) -> int:
        """Upsert the catalog file at `path` (the shipped one by default); return its size."""
        tools = [spec.to_record() for spec in load_catalog(path)]
        await self.builtin_tools.put_many(tools)
        return len(tools)

    async def seed_missing_builtin_tools(self) -> int:
        """Add the shipped catalog's tools the table lacks, leaving the others as they are
        (an admin may have changed them); return how many were added."""
        present = {tool.tool_name for tool in await self.builtin_tools.list_all()}
        missing = [
            tool for spec in load_catalog() if (tool := spec.to_record()).tool_name not in present
        ]
        await self.builtin_tools.put_many(missing)
        return len(missing)


@dataclass(frozen=True, kw_only=True)
class StoreOptions:
    """Which DynamoDB the store talks to, and how."""

    client: ClientOptions  # region, endpoint, timeouts and retries
    table_prefix: str
    # An embedded DynamoDB (a moto server) to use instead of `client.endpoint_url`: started
    # here unless it runs already, always stopped here; its tables are created and seeded.
    embedded: EmbeddedDynamoDB | None = None
    # A span per request, when tracing is on.
    tracing: Tracing | None = None


@asynccontextmanager
async def open_store(options: StoreOptions) -> AsyncIterator[Store]:
    """Open the store `options` describe; for the embedded one, also start and prepare it."""
    async with AsyncExitStack() as stack:
        client_options = options.client
        embedded = options.embedded
        if embedded is not None:
            stack.push_async_callback(asyncio.to_thread, embedded.stop)
            if not embedded.running:
                await asyncio.to_thread(embedded.start)
            endpoint = embedded.endpoint_url
            client_options = dataclasses.replace(
                client_options,
                endpoint_url=endpoint,
                access_key_id=EMBEDDED_CREDENTIAL,
                secret_access_key=EMBEDDED_CREDENTIAL,
            )
            kept = embedded.data_dir
            where = f"kept in {kept}" if kept else "in memory only (EMBEDDED_DATA_DIR is empty)"
            logger.info("embedded DynamoDB (moto) at %s, its data %s", endpoint, where)
        client = await stack.enter_async_context(open_client(client_options))
        instrument.install(client, options.tracing)
        streams = await stack.enter_async_context(open_streams_client(client_options))
        store = Store.on(
            client, TableNames.with_prefix(options.table_prefix), streams_client=streams
        )
        if embedded is not None:
            await store.create_tables()
            # Kept data holds the catalog as admins left it; a new shipped tool is added.
            await store.seed_missing_builtin_tools()
        yield store
