"""The Main Agent Configuration table: `userId` + `configId` = `project-{projectId}`."""

from __future__ import annotations

from server.errors import NotFound
from server.models import MainConfig
from server.store.child_tables import LIVE_PROJECT, ChildTable, ProjectLists, at_version
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, Update
from server.store.transactions import LostRace, TransactItem, update

__all__ = ["MainConfigStore"]


class MainConfigStore(ChildTable[MainConfig]):
    sort_key = "configId"
    model = MainConfig

    def __init__(self, dynamo: Dynamo, table: str, *, lists: ProjectLists) -> None:
        super().__init__(dynamo, table)
        self._lists = lists

    async def put_new(self, config: MainConfig) -> None:
        """Create the project's main config and point the project's `mainAgentConfig` at it."""
        await self._transact(
            config,
            # Created meanwhile by another request: the retry replaces it.
            self.insert(config.to_item(), otherwise=LostRace()),
        )

    async def replace(self, old: MainConfig, new: MainConfig) -> None:
        write = update(
            self.table,
            self.key(old.user_id, old.config_id),
            Update()
            .set(Attr("config"), new.config.stored())
            .set(Attr("updatedAt"), new.updated_at)
            .set(Attr("version"), new.version),
            condition=Attr("configId").exists() & at_version(old.version),
            otherwise=LostRace(),
        )
        await self._transact(new, write)

    async def _transact(self, config: MainConfig, write: TransactItem) -> None:
        """Write the config, and point the project at it, first: its error (the project gone)
        takes precedence."""
        reference = update(
            self._lists.table,
            self._lists.key(config.user_id, config.project_id),
            Update().set(Attr("mainAgentConfig"), config.config_id),
            condition=LIVE_PROJECT,
            otherwise=NotFound("project", config.project_id),
        )
        await self.dynamo.transact([reference, write])
